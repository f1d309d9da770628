"""Fixtures of the feature-extraction tests: tiny synthetic music videos (see ``synthetic_media``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .synthetic_media import write_clip


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two labelled clips in emotion folders: ``Fear/clip_a.mp4`` (3.5 s) and ``relax/clip_b.mp4`` (2.5 s)."""
    root = tmp_path_factory.mktemp("media")
    (root / "Fear").mkdir()
    (root / "relax").mkdir()
    write_clip(root / "Fear" / "clip_a.mp4", 3.5)
    write_clip(root / "relax" / "clip_b.mp4", 2.5, tone_hz=440.0)
    return root


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Path:
    return media_dir / "Fear" / "clip_a.mp4"
