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


@pytest.fixture(scope="module")
def baseline_model(release_dir):
    """EmoMVBaselineForRetrieval (similarity `1 / (distance + eps)`) after :data:`RETRIEVAL_STEPS` training steps
    as :func:`train_tiny_model`'s."""
    import torch
    from conftest import load_emomv_c_split

    from emomv_hf.models_registry import build_model

    torch.manual_seed(0)
    train = load_emomv_c_split(release_dir, "TRAIN")
    model = build_model("baseline", "retrieval")
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(RETRIEVAL_STEPS):
        rows = torch.randint(0, len(train["labels"]), (64,))
        loss = model(**{name: values[rows] for name, values in train.items()}).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()
