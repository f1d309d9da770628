"""VGGish music features (128-d), as in the EmoMV release.

The architecture and the log-mel front end follow Google's VGGish (``vggish_input.py`` / ``mel_features.py``)
and the common PyTorch port (``harritaylor/torchvggish``, weights ``vggish-10086976.pth``), so that a state
dict of that port loads as is. The release's features are the 128-d embeddings *after the final ReLU*,
averaged over the 0.96 s examples of a segment, *without* the PCA + 8-bit quantisation post-processing
(they are non-negative with many exact zeros, which PCA + quantisation would not give); that is the default
here.
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np
import torch
from torch import nn

from .media import VGGISH_SAMPLE_RATE

logger = logging.getLogger(__name__)

VGGISH_EMBEDDING_DIM = 128

# Front-end constants of vggish_params.py.
STFT_WINDOW_SECONDS = 0.025
STFT_HOP_SECONDS = 0.010
NUM_MEL_BINS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01  # avoids log(0) on silent bins
EXAMPLE_WINDOW_SECONDS = 0.96
EXAMPLE_HOP_SECONDS = 0.96  # no overlap between examples
NUM_FRAMES_PER_EXAMPLE = 96
MIN_AUDIO_SECONDS = STFT_WINDOW_SECONDS + (NUM_FRAMES_PER_EXAMPLE - 1) * STFT_HOP_SECONDS
"""Shortest audio that yields one example: 0.975 s."""


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
            f"{self.model} needs pretrained weights: pass {weights_flag} PATH ({self.checkpoint}), or "
            f"{random_flag} to test with random weights (the features then mean nothing)",
            model=self.model,
            checkpoint=self.checkpoint,
        )


# ---------------------------------------------------------------------------------------------------------
# Log-mel front end
# ---------------------------------------------------------------------------------------------------------


def hertz_to_mel(frequencies_hertz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, ``1127 ln(1 + f / 700)``, as in ``mel_features.hertz_to_mel``."""
    return 1127.0 * np.log(1.0 + np.asarray(frequencies_hertz, dtype=np.float64) / 700.0)


def mel_filterbank(
    num_mel_bins: int = NUM_MEL_BINS,
    num_spectrogram_bins: int = 257,
    sample_rate: int = VGGISH_SAMPLE_RATE,
    lower_edge_hertz: float = MEL_MIN_HZ,
    upper_edge_hertz: float = MEL_MAX_HZ,
) -> np.ndarray:
    """Triangular mel weights, shape ``(num_spectrogram_bins, num_mel_bins)``.

    Same construction as ``mel_features.spectrogram_to_mel_matrix``: triangles are built in the mel domain
    (not in Hz as in HTK itself), and the DC bin gets no weight.
    """
    nyquist = sample_rate / 2.0
    if not 0.0 <= lower_edge_hertz < upper_edge_hertz <= nyquist:
        raise ValueError(f"need 0 <= lower_edge_hertz < upper_edge_hertz <= {nyquist}")
    bins_mel = hertz_to_mel(np.linspace(0.0, nyquist, num_spectrogram_bins))
    edges = np.linspace(hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    weights = np.empty((num_spectrogram_bins, num_mel_bins))
    for i in range(num_mel_bins):
        lower, center, upper = edges[i : i + 3]
        lower_slope = (bins_mel - lower) / (center - lower)
        upper_slope = (upper - bins_mel) / (upper - center)
        weights[:, i] = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    weights[0, :] = 0.0
    return weights


def _frame(data: torch.Tensor, window: int, hop: int) -> torch.Tensor:
    """Non-padded framing along dim 0 (``mel_features.frame``): ``(N, ...) -> (1 + (N - window) // hop, window, ...)``."""
    if data.shape[0] < window:
        return data.new_zeros((0, window, *data.shape[1:]))
    return data.unfold(0, window, hop).movedim(-1, 1)


def log_mel_spectrogram(
    waveform: np.ndarray | torch.Tensor, sample_rate: int = VGGISH_SAMPLE_RATE
) -> torch.Tensor:
    """Log-mel spectrogram of a mono waveform, shape ``(num_frames, 64)``, float32.

    25 ms periodic-Hann windows every 10 ms, magnitude of a 512-point FFT, 64 mel bands 125-7500 Hz,
    ``log(mel + 0.01)``; ``num_frames = 1 + (num_samples - 400) // 160``.
    """
    if sample_rate != VGGISH_SAMPLE_RATE:
        raise ValueError(
            f"VGGish expects {VGGISH_SAMPLE_RATE} Hz audio, got {sample_rate} Hz; resample first"
        )
    signal = torch.as_tensor(np.asarray(waveform, dtype=np.float64))
    if signal.ndim != 1:
        raise ValueError(f"expected a mono waveform of shape (num_samples,), got {tuple(signal.shape)}")
    window_length = round(sample_rate * STFT_WINDOW_SECONDS)  # 400
    hop_length = round(sample_rate * STFT_HOP_SECONDS)  # 160
    fft_length = 2 ** math.ceil(math.log2(window_length))  # 512
    frames = _frame(signal, window_length, hop_length)  # (num_frames, 400)
    # Periodic Hann (denominator N, not N - 1), as in mel_features.periodic_hann.
    window = 0.5 - 0.5 * torch.cos(
        2 * math.pi / window_length * torch.arange(window_length, dtype=torch.float64)
    )
    magnitude = torch.fft.rfft(frames * window, n=fft_length).abs()  # (num_frames, 257)
    mel = magnitude @ torch.from_numpy(mel_filterbank(num_spectrogram_bins=fft_length // 2 + 1))
    return torch.log(mel + LOG_OFFSET).float()


def waveform_to_examples(
    waveform: np.ndarray | torch.Tensor, sample_rate: int = VGGISH_SAMPLE_RATE
) -> torch.Tensor:
    """Frame a 16 kHz mono waveform into VGGish input examples, shape ``(N, 1, 96, 64)``.

    Examples are 0.96 s (96 frames of 10 ms) without overlap; a trailing partial example is dropped, so
    3 s of audio gives 3 examples. Audio shorter than 0.975 s gives none (see :data:`MIN_AUDIO_SECONDS`).
    """
    log_mel = log_mel_spectrogram(waveform, sample_rate)
    hop = round(EXAMPLE_HOP_SECONDS / STFT_HOP_SECONDS)
    return _frame(log_mel, NUM_FRAMES_PER_EXAMPLE, hop).unsqueeze(1)


# ---------------------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------------------


def _make_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 1
    for item in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M"):
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = item
    return nn.Sequential(*layers)


class VGGish(nn.Module):
    """VGGish with the module layout of the common PyTorch port (``features.N`` / ``embeddings.N`` keys).

    Input ``(N, 1, 96, 64)`` log-mel examples; output ``(N, 128)`` post-ReLU embeddings.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = _make_features()
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, VGGISH_EMBEDDING_DIM),
            nn.ReLU(inplace=True),
        )

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        x = self.features(examples)  # (N, 512, 6, 4)
        # The TF original flattens NHWC; the port's weights expect that order, hence (N, 6, 4, 512).
        x = x.permute(0, 2, 3, 1).contiguous()
        return self.embeddings(x.flatten(1))


def _read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model_state", "state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    # Checkpoints saved from DataParallel prefix every key with "module.".
    return {k.removeprefix("module."): v for k, v in state.items()}


class VGGishExtractor:
    """Segment-level VGGish features: mean over the 0.96 s examples of the 128-d post-ReLU embeddings.

    Args:
        weights: path to a state dict of the PyTorch VGGish port (``vggish-10086976.pth``).
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
        self.model = VGGish()
        if weights is not None:
            state = _read_state_dict(weights)
            try:
                self.model.load_state_dict(state)
            except RuntimeError as error:
                raise ValueError(
                    f"{weights}: not a state dict of the PyTorch VGGish port (features.N / embeddings.N): {error}"
                ) from None
        elif random_init:
            logger.warning("VGGish uses RANDOM weights (random_init=True): features are not meaningful")
        else:
            raise MissingWeightsError(
                f"VGGish needs pretrained weights: pass weights=PATH ({VGGISH_CHECKPOINT}) or random_init=True "
                "for tests",
                model="VGGish",
                checkpoint=VGGISH_CHECKPOINT,
            )
        self.model.to(self.device).eval()
        self.pca_matrix: torch.Tensor | None = None
        self.pca_means: torch.Tensor | None = None
        if pca_params is not None:
            params = torch.load(pca_params, map_location="cpu", weights_only=True)
            self.pca_matrix = torch.as_tensor(params["pca_eigen_vectors"]).float()
            self.pca_means = torch.as_tensor(params["pca_means"]).float().reshape(-1, 1)

    @torch.no_grad()
    def embed(self, waveform: np.ndarray | torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """Per-example embeddings of a 16 kHz mono waveform, shape ``(N, 128)``, float32, non-negative."""
        examples = waveform_to_examples(waveform)
        if examples.shape[0] == 0:
            raise ValueError(
                f"audio too short for VGGish: {len(waveform) / VGGISH_SAMPLE_RATE:.3f} s, "
                f"need at least {MIN_AUDIO_SECONDS:.3f} s"
            )
        outputs = [self.model(batch.to(self.device)).float().cpu() for batch in examples.split(batch_size)]
        return torch.cat(outputs)

    def __call__(self, waveform: np.ndarray | torch.Tensor) -> np.ndarray:
        """Segment feature: mean of :meth:`embed` over the examples, shape ``(128,)``, float32."""
        return self.embed(waveform).mean(dim=0).numpy().astype(np.float32)

    def postprocess(self, embeddings: torch.Tensor) -> torch.Tensor:
        """PCA-whiten, clip to [-2, 2] and quantise to 0..255 like the TF release, ``(N, 128) -> (N, 128)``."""
        if self.pca_matrix is None or self.pca_means is None:
            raise ValueError("postprocess needs pca_params")
        projected = (self.pca_matrix @ (embeddings.T - self.pca_means)).T
        clipped = projected.clamp(-2.0, 2.0)
        return torch.round((clipped + 2.0) * (255.0 / 4.0))
