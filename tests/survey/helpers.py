"""Survey test helpers: a small hand-made sample list, example scripts as modules, Chromium-playable webm media."""

from __future__ import annotations

import http.client
import importlib.util
import sys
import threading
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from urllib.parse import urlencode

import numpy as np
import pytest

from emomv_survey.sampling import SurveySample
from emomv_survey.server import SurveyServer
from emomv_survey.store import SurveyStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    """``examples/survey/<name>.py`` as a module (registered, so its dataclasses resolve their module)."""
    module_name = f"survey_script_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            module_name, REPO_ROOT / "examples" / "survey" / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def make_samples() -> list[SurveySample]:
    """Four EmoMV-A samples (two matched, two mismatched) and two EmoMV-C ones, no media."""

    def sample(sample_id, dataset, label, video, music, video_emotion, music_emotion):
        pair_id = video if video == music else f"{video}_PAIR_{music}"
        return SurveySample(sample_id, dataset, pair_id, label, video, music, video_emotion, music_emotion)

    return [
        sample("S1", "emomv-a", "matched", "a1", "a1", "exciting", "exciting"),
        sample("S2", "emomv-a", "matched", "a2", "a2", "sad", "sad"),
        sample("S3", "emomv-a", "mismatched", "a3", "a4", "exciting", "sad"),
        sample("S4", "emomv-a", "mismatched", "a5", "a6", "tense", "relaxing"),
        sample("S5", "emomv-c", "matched", "c1", "c1", "tense", "tense"),
        sample("S6", "emomv-c", "mismatched", "c2", "c3", "fearful", "exciting"),
    ]


def write_webm(
    path: Path,
    seconds: float = 2.0,
    tone_hz: float | tuple[float, ...] = 440.0,
    video_gap: tuple[float, float] = (0.0, 0.0),
) -> Path:
    """A tiny webm (VP8 64x48 at 10 fps, Opus 48 kHz sine) that Chromium plays: ``tone_hz`` (a tuple: one tone
    per second), no frames in ``video_gap`` (seconds ``[start, end)``)."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w", format="webm") as container:
        video = container.add_stream("libvpx", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("libopus", rate=48_000)
        audio.layout = "stereo"
        for index in range(int(seconds * 10)):
            if video_gap[0] <= index / 10 < video_gap[1]:
                continue
            image = np.zeros((48, 64, 3), dtype=np.uint8)
            image[..., 1] = (index * 20) % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 10)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        total = int(seconds * 48_000)
        hz = np.resize(np.repeat(tone_hz, 48_000), total) if np.ndim(tone_hz) else tone_hz
        tone = (0.3 * np.sin(2 * np.pi * hz * np.arange(total) / 48_000)).astype(np.float32)
        for offset in range(0, total, 960):
            chunk = tone[offset : offset + 960]
            if len(chunk) < 960:
                chunk = np.pad(chunk, (0, 960 - len(chunk)))
            frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, offset, Fraction(1, 48_000)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


def serve(store: SurveyStore) -> SurveyServer:
    """A server of ``store`` on a free port of 127.0.0.1, serving from a daemon thread (stop it with
    ``shutdown()`` and ``server_close()``)."""
    server = SurveyServer(store, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def request(server, method: str, path: str, form: dict | None = None, headers: dict | None = None):
    """One HTTP request to a survey server started by the test: ``(status, headers, body bytes)``."""
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    body = urlencode(form) if form is not None else None
    all_headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    connection.request(method, path, body=body, headers={**all_headers, **(headers or {})})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), payload
