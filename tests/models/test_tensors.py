"""`TensorPairs.from_dataset` maps Hub-dataset columns onto the models' forward arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emomv_hf import EmoMVConfig, EmoMVForCorrespondence
from emomv_hf.data.tensors import PAIR_COLUMN_TO_ARGUMENT, TensorPairs


def _rows(n: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    return [
        {
            "pair_id": f"p{i}",
            "video_segment_id": f"v{i}",
            "music_segment_id": f"m{i}",
            "label": i % 2,
            "video_emotion": i % 5,
            "music_emotion": (i + 1) % 5,
            "video_features": rng.random(2304, dtype=np.float32).tolist(),
            "music_features": rng.random(128, dtype=np.float32).tolist(),
        }
        for i in range(n)
    ]


def test_from_dataset_maps_pair_columns_onto_forward_arguments():
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_list(_rows(4))
    inputs = TensorPairs.from_dataset(dataset).inputs
    assert (
        set(inputs)
        == set(PAIR_COLUMN_TO_ARGUMENT.values())
        == {
            "video_features",
            "music_features",
            "labels",
            "video_emotion_labels",
            "music_emotion_labels",
        }
    )
    assert inputs["video_features"].shape == (4, 2304) and inputs["video_features"].dtype == torch.float32
    assert inputs["music_features"].shape == (4, 128) and inputs["music_features"].dtype == torch.float32
    for name in ("labels", "video_emotion_labels", "music_emotion_labels"):
        assert inputs[name].shape == (4,) and inputs[name].dtype == torch.long
    assert inputs["labels"].tolist() == dataset["label"]
    output = EmoMVForCorrespondence(EmoMVConfig())(**inputs)
    assert output.loss is not None and output.logits.shape == (4, 2)
    # Inference rows (no label columns) give the features alone.
    features_only = TensorPairs.from_dataset(
        dataset.remove_columns(["label", "video_emotion", "music_emotion"])
    )
    assert set(features_only.inputs) == {"video_features", "music_features"}
