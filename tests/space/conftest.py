"""Space fixtures: tiny EmoMV-C models (trained a few steps), saved as train.py saves them, and the app module."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "models"))
from conftest import train_tiny_model  # noqa: E402

from emomv_hf.features.arguments import ExtractorArguments  # noqa: E402

pytest.importorskip("faiss")


@pytest.fixture(scope="session")
def model_dirs(release_dir, tmp_path_factory) -> dict[str, Path]:
    """``{"retrieval": folder, "correspondence": folder}``: save_pretrained folders, as train.py writes them."""
    root = tmp_path_factory.mktemp("space-models")
    folders = {}
    for task in ("retrieval", "correspondence"):
        folders[task] = root / task
        train_tiny_model(release_dir, task, steps=10).save_pretrained(folders[task])
    return folders


def load_app() -> ModuleType:
    """``examples/space/app.py`` as a module (registered, so its dataclasses resolve their module)."""
    name = "space_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "examples" / "space" / "app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def app() -> ModuleType:
    return load_app()


@pytest.fixture(scope="session")
def space(app, model_dirs, emomv_c_dir, tmp_path_factory):
    """The demo's models and EmoMV-C (validation segments), loaded as ``app.py`` loads them."""
    args = app.SpaceArguments(
        retrieval_model=str(model_dirs["retrieval"]),
        correspondence_model=str(model_dirs["correspondence"]),
        library=str(emomv_c_dir),
        split="validation",
        index_dir=str(tmp_path_factory.mktemp("space-index") / "index"),
    )
    return app.load_space(args)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """``tests/artifacts/space`` (git-ignored; ``EMOMV_TEST_ARTIFACTS`` moves it): the browser screenshots."""
    folder = Path(os.environ.get("EMOMV_TEST_ARTIFACTS", REPO_ROOT / "tests" / "artifacts")) / "space"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


SEGMENT_SECONDS = 1.0
EXTRACTORS = ExtractorArguments(random_init=True, segment_seconds=SEGMENT_SECONDS)
"""Random-weight extractors (fixed seed) for the media library and the uploaded files."""


def write_ogg(path: Path, seconds: float, tone_hz: float) -> Path:
    """An audio-only Ogg Opus file (48 kHz stereo sine) that Chromium plays."""
    av = pytest.importorskip("av")
    from fractions import Fraction

    import numpy as np

    with av.open(str(path), "w", format="ogg") as container:
        audio = container.add_stream("libopus", rate=48_000)
        audio.layout = "stereo"
        total = int(seconds * 48_000)
        tone = (0.3 * np.sin(2 * np.pi * tone_hz * np.arange(total) / 48_000)).astype(np.float32)
        for offset in range(0, total, 960):
            chunk = np.pad(tone[offset : offset + 960], (0, max(0, offset + 960 - total)))
            frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, offset, Fraction(1, 48_000)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


@pytest.fixture(scope="session")
def media_library(tmp_path_factory) -> dict[str, Path]:
    """Media the browser plays, extracted with random-weight extractors into 1 s segments: a 1 s music video
    (webm: VP8 + Opus; one segment) and two 2 s audio-only tracks (Ogg Opus; two segments each). SlowFast is
    the slow part of an extraction, so only the one clip has video."""
    pytest.importorskip("pytorchvideo")
    sys.path.insert(0, str(REPO_ROOT / "tests" / "survey"))
    from helpers import write_webm

    from emomv_hf.features.extract import extract_dataset

    media = tmp_path_factory.mktemp("space-media") / "media"
    media.mkdir()
    write_webm(media / "clip.webm", 1.0, tone_hz=440.0)
    write_ogg(media / "low.ogg", 2.0, tone_hz=220.0)
    write_ogg(media / "high.ogg", 2.0, tone_hz=1760.0)
    features = media.parent / "features"
    extract_dataset(media, features, EXTRACTORS, progress=False)
    return {"media": media, "features": features, "clip": media / "clip.webm", "track": media / "high.ogg"}


@pytest.fixture(scope="session")
def media_space(app, model_dirs, media_library, tmp_path_factory):
    """The demo over the media library; uploaded files are extracted as the library was."""
    args = app.SpaceArguments(
        retrieval_model=str(model_dirs["retrieval"]),
        correspondence_model=str(model_dirs["correspondence"]),
        library=str(media_library["features"]),
        index_dir=str(tmp_path_factory.mktemp("space-media-index") / "index"),
    )
    return app.load_space(args, EXTRACTORS)
