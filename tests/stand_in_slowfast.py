"""A stand-in for SlowFast R50's forward, for the tests about what surrounds the network.

The real forward takes 3-4 s per segment on one CPU thread; most extraction tests are about the files, shards,
rows and caches around it. The stand-in keeps the contract those tests rely on: the same inputs (32 fast and 8
slow frames of one size, checked), a ``(B, 2304)`` output whose slow (first 2,048) and fast (last 256) parts
depend on the frames' content and on the model's weights (the two stems of the model's own weights on 32x32
frames, averaged, each tiled to its pathway's width: 64 x 32 and 8 x 32).

``tests/conftest.py`` puts it in place for every test in its process; tests of the network itself ask for its
``real_slowfast`` fixture. As a script it runs another script with the stand-in in place, for extraction in
processes that a test compares with its own (torchrun)::

    python tests/stand_in_slowfast.py dataset_scripts/extract_features.py ARGS...
"""

from __future__ import annotations

import runpy
import sys

import torch
from torch.nn.functional import adaptive_avg_pool3d

from emomv_hf.features.modeling_slowfast import SlowFastModel, SlowFastModelOutput


def stand_in_forward(
    self: SlowFastModel, pixel_values_slow: torch.Tensor, pixel_values_fast: torch.Tensor, **kwargs
) -> SlowFastModelOutput:
    batch, _, frames, height, width = pixel_values_fast.shape
    if pixel_values_slow.shape != (batch, 3, frames // 4, height, width) or frames != 32:
        raise ValueError(f"slow {tuple(pixel_values_slow.shape)} and fast {tuple(pixel_values_fast.shape)}")
    stems = self.blocks[0].multipathway_blocks
    pooled = [
        stem(adaptive_avg_pool3d(clip, (clip.shape[2], 32, 32))).mean(dim=(2, 3, 4))
        for stem, clip in zip(stems, (pixel_values_slow, pixel_values_fast), strict=True)
    ]
    return SlowFastModelOutput(pooler_output=torch.cat([pathway.repeat(1, 32) for pathway in pooled], dim=1))


if __name__ == "__main__":
    SlowFastModel.forward = stand_in_forward
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
