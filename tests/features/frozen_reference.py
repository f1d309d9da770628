"""A frozen copy of the VGGish front end and network and of SlowFast's clip preprocessing as they were at commit
518cb4e (before the transformers classes), so that tests can check that the numbers did not move.

Do not edit: this file is the reference, not the implementation.
"""

# ruff: noqa

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

VGGISH_SAMPLE_RATE = 16_000
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
