"""SlowFast R50 video features (2304-d), as in the EmoMV release: the segment-level extractor over
[`SlowFastVideoProcessor`] (clip preprocessing) and [`SlowFastModel`] (pytorchvideo's ``slowfast_r50`` with
the head's final projection removed: the pooled slow (2048) and fast (256) pathway features, concatenated).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch

from .configuration_slowfast import SlowFastConfig
from .convert import load_extractor
from .modeling_slowfast import SlowFastModel
from .vggish import MissingWeightsError
from .video_processing_slowfast import SlowFastVideoProcessor

SLOWFAST_CHECKPOINT = "SLOWFAST_8x8_R50.pyth from the pytorchvideo model zoo, or a slowfast_r50 state dict"

logger = logging.getLogger(__name__)

SLOWFAST_FEATURE_DIM = 2304
NUM_FRAMES = SlowFastVideoProcessor.num_frames  # fast pathway: 32 frames
SLOWFAST_ALPHA = SlowFastVideoProcessor.slowfast_alpha  # slow pathway: NUM_FRAMES // 4 = 8 frames


def preprocess_clip(frames: np.ndarray | torch.Tensor) -> list[torch.Tensor]:
    """SlowFast inputs of one clip: ``[slow (1, 3, 8, 256, 256), fast (1, 3, 32, 256, 256)]`` float32.

    ``frames``: ``uint8`` ``(T, H, W, 3)``, normally the 32 frames of :func:`.media.read_video_frames`; see
    :class:`SlowFastVideoProcessor` for the transforms.
    """
    video = np.asarray(frames)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (T, H, W, 3), got {tuple(video.shape)}")
    inputs = SlowFastVideoProcessor()(video, return_tensors="pt", input_data_format="channels_last")
    return [inputs["pixel_values_slow"], inputs["pixel_values_fast"]]


class SlowFastExtractor:
    """Segment-level SlowFast features.

    Args:
        weights: a converted checkpoint folder (``dataset_scripts/convert_weights.py``), the Kinetics checkpoint
            ``SLOWFAST_8x8_R50.pyth`` of pytorchvideo's model zoo (a dict with ``"model_state"``) or a plain
            state dict of ``slowfast_r50``. The classifier (``blocks.6.proj.*``) is dropped.
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
        self.processor = SlowFastVideoProcessor()
        if weights is not None:
            self.model = load_extractor("slowfast", weights)
            if os.path.isdir(weights):
                self.processor = SlowFastVideoProcessor.from_pretrained(weights)
        else:
            logger.warning("SlowFast uses RANDOM weights (random_init=True): features are not meaningful")
            self.model = SlowFastModel(SlowFastConfig())
        self.model.to(self.device).eval()

    @torch.no_grad()
    def embed(self, clips: list[torch.Tensor]) -> torch.Tensor:
        """Features of preprocessed clips ``[slow (B, 3, 8, 256, 256), fast (B, 3, 32, 256, 256)]`` -> ``(B, 2304)``."""
        slow, fast = (clip.to(self.device) for clip in clips)
        return self.model(pixel_values_slow=slow, pixel_values_fast=fast).pooler_output.float().cpu()

    def __call__(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Feature of one segment from its 32 sampled frames ``(32, H, W, 3)`` uint8 -> ``(2304,)`` float32."""
        inputs = self.processor(np.asarray(frames), return_tensors="pt", input_data_format="channels_last")
        return self.embed([inputs["pixel_values_slow"], inputs["pixel_values_fast"]])[0].numpy()
