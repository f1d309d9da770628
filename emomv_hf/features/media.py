"""Decoding of music videos with PyAV: video frames of a time window and 16 kHz mono audio.

Everything here returns plain numpy arrays so that the extractors stay independent of the decoder, and every
error names the file, because a batch run over thousands of videos must say which one is broken.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VGGISH_SAMPLE_RATE = 16_000
"""Sample rate VGGish was trained on; all audio is resampled to it."""

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".ogv")
"""Files a folder of media lists as videos (and the Space plays in its video player)."""
AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".m4a", ".ogg", ".opus", ".aac")
"""A music library's files: audio only, so their segments have music features and no video features."""
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS + AUDIO_EXTENSIONS
MAX_ASPECT_RATIO = 4
"""Video frames whose long side is more than this many times the short side are refused: SlowFast's preprocessing
scales the short side to 256, so the 32 frames of a 2x1080 video would take 13 GB (the widest cinema format is
2.76:1, a 32:9 screen 3.6:1)."""
MAX_FRAME_PIXELS = 4096 * 2160
"""Video frames of more pixels (beyond DCI 4K) are refused: 32 such frames already take 3.4 GB as float32."""


class MediaError(RuntimeError):
    """A media file is missing, unreadable, lacks a stream, or is too short for what was asked."""


def _import_av():
    try:
        import av
    except ImportError as error:  # optional dependency: ``pip install emomv-hf[extract]``
        raise ImportError("feature extraction needs PyAV: pip install 'emomv-hf[extract]'") from error
    return av


def _open(path: str | os.PathLike):
    av = _import_av()
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: media file not found")
    try:
        return av.open(str(path))
    except Exception as error:  # PyAV raises several FFmpeg error classes; all mean "cannot read this file"
        raise MediaError(f"{path}: cannot open media file ({type(error).__name__}: {error})") from None


def _first_stream(container, kind: str):
    """The first ``kind`` (``"video"`` / ``"audio"``) stream, or None; an album cover (a picture stream marked
    ``attached_pic``, which mp3, flac and m4a files hold) is not video."""
    cover = _import_av().stream.Disposition.attached_pic
    return next(
        (stream for stream in getattr(container.streams, kind) if not stream.disposition & cover), None
    )


@contextmanager
def _open_stream(path: str | os.PathLike, kind: str) -> Iterator[tuple]:
    """``(container, stream)``: the first ``kind`` stream of ``path`` (:func:`_first_stream`)."""
    with _open(path) as container:
        if (stream := _first_stream(container, kind)) is None:
            raise MediaError(f"{path}: no {kind} stream")
        yield container, stream


@dataclass(frozen=True)
class MediaInfo:
    """Stream facts of one media file: which streams it has and ``duration``, the length usable for both (the
    shorter of the known stream durations, in seconds; ``None`` where the container does not say)."""

    has_video: bool
    has_audio: bool
    duration: float | None


def _start_seconds(stream) -> float:
    """When ``stream``'s first frame is presented, in the file's timestamps (seconds)."""
    return float((stream.start_time or 0) * stream.time_base)


def probe_media(path: str | os.PathLike) -> MediaInfo:
    """Read stream facts without decoding (which streams, and how long both last from the first video frame)."""
    with _open(path) as container:
        video, audio = _first_stream(container, "video"), _first_stream(container, "audio")
        streams = [stream for stream in (video, audio) if stream is not None]
        ends = {
            s: _start_seconds(s) + float(s.duration * s.time_base) for s in streams if s.duration is not None
        }
        if unknown := [stream for stream in streams if stream.duration is None]:
            # Matroska (mkv, webm) stores no stream durations, and FFmpeg's container duration of an mkv is its end
            # time, not a length: the end of each stream's last packet (demuxing reads, but does not decode).
            try:
                for packet in container.demux(unknown):
                    if packet.pts is not None:
                        end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                        ends[packet.stream] = max(ends.get(packet.stream, end), end)
            except Exception as error:  # PyAV raises several FFmpeg error classes
                raise MediaError(
                    f"{path}: cannot read the media file ({type(error).__name__}: {error})"
                ) from None
        # Window times count from the first video frame (see read_video_frames), else from the first sample.
        known = [end - _start_seconds(streams[0]) for end in ends.values()]
        return MediaInfo(
            has_video=video is not None, has_audio=audio is not None, duration=min(known, default=None)
        )


def read_video_frames(path: str | os.PathLike, start: float, end: float, num_frames: int) -> np.ndarray:
    """Decode ``num_frames`` RGB frames sampled uniformly over ``[start, end)`` seconds.

    The frames of pytorchvideo's ``EncodedVideo.get_clip(start, end)`` (those presented in the window) at
    ``UniformTemporalSubsample``'s indices ``linspace(0, T - 1, num_frames)``, truncated; short windows repeat
    frames. Only the sampled frames are kept, so a 30 s 1080p window does not need gigabytes of memory. Frames are
    turned as rotation metadata says.

    Returns:
        ``uint8`` array of shape ``(num_frames, H, W, 3)``.
    """
    with _open_stream(path, "video") as (container, stream):
        stream.thread_type = "AUTO"  # frame-threaded decoding; the bottleneck of extraction on CPU
        # Window times count from the stream's first frame (MPEG-PS/TS and cut files start later than 0), as
        # read_audio's sample positions count from the first sample; get_clip's bounds in timestamps.
        first_pts = stream.start_time or 0
        low, high = (first_pts + math.ceil(seconds / stream.time_base) for seconds in (start, end))
        try:
            if start > 0:  # a second early: AVI's seek with B-frames landed after the keyframe asked for
                seek_to = max(first_pts, low - round(1 / stream.time_base))
                container.seek(seek_to, stream=stream, backward=True, any_frame=False)
            # The packets up to the window's end (compressed: small; decoding time <= presentation time), so
            # that the window's frames are known before any is decoded; the end's empty one: None flushes below.
            demuxed = itertools.takewhile(lambda p: p.dts is None or p.dts < high, container.demux(stream))
            packets = [packet for packet in demuxed if packet.size]
            window = sorted(p.pts for p in packets if p.pts is not None and low <= p.pts < high)
            index = np.linspace(0, len(window) - 1, num_frames).astype(int) if window else []
            wanted = [window[i] for i in index]
            images: dict[int, np.ndarray | None] = dict.fromkeys(wanted)  # presentation timestamp -> frame
            for frame in (frame for packet in [*packets, None] for frame in stream.decode(packet)):
                if frame.pts not in images or images[frame.pts] is not None:
                    continue
                width, height = frame.width, frame.height
                if (
                    max(width, height) > MAX_ASPECT_RATIO * min(width, height)
                    or width * height > MAX_FRAME_PIXELS
                ):
                    raise MediaError(
                        f"{path}: {width}x{height} video frames are beyond the {MAX_ASPECT_RATIO}:1 aspect ratio "
                        f"or the {MAX_FRAME_PIXELS} pixels (4096x2160) that extraction takes"
                    )
                image = frame.to_ndarray(format="rgb24")
                # Rotation metadata (phone videos): turned as a player shows it (counterclockwise degrees; the
                # attribute may be missing from PyAV releases older than the 18.1 tested; the extras allow av>=11).
                if rotation := getattr(frame, "rotation", 0):
                    image = np.ascontiguousarray(np.rot90(image, round(rotation / 90)))
                images[frame.pts] = image
        except MediaError:
            raise
        except Exception as error:  # PyAV raises several FFmpeg error classes
            raise MediaError(f"{path}: video decoding failed ({type(error).__name__}: {error})") from None
        decoded = [image for image in images.values() if image is not None]
        if not decoded:
            raise MediaError(f"{path}: no video frames in [{start:.3f}, {end}) s (media too short?)")
        # A frame that did not decode (its reference lost by a seek) is the one decoded before it (or first).
        picked = [decoded[0]]
        for pts in wanted:
            picked.append(picked[-1] if images[pts] is None else images[pts])
        return np.stack(picked[1:])


def resample_audio(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Resample ``(num_samples,)`` or planar ``(num_channels, num_samples)`` audio to 16 kHz with FFmpeg's resampler
    (the one :func:`read_audio` uses), channel by channel; float32 of the same rank (the rank is checked by
    :meth:`VGGishFeatureExtractor.examples`, where user audio enters)."""
    av = _import_av()
    audio = np.asarray(waveform, dtype=np.float32)
    planar = audio.reshape(1, -1) if audio.ndim == 1 else audio
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    channels = []
    for channel in planar:
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=VGGISH_SAMPLE_RATE)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(channel[None]), format="fltp", layout="mono")
        frame.sample_rate = sample_rate
        # The final ``None`` flushes the resampler's delay line.
        pieces = [out.to_ndarray() for part in (frame, None) for out in resampler.resample(part)]
        channels.append(np.concatenate(pieces, axis=1)[0] if pieces else np.zeros(0, dtype=np.float32))
    resampled = np.stack(channels).astype(np.float32)
    return resampled[0] if audio.ndim == 1 else resampled


def read_audio(
    path: str | os.PathLike,
    start: float = 0.0,
    end: float | None = None,
    sample_rate: int = VGGISH_SAMPLE_RATE,
) -> np.ndarray:
    """Decode the audio of ``[start, end)`` seconds as mono float32 at ``sample_rate``.

    Times count from the first video frame, as :func:`read_video_frames`' do (from the first sample in a file
    without video): audio that starts later is preceded by silence (only up to ``end`` where given), audio that
    starts earlier is cut there. Channels are averaged after resampling (as VGGish's ``waveform_to_examples``
    does) rather than downmixed by FFmpeg, whose stereo-to-mono matrix applies a different gain.

    Returns:
        ``float32`` array of shape ``(num_samples,)`` in ``[-1, 1]``, ``num_samples ≈ (end - start) * sample_rate``.
    """
    av = _import_av()
    with _open_stream(path, "audio") as (container, stream):
        origin = _first_stream(container, "video") or stream
        lead = int(round((_start_seconds(stream) - _start_seconds(origin)) * sample_rate))  # samples
        # Planar float keeps the channels apart so that they can be averaged here.
        resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
        try:
            # Decoding from the beginning keeps sample positions exact; audio decoding is cheap. The final
            # ``None`` flushes the resampler's delay line.
            frames = itertools.chain(container.decode(stream), [None])
            chunks = [out.to_ndarray() for frame in frames for out in resampler.resample(frame)]
        except Exception as error:
            raise MediaError(f"{path}: audio decoding failed ({type(error).__name__}: {error})") from None
    if not chunks:
        raise MediaError(f"{path}: the audio stream holds no samples")
    audio = np.concatenate(chunks, axis=1).mean(axis=0).astype(np.float32)
    # Positions in the audio stream's samples.
    first = int(round(start * sample_rate)) - lead
    last = audio.shape[0] if end is None else int(round(end * sample_rate)) - lead
    if first >= audio.shape[0]:
        raise MediaError(
            f"{path}: audio ends at {(audio.shape[0] + lead) / sample_rate:.3f} s, the window starts at {start:.3f} s"
        )
    silence = np.zeros(max(0, min(last, 0) - first), dtype=np.float32)
    return np.concatenate([silence, audio[max(first, 0) : max(last, 0)]])
