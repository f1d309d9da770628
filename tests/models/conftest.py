"""Fixtures of the model tests: real EmoMV-C features read straight from the authors' release."""

from __future__ import annotations

import csv
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch


def _read_single_dataset(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as handle:
        keys = list(handle.keys())
        assert len(keys) == 1, f"{path} should hold a single dataset, has {keys}"
        return np.asarray(handle[keys[0]], dtype=np.float32)


def load_emomv_c_split(release_dir: Path, split: str) -> dict[str, torch.Tensor]:
    """EmoMV-C pairs of one split (TRAIN / VAL) as model inputs: raw features and the three label columns."""
    root = release_dir / "DS3_EmoMV_C"
    video = _read_single_dataset(root / "extracted_features" / f"SlowFast_DS3_{split}_MATCH_MISMATCH.h5")
    music = _read_single_dataset(root / "extracted_features" / f"VGGish_DS3_{split}_MATCH_MISMATCH.h5")
    with open(root / "annotation" / f"DS3_{split}_MATCH_MISMATCH_labels.csv", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    assert len(rows) == len(video) == len(music)
    return {
        "video_features": torch.from_numpy(video),
        "music_features": torch.from_numpy(music),
        "labels": torch.tensor([int(row[2]) for row in rows]),
        "video_emotion_labels": torch.tensor([int(row[5]) for row in rows]),
        "music_emotion_labels": torch.tensor([int(row[6]) for row in rows]),
    }


def train_tiny_model(release_dir: Path, task: str, steps: int, seed: int = 0, **config_overrides):
    """A multi-task EmoMV model of ``task`` trained ``steps`` Adam steps (lr 1e-3, batch 64) on EmoMV-C train,
    in eval mode (the recommendation and Space tests' model)."""
    from emomv_hf import build_model

    torch.manual_seed(seed)
    train = load_emomv_c_split(release_dir, "TRAIN")
    model = build_model("emomv", task, True, **config_overrides)
    model.fit_standardization(train["video_features"], train["music_features"])
    return adam_steps(model, train, steps)


def adam_steps(model: torch.nn.Module, train: dict[str, torch.Tensor], steps: int) -> torch.nn.Module:
    """``model`` after ``steps`` Adam steps (lr 1e-3) on random batches of 64 rows of ``train``, in eval mode."""
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(steps):
        rows = torch.randint(0, len(train["labels"]), (64,))
        loss = model(**{name: values[rows] for name, values in train.items()}).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def emomv_c_train(release_dir) -> dict[str, torch.Tensor]:
    return load_emomv_c_split(release_dir, "TRAIN")


@pytest.fixture(scope="session")
def emomv_c_val(release_dir) -> dict[str, torch.Tensor]:
    return load_emomv_c_split(release_dir, "VAL")
