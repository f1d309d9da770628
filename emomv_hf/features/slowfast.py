"""SlowFast R50 video features (2304-d), as in the EmoMV release.

pytorchvideo's ``slowfast_r50`` (Kinetics-400, ``SLOWFAST_8x8_R50.pyth``) with the head's final projection
replaced by ``Identity``: the output is the pooled slow (2048) and fast (256) pathway features, concatenated.
pytorchvideo's ``transforms`` module does not import on current torchvision, so the clip preprocessing of its
SlowFast tutorial is reimplemented here in plain torch.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .vggish import MissingWeightsError, _read_state_dict

SLOWFAST_CHECKPOINT = "SLOWFAST_8x8_R50.pyth from the pytorchvideo model zoo, or a slowfast_r50 state dict"

logger = logging.getLogger(__name__)

SLOWFAST_FEATURE_DIM = 2304
NUM_FRAMES = 32  # fast pathway
SLOWFAST_ALPHA = 4  # slow pathway: NUM_FRAMES // 4 = 8 frames
SIDE_SIZE = 256
CROP_SIZE = 256
MEAN = (0.45, 0.45, 0.45)
STD = (0.225, 0.225, 0.225)


def preprocess_clip(frames: np.ndarray | torch.Tensor) -> list[torch.Tensor]:
    """Turn decoded frames into SlowFast inputs.

    Args:
        frames: ``uint8`` frames ``(T, H, W, 3)``, already sampled to :data:`NUM_FRAMES` (see
            :func:`.media.read_video_frames` with ``num_frames=32``).

    Returns:
        ``[slow, fast]`` float32 tensors ``(1, 3, 8, 256, 256)`` and ``(1, 3, 32, 256, 256)``: short side resized
        to 256 (bilinear, as pytorchvideo's ``ShortSideScale``), center crop 256, ``/255``, normalised with
        mean 0.45 / std 0.225. The slow pathway takes ``T // 4`` frames at ``linspace(0, T - 1)`` indices,
        exactly like the ``PackPathway`` transform of pytorchvideo's SlowFast tutorial (every 4th frame,
        anchored at the first and last).
    """
    video = torch.as_tensor(np.asarray(frames))
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (T, H, W, 3), got {tuple(video.shape)}")
    video = video.permute(0, 3, 1, 2).float()  # (T, 3, H, W): interpolate treats T as batch
    height, width = video.shape[-2:]
    if height < width:
        size = (SIDE_SIZE, int(width * SIDE_SIZE / height))
    else:
        size = (int(height * SIDE_SIZE / width), SIDE_SIZE)
    video = F.interpolate(video, size=size, mode="bilinear", align_corners=False)
    top = (video.shape[-2] - CROP_SIZE) // 2
    left = (video.shape[-1] - CROP_SIZE) // 2
    video = video[..., top : top + CROP_SIZE, left : left + CROP_SIZE]
    video = video / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    fast = ((video - mean) / std).permute(1, 0, 2, 3).unsqueeze(0).contiguous()  # (1, 3, T, H, W)
    slow_index = torch.linspace(0, fast.shape[2] - 1, fast.shape[2] // SLOWFAST_ALPHA).long()
    slow = fast.index_select(2, slow_index)
    return [slow, fast]


def build_slowfast_backbone() -> nn.Module:
    """``slowfast_r50`` with random weights and ``blocks[-1].proj = Identity``: ``[slow, fast] -> (B, 2304)``."""
    try:
        from pytorchvideo.models.hub import slowfast_r50
    except ImportError as error:
        raise ImportError("SlowFast features need pytorchvideo: pip install 'emomv-hf[extract]'") from error
    model = slowfast_r50(pretrained=False)
    model.blocks[-1].proj = nn.Identity()
    return model


class SlowFastExtractor:
    """Segment-level SlowFast features.

    Args:
        weights: path to the Kinetics checkpoint ``SLOWFAST_8x8_R50.pyth`` of pytorchvideo's model zoo
            (a dict with ``"model_state"``) or a plain state dict of ``slowfast_r50``. The classifier
            (``blocks.6.proj.*``) is dropped.
        random_init: use random weights (tests only); required explicitly when ``weights`` is ``None``.
        device: torch device.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        *,
        random_init: bool = False,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        if weights is None and not random_init:
            # Checked before building the model: building it takes seconds.
            raise MissingWeightsError(
                f"SlowFast needs pretrained weights: pass weights=PATH ({SLOWFAST_CHECKPOINT}) or "
                "random_init=True for tests",
                model="SlowFast",
                checkpoint=SLOWFAST_CHECKPOINT,
            )
        self.model = build_slowfast_backbone()
        if weights is not None:
            state = _read_state_dict(weights)
            head = self._head_prefix()
            state = {k: v for k, v in state.items() if not k.startswith(head)}
            try:
                self.model.load_state_dict(state)
            except RuntimeError as error:
                raise ValueError(f"{weights}: not a slowfast_r50 state dict: {error}") from None
        else:
            logger.warning("SlowFast uses RANDOM weights (random_init=True): features are not meaningful")
        self.model.to(self.device).eval()

    def _head_prefix(self) -> str:
        return f"blocks.{len(self.model.blocks) - 1}.proj."

    @torch.no_grad()
    def embed(self, clips: list[torch.Tensor]) -> torch.Tensor:
        """Features of preprocessed clips ``[slow (B, 3, 8, 256, 256), fast (B, 3, 32, 256, 256)]`` -> ``(B, 2304)``."""
        return self.model([clip.to(self.device) for clip in clips]).float().cpu()

    def __call__(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Feature of one segment from its 32 sampled frames ``(32, H, W, 3)`` uint8 -> ``(2304,)`` float32."""
        return self.embed(preprocess_clip(frames))[0].numpy().astype(np.float32)
