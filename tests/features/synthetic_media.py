"""Tiny synthetic music videos written with PyAV: moving colour video + a sine tone (test helper)."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

WIDTH, HEIGHT, FPS = 64, 48, 10
AUDIO_RATE = 22_050
TONE_HZ = 1_000.0


def write_clip(
    path: Path,
    seconds: float = 3.5,
    *,
    tone_hz: float = TONE_HZ,
    with_audio: bool = True,
    with_video: bool = True,
    start_seconds: float = 0.0,
    cover_art: bool = False,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    audio_delay: float = 0.0,
    b_frames: int = 0,
) -> Path:
    """Write an mp4 (mpeg4 video, 10 fps, ``size`` (width, height) 64x48; stereo AAC 22.05 kHz sine) of ``seconds``
    length whose streams start at ``start_seconds`` (as in MPEG-PS/TS files and cut files); ``cover_art`` adds an
    album cover (a one-picture video stream marked ``attached_pic``, as music files hold); the audio starts
    ``audio_delay`` seconds after the video; ``b_frames``: the most B-frames in a row (frames stored out of order)."""
    width, height = size
    with av.open(str(path), "w") as container:
        video = audio = None
        if with_video:
            video = container.add_stream("mpeg4", rate=FPS)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.max_b_frames = b_frames
        if with_audio:
            audio = container.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "stereo"
        if cover_art:
            cover = container.add_stream("mjpeg")
            cover.width, cover.height, cover.pix_fmt = WIDTH, HEIGHT, "yuvj420p"
            cover.disposition = av.stream.Disposition.attached_pic
            picture = av.VideoFrame.from_ndarray(np.zeros((HEIGHT, WIDTH, 3), np.uint8), format="rgb24")
            picture = picture.reformat(format="yuvj420p")
            picture.pts, picture.time_base = 0, Fraction(1, 1)
            container.mux(cover.encode(picture))
        if video is not None:
            for index in range(int(round(seconds * FPS))):
                image = np.zeros((height, width, 3), dtype=np.uint8)
                image[..., 0] = (index * 23) % 256  # colour changes over time
                image[:, (index * 4) % width :, 1] = 200  # a moving edge
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = index + round(start_seconds * FPS)
                frame.time_base = Fraction(1, FPS)
                container.mux(video.encode(frame))
            container.mux(video.encode(None))
        if audio is not None:
            total = int(round(seconds * AUDIO_RATE))
            t = np.arange(total) / AUDIO_RATE
            tone = (0.5 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
            block = 1024
            for offset in range(0, total, block):
                chunk = np.stack([tone[offset : offset + block]] * 2)  # planar stereo
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk), format="fltp", layout="stereo"
                )
                frame.sample_rate = AUDIO_RATE
                frame.pts = offset + round((start_seconds + audio_delay) * AUDIO_RATE)
                frame.time_base = Fraction(1, AUDIO_RATE)
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
    return path


def rotate_upright(path: Path) -> Path:
    """Mark an mp4 written by :func:`write_clip` as a phone video held upright: the track header's matrix says to
    turn the stored frames 90 degrees clockwise for display (PyAV cannot write it)."""
    data = bytearray(path.read_bytes())
    matrix = data.find(b"tkhd") + 4 + 4 + 20 + 8 + 8  # version-0 tkhd: flags, times, ids, layer/volume
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30)
    path.write_bytes(data)
    return path


def assert_same_segments(out: Path, reference: Path) -> None:
    """``out``'s extracted segments are ``clip_a_01``, ``clip_b_01`` with ``reference``'s emotions and features."""
    import datasets

    rows, expected = (
        datasets.load_dataset(str(folder), "segments", split="train", download_mode="force_redownload")
        for folder in (out, reference)
    )
    assert rows["segment_id"] == ["clip_a_01", "clip_b_01"] and rows["emotion"] == expected["emotion"]
    assert rows["video_features"] == expected["video_features"]
    assert rows["music_features"] == expected["music_features"]
