"""Fixtures of the recommendation tests: a tiny retrieval model trained for a few steps on EmoMV-C."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from emomv_hf import build_model

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from conftest import load_emomv_c_split  # noqa: E402


def train_retrieval_model(release_dir: Path, similarity: str = "mix", seed: int = 0):
    """A multi-task EmoMVForRetrieval trained for 20 Adam steps (batch 64) on EmoMV-C train, in eval mode."""
    torch.manual_seed(seed)
    train = load_emomv_c_split(release_dir, "TRAIN")
    model = build_model("emomv", "retrieval", True, similarity=similarity)
    model.fit_standardization(train["video_features"], train["music_features"])
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(20):
        rows = torch.randint(0, len(train["labels"]), (64,))
        loss = model(**{name: values[rows] for name, values in train.items()}).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def model(release_dir):
    return train_retrieval_model(release_dir)
