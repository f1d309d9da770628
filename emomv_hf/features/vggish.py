"""VGGish music features (128-d), as in the EmoMV release: the segment-level extractor over
[`VGGishFeatureExtractor`] (log-mel front end) and [`VGGishModel`] (network).

The architecture and the log-mel front end follow Google's VGGish (``vggish_input.py`` / ``mel_features.py``)
and the common PyTorch port (``harritaylor/torchvggish``, weights ``vggish-10086976.pth``), so that a state
dict of that port loads as is. The release's features are the 128-d embeddings *after the final ReLU*,
averaged over the 0.96 s examples of a segment, *without* the PCA + 8-bit quantisation post-processing
(they are non-negative with many exact zeros, which PCA + quantisation would not give); that is the default
here.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch

from .configuration_vggish import VGGishConfig
from .convert import load_extractor, vggish_from_port
from .feature_extraction_vggish import (
    EXAMPLE_HOP_SECONDS,
    EXAMPLE_WINDOW_SECONDS,
    LOG_OFFSET,
    MEL_MAX_HZ,
    MEL_MIN_HZ,
    MIN_AUDIO_SECONDS,
    NUM_FRAMES_PER_EXAMPLE,
    NUM_MEL_BINS,
    STFT_HOP_SECONDS,
    STFT_WINDOW_SECONDS,
    VGGishFeatureExtractor,
    hertz_to_mel,
    log_mel_spectrogram,
    mel_filterbank,
    waveform_to_examples,
)
from .media import VGGISH_SAMPLE_RATE
from .modeling_vggish import VGGishModel

logger = logging.getLogger(__name__)

VGGISH_EMBEDDING_DIM = 128

VGGISH_CHECKPOINT = "vggish-10086976.pth, a state dict of the PyTorch VGGish port harritaylor/torchvggish"


class MissingWeightsError(FileNotFoundError):
    """No pretrained weights were given and random initialisation was not asked for explicitly.

    ``model`` (``"SlowFast"``, ``"VGGish"``) and ``checkpoint`` (what to pass, with where it comes from) let a
    command line say which of its own flags to use (:meth:`for_command_line`).
    """

    def __init__(self, message: str, *, model: str = "", checkpoint: str = ""):
        super().__init__(message)
        self.model = model
        self.checkpoint = checkpoint

    def for_command_line(self, weights_flag: str, random_flag: str = "--random-init") -> MissingWeightsError:
        """The same error worded with command-line flags instead of Python parameters."""
        return MissingWeightsError(
            f"{self.model} needs pretrained weights: pass --extractor DIR (converted checkpoints: "
            f"dataset_scripts/convert_weights.py) or {weights_flag} PATH ({self.checkpoint}), or "
            f"{random_flag} to test with random weights (the features then mean nothing)",
            model=self.model,
            checkpoint=self.checkpoint,
        )


class VGGishExtractor:
    """Segment-level VGGish features: mean over the 0.96 s examples of the 128-d post-ReLU embeddings.

    Args:
        weights: a converted checkpoint folder (``dataset_scripts/convert_weights.py``) or a state dict of the
            PyTorch VGGish port (``vggish-10086976.pth``).
        random_init: use random weights (tests only); required explicitly when ``weights`` is ``None``.
        pca_params: optional ``vggish_pca_params-*.pth`` (keys ``pca_eigen_vectors``, ``pca_means``) to
            also offer the PCA-whitened, 8-bit quantised variant via :meth:`postprocess`. Not used by
            :meth:`__call__`, because the EmoMV release is the un-post-processed variant.
        device: torch device.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        *,
        random_init: bool = False,
        pca_params: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.processor = VGGishFeatureExtractor()
        if weights is not None:
            if pca_params is not None:
                self.model = vggish_from_port(weights, pca_params)
            else:
                self.model = load_extractor("vggish", weights)
            if os.path.isdir(weights):
                self.processor = VGGishFeatureExtractor.from_pretrained(weights)
        elif random_init:
            logger.warning("VGGish uses RANDOM weights (random_init=True): features are not meaningful")
            self.model = VGGishModel(VGGishConfig())
        else:
            raise MissingWeightsError(
                f"VGGish needs pretrained weights: pass weights=PATH ({VGGISH_CHECKPOINT}) or random_init=True "
                "for tests",
                model="VGGish",
                checkpoint=VGGISH_CHECKPOINT,
            )
        self.model.to(self.device).eval()

    @torch.no_grad()
    def embed(
        self, waveform: np.ndarray | torch.Tensor, sampling_rate: int = VGGISH_SAMPLE_RATE
    ) -> torch.Tensor:
        """Per-example embeddings of a waveform, shape ``(N, 128)``, float32, non-negative."""
        inputs = self.processor(waveform, sampling_rate=sampling_rate, return_tensors="pt")
        output = self.model(inputs["input_features"].to(self.device))
        return output.last_hidden_state[0].float().cpu()

    @torch.no_grad()
    def __call__(
        self, waveform: np.ndarray | torch.Tensor, sampling_rate: int = VGGISH_SAMPLE_RATE
    ) -> np.ndarray:
        """Segment feature: mean of :meth:`embed` over the examples, shape ``(128,)``, float32."""
        inputs = self.processor(waveform, sampling_rate=sampling_rate, return_tensors="pt")
        output = self.model(inputs["input_features"].to(self.device))
        return output.pooler_output[0].float().cpu().numpy()

    def postprocess(self, embeddings: torch.Tensor) -> torch.Tensor:
        """PCA-whiten, clip to [-2, 2] and quantise to 0..255 like the TF release, ``(N, 128) -> (N, 128)``."""
        if not self.model.config.has_pca:
            raise ValueError("postprocess needs pca_params")
        return self.model.postprocess(embeddings.to(self.device)).cpu()


__all__ = [
    "EXAMPLE_HOP_SECONDS",
    "EXAMPLE_WINDOW_SECONDS",
    "LOG_OFFSET",
    "MEL_MAX_HZ",
    "MEL_MIN_HZ",
    "MIN_AUDIO_SECONDS",
    "NUM_FRAMES_PER_EXAMPLE",
    "NUM_MEL_BINS",
    "STFT_HOP_SECONDS",
    "STFT_WINDOW_SECONDS",
    "VGGISH_EMBEDDING_DIM",
    "MissingWeightsError",
    "VGGishExtractor",
    "hertz_to_mel",
    "log_mel_spectrogram",
    "mel_filterbank",
    "waveform_to_examples",
]
