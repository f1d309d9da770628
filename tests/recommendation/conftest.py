"""Fixtures of the recommendation tests: a tiny retrieval model trained for a few steps on EmoMV-C."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from conftest import train_tiny_model  # noqa: E402

RETRIEVAL_STEPS = 20


@pytest.fixture(scope="module")
def model(release_dir):
    """EmoMVForRetrieval (similarity ``mix``) after :data:`RETRIEVAL_STEPS` training steps."""
    return train_tiny_model(release_dir, "retrieval", RETRIEVAL_STEPS, similarity="mix")
