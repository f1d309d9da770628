"""SlowFast R50 clip preprocessing as a transformers video processor (saved as ``video_preprocessor_config.json``).

The transforms of pytorchvideo's SlowFast tutorial, in plain torch (pytorchvideo's ``transforms`` module does not
import on current torchvision): ``UniformTemporalSubsample(32)``, ``/ 255``, ``Normalize(0.45, 0.225)``,
``ShortSideScale(256)`` (bilinear, no antialiasing), ``CenterCrop(256)`` and ``PackPathway`` (the slow pathway
takes every ``alpha``-th frame, anchored at the first and the last).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import PILImageResampling
from transformers.processing_utils import VideosKwargs
from transformers.video_processing_utils import BaseVideoProcessor
from transformers.video_utils import VideoMetadata


class SlowFastVideoProcessorKwargs(VideosKwargs, total=False):
    """[`SlowFastVideoProcessor`]'s own keyword argument besides the common video ones.

    Attributes:
        slowfast_alpha (`int`): the fast pathway sees this many times more frames than the slow one.
    """

    slowfast_alpha: int


class SlowFastVideoProcessor(BaseVideoProcessor):
    r"""
    Frames ``(T, H, W, 3)`` uint8 (or ``(T, 3, H, W)``) to the two SlowFast pathways by the transforms of the module
    docstring: ``pixel_values_slow`` ``(B, 3, 8, 256, 256)`` and ``pixel_values_fast`` ``(B, 3, 32, 256, 256)``.
    """

    valid_kwargs = SlowFastVideoProcessorKwargs
    model_input_names = ["pixel_values_slow", "pixel_values_fast"]
    size = {"shortest_edge": 256}
    resample = PILImageResampling.BILINEAR  # torch's bilinear interpolation, without antialiasing
    default_to_square = False
    crop_size = {"height": 256, "width": 256}
    do_resize = True
    do_center_crop = True
    do_rescale = True
    rescale_factor = 1 / 255
    do_normalize = True
    image_mean = [0.45, 0.45, 0.45]
    image_std = [0.225, 0.225, 0.225]
    do_convert_rgb = False
    do_sample_frames = True
    num_frames = 32
    slowfast_alpha = 4

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # A processor config may be someone else's: slowfast_r50's head pools exactly these frame counts (other
        # values failed inside the model's forward; alpha 0 divided by zero).
        fixed = {"num_frames": type(self).num_frames, "slowfast_alpha": type(self).slowfast_alpha}
        values = {name: getattr(self, name) for name in fixed}
        if values != fixed or not all(type(value) is int for value in values.values()):  # 32.0 == 32
            raise ValueError(
                f"SlowFastModel (slowfast_r50, 8x8) takes num_frames {fixed['num_frames']} with slowfast_alpha "
                f"{fixed['slowfast_alpha']}, got {self.num_frames!r} and {self.slowfast_alpha!r}"
            )

    def sample_frames(self, metadata: VideoMetadata, num_frames: int, **kwargs) -> np.ndarray:
        """Indices ``linspace(0, T - 1, num_frames)`` truncated to integers (``UniformTemporalSubsample``);
        ``preprocess`` passes every valid kwarg, filled from the instance's defaults."""
        total = metadata.total_num_frames
        return torch.linspace(0, total - 1, num_frames).clamp(0, total - 1).long().numpy()

    def _preprocess(
        self,
        videos: list[torch.Tensor],
        do_resize: bool,
        size,
        do_center_crop: bool,
        crop_size,
        do_rescale: bool,
        rescale_factor: float,
        do_normalize: bool,
        image_mean,
        image_std,
        slowfast_alpha: int,
        return_tensors: str | None = None,
        **kwargs,
    ) -> BatchFeature:
        """``videos``: ``(T, 3, H, W)`` each, already sampled. The order of operations and the float32 maths are
        those of the EmoMV extraction before it became a processor, so the numbers are unchanged."""
        slow_videos, fast_videos = [], []
        for video in videos:
            video = video.float()  # (T, 3, H, W): interpolate treats T as the batch
            if do_resize:
                height, width = video.shape[-2:]
                side = size.shortest_edge
                if height < width:
                    new_size = (side, int(width * side / height))
                else:
                    new_size = (int(height * side / width), side)
                video = F.interpolate(video, size=new_size, mode="bilinear", align_corners=False)
            if do_center_crop:
                # round(), not floor: torchvision's CenterCropVideo, which the tutorial uses (455 wide: column 100).
                top = round((video.shape[-2] - crop_size.height) / 2)
                left = round((video.shape[-1] - crop_size.width) / 2)
                video = video[..., top : top + crop_size.height, left : left + crop_size.width]
            if do_rescale:
                video = video / (1.0 / rescale_factor)  # 1 / (1 / 255) is exactly 255.0: the old ``/ 255``
            if do_normalize:
                mean = torch.tensor(image_mean).view(1, 3, 1, 1)
                std = torch.tensor(image_std).view(1, 3, 1, 1)
                video = (video - mean) / std
            fast = video.permute(1, 0, 2, 3).contiguous()  # (3, T, H, W)
            slow_index = torch.linspace(0, fast.shape[1] - 1, fast.shape[1] // slowfast_alpha).long()
            slow_videos.append(fast.index_select(1, slow_index))
            fast_videos.append(fast)
        data = {"pixel_values_slow": torch.stack(slow_videos), "pixel_values_fast": torch.stack(fast_videos)}
        return BatchFeature(data=data, tensor_type=return_tensors)
