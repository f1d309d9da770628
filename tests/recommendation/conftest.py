"""Fixtures of the recommendation tests: a tiny retrieval model trained for a few steps on EmoMV-C."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from conftest import adam_steps, load_emomv_c_split, train_tiny_model  # noqa: E402

RETRIEVAL_STEPS = 20


@pytest.fixture(scope="module")
def model(release_dir):
    """EmoMVForRetrieval (similarity ``mix``) after :data:`RETRIEVAL_STEPS` training steps."""
    return train_tiny_model(release_dir, "retrieval", RETRIEVAL_STEPS, similarity="mix")


@pytest.fixture(scope="module")
def baseline_model(release_dir):
    """EmoMVBaselineForRetrieval (similarity `1 / (distance + eps)`) after :data:`RETRIEVAL_STEPS` training steps
    as :func:`train_tiny_model`'s."""
    import torch

    from emomv_hf.models_registry import build_model

    torch.manual_seed(0)
    train = load_emomv_c_split(release_dir, "TRAIN")
    return adam_steps(build_model("baseline", "retrieval"), train, RETRIEVAL_STEPS)
