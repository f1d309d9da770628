"""VGGish's log-mel front end as a transformers feature extractor: a waveform at any sampling rate becomes 16 kHz
mono, then 0.96 s log-mel examples ``(E, 1, 96, 64)``.

The front end follows Google's ``vggish_input.py`` / ``mel_features.py`` (the numbers of the PyTorch port
``harritaylor/torchvggish``): 25 ms periodic-Hann windows every 10 ms, magnitude of a 512-point FFT, 64 mel bands
125-7500 Hz on the HTK mel scale, ``log(mel + 0.01)``, and non-overlapping 96-frame examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from transformers.audio_utils import mel_filter_bank
from transformers.feature_extraction_sequence_utils import SequenceFeatureExtractor
from transformers.feature_extraction_utils import BatchFeature

from .media import VGGISH_SAMPLE_RATE, resample_audio

# Front-end constants of vggish_params.py.
STFT_WINDOW_SECONDS = 0.025
STFT_HOP_SECONDS = 0.010
NUM_MEL_BINS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01  # avoids log(0) on silent bins
EXAMPLE_HOP_SECONDS = 0.96  # no overlap between examples
NUM_FRAMES_PER_EXAMPLE = 96
MIN_AUDIO_SECONDS = STFT_WINDOW_SECONDS + (NUM_FRAMES_PER_EXAMPLE - 1) * STFT_HOP_SECONDS
"""Shortest audio that yields one example: 0.975 s."""


def mel_filterbank(num_spectrogram_bins: int = 257) -> np.ndarray:
    """Triangular mel weights, shape ``(num_spectrogram_bins, 64)``: ``mel_features.spectrogram_to_mel_matrix``'s
    construction (HTK mel scale, triangles built in the mel domain, no weight on the DC bin), as transformers
    builds it (the same numbers to about 3e-14; the log-mel examples are bit-identical)."""
    bands = (NUM_MEL_BINS, MEL_MIN_HZ, MEL_MAX_HZ, VGGISH_SAMPLE_RATE)
    return mel_filter_bank(num_spectrogram_bins, *bands, mel_scale="htk", triangularize_in_mel_space=True)


def _frame(data: torch.Tensor, window: int, hop: int) -> torch.Tensor:
    """Non-padded framing along dim 0 (``mel_features.frame``): ``(N, ...) -> (1 + (N - window) // hop, window, ...)``."""
    if data.shape[0] < window:
        return data.new_zeros((0, window, *data.shape[1:]))
    return data.unfold(0, window, hop).movedim(-1, 1)


def log_mel_spectrogram(waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Log-mel spectrogram of a 16 kHz mono waveform (the front end of the module docstring), shape
    ``(num_frames, 64)`` float32, ``num_frames = 1 + (num_samples - 400) // 160``."""
    signal = torch.as_tensor(np.asarray(waveform, dtype=np.float64))  # mono: checked by examples()
    window_length = round(VGGISH_SAMPLE_RATE * STFT_WINDOW_SECONDS)  # 400
    hop_length = round(VGGISH_SAMPLE_RATE * STFT_HOP_SECONDS)  # 160
    fft_length = 2 ** math.ceil(math.log2(window_length))  # 512
    # Our own STFT: transformers.audio_utils.spectrogram's magnitudes differ from it in the last bits.
    frames = _frame(signal, window_length, hop_length)  # (num_frames, 400)
    # Periodic Hann (denominator N, not N - 1), as in mel_features.periodic_hann.
    window = 0.5 - 0.5 * torch.cos(
        2 * math.pi / window_length * torch.arange(window_length, dtype=torch.float64)
    )
    magnitude = torch.fft.rfft(frames * window, n=fft_length).abs()  # (num_frames, 257)
    mel = magnitude @ torch.from_numpy(mel_filterbank(num_spectrogram_bins=fft_length // 2 + 1))
    return torch.log(mel + LOG_OFFSET).float()


def waveform_to_examples(waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Frame a 16 kHz mono waveform into VGGish input examples, shape ``(N, 1, 96, 64)``.

    Examples are 0.96 s (96 frames of 10 ms) without overlap; a trailing partial example is dropped, so
    3 s of audio gives 3 examples. Audio shorter than 0.975 s gives none (see :data:`MIN_AUDIO_SECONDS`).
    """
    log_mel = log_mel_spectrogram(waveform)
    hop = round(EXAMPLE_HOP_SECONDS / STFT_HOP_SECONDS)
    return _frame(log_mel, NUM_FRAMES_PER_EXAMPLE, hop).unsqueeze(1)


class VGGishFeatureExtractor(SequenceFeatureExtractor):
    r"""
    Waveforms to VGGish input examples (saved as ``preprocessor_config.json``).

    Each waveform is resampled to 16 kHz (FFmpeg's resampler, as :func:`.media.read_audio` uses) when given at
    another rate, its channels are averaged, and it is cut into 0.96 s log-mel examples (a trailing partial
    example is dropped). A batch is padded to its longest number of examples.

    Args:
        feature_size (`int`, defaults to 64): mel bands of an example (fixed by VGGish).
        sampling_rate (`int`, defaults to 16000): rate the log-mel front end runs at (fixed by VGGish).
        padding_value (`float`, defaults to 0.0): value of padded examples.
    """

    model_input_names = ["input_features", "attention_mask"]

    def __init__(
        self,
        feature_size: int = NUM_MEL_BINS,
        sampling_rate: int = VGGISH_SAMPLE_RATE,
        padding_value: float = 0.0,
        **kwargs,
    ) -> None:
        if feature_size != NUM_MEL_BINS or sampling_rate != VGGISH_SAMPLE_RATE:
            raise ValueError(
                f"VGGishFeatureExtractor computes {NUM_MEL_BINS} mel bands at {VGGISH_SAMPLE_RATE} Hz, got "
                f"feature_size={feature_size}, sampling_rate={sampling_rate}"
            )
        super().__init__(
            feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs
        )

    def examples(self, waveform: np.ndarray | torch.Tensor, sampling_rate: int) -> torch.Tensor:
        """Log-mel examples ``(E, 1, 96, 64)`` float32 of one waveform, ``(num_samples,)`` or planar
        ``(num_channels, num_samples)`` float samples in ``[-1, 1]`` at ``sampling_rate``; ``ValueError`` if
        it is not float or shorter than :data:`MIN_AUDIO_SECONDS`. A mono 16 kHz waveform reaches the front
        end as given (no copy, no dtype change), so the numbers do not move."""
        audio = np.asarray(waveform)
        if audio.ndim not in (1, 2) or audio.shape[-1] == 0:
            raise ValueError(
                f"expected a waveform of shape (num_samples,) or (num_channels, num_samples), got {audio.shape}"
            )
        if not np.issubdtype(audio.dtype, np.floating):  # int16 PCM would be 32768 times too loud, silently
            raise ValueError(
                f"expected float samples in [-1, 1], got {audio.dtype} (scale integer PCM first)"
            )
        if sampling_rate != self.sampling_rate:
            audio = resample_audio(audio, sampling_rate)
        if audio.ndim == 2:
            audio = audio.mean(axis=0).astype(np.float32)  # channels averaged after resampling, as read_audio
        # Checked before the front end, whose FFT of no frames (under 400 samples) is an MKL error, not a ValueError.
        if len(audio) < round(MIN_AUDIO_SECONDS * self.sampling_rate):
            layout = (
                " (a (num_samples, num_channels) array? pass its transpose)" if np.ndim(waveform) == 2 else ""
            )
            raise ValueError(
                f"audio too short for VGGish: {len(audio) / self.sampling_rate:.3f} s, "
                f"need at least {MIN_AUDIO_SECONDS:.3f} s{layout}"
            )
        return waveform_to_examples(audio)

    def __call__(
        self,
        raw_audio: np.ndarray | torch.Tensor | Sequence[np.ndarray | torch.Tensor],
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        return_attention_mask: bool | None = None,
        **kwargs,
    ) -> BatchFeature:
        """One waveform or a list of them (each ``(num_samples,)`` or planar ``(num_channels, num_samples)``) ->
        ``input_features`` ``(B, E, 1, 96, 64)`` and ``attention_mask`` ``(B, E)`` (1 = real example)."""
        if sampling_rate is None:
            raise ValueError(
                "pass `sampling_rate`: VGGishFeatureExtractor resamples from any rate, but must know the input's"
            )
        if kwargs:
            raise TypeError(f"unexpected argument(s) {sorted(kwargs)}")
        if isinstance(raw_audio, (np.ndarray, torch.Tensor)):
            raw_audio = [raw_audio]  # one waveform; a batch is a list
        per_waveform = [self.examples(waveform, sampling_rate) for waveform in raw_audio]
        features = pad_sequence(per_waveform, batch_first=True, padding_value=self.padding_value)
        data = {"input_features": features.numpy()}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            lengths = torch.tensor([examples.shape[0] for examples in per_waveform])
            data["attention_mask"] = (torch.arange(features.shape[1]) < lengths[:, None]).long().numpy()
        return BatchFeature(data, tensor_type=return_tensors)
