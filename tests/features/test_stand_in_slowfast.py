"""The suite's SlowFast stand-in (``tests/stand_in_slowfast.py``) keeps the contract the extraction tests rely on:
the real forward's inputs and output shape, and features that change with the frames and with the weights."""

from __future__ import annotations

import pytest
import torch

from emomv_hf.features.configuration_slowfast import SlowFastConfig
from emomv_hf.features.modeling_slowfast import SlowFastModel

pytest.importorskip("pytorchvideo")


def _model(seed: int) -> SlowFastModel:
    torch.manual_seed(seed)
    return SlowFastModel(SlowFastConfig()).eval()


def _clips(batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    fast = torch.randn(batch, 3, 32, 64, 64, generator=torch.Generator().manual_seed(seed))
    return fast[:, :, ::4], fast


def test_the_stand_in_has_the_real_output_and_depends_on_frames_and_weights():
    model, slow, fast = _model(0), *_clips(2, 0)
    with torch.no_grad():
        features = model(pixel_values_slow=slow, pixel_values_fast=fast).pooler_output
        other_weights = _model(1)(pixel_values_slow=slow, pixel_values_fast=fast).pooler_output
        other_slow = model(pixel_values_slow=_clips(2, 1)[0], pixel_values_fast=fast).pooler_output
    assert features.shape == (2, 2304) and features.dtype == torch.float32
    assert not torch.equal(features[0], features[1])  # two clips of one batch
    assert not torch.equal(features, other_weights)
    # Each pathway's part follows its own frames: the slow part (first 2,048) changes, the fast part does not.
    assert not torch.equal(features[:, :2048], other_slow[:, :2048])
    assert torch.equal(features[:, 2048:], other_slow[:, 2048:])


def test_the_stand_in_refuses_frame_counts_the_processor_never_gives():
    model, slow, fast = _model(0), *_clips(1, 0)
    with pytest.raises(ValueError, match="slow"):
        model(pixel_values_slow=slow, pixel_values_fast=fast[:, :, :16])
