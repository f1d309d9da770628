"""The collator maps Hub-dataset columns onto the models' forward arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emomv_hf import EmoMVConfig, EmoMVForCorrespondence
from emomv_hf.data.collator import COLUMN_TO_ARGUMENT, EmoMVCollator, to_model_inputs


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


def test_mapping_is_the_documented_contract():
    assert COLUMN_TO_ARGUMENT == {
        "video_features": "video_features",
        "music_features": "music_features",
        "label": "labels",
        "video_emotion": "video_emotion_labels",
        "music_emotion": "music_emotion_labels",
    }


def test_to_model_inputs_column_major_formats():
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_list(_rows(4))
    expected = None
    for batch in (dataset[:], dataset.with_format("torch")[0:4], dataset.with_format("numpy")[:]):
        inputs = to_model_inputs(batch)
        assert set(inputs) == set(COLUMN_TO_ARGUMENT.values())
        assert inputs["video_features"].shape == (4, 2304) and inputs["video_features"].dtype == torch.float32
        assert inputs["music_features"].shape == (4, 128) and inputs["music_features"].dtype == torch.float32
        for name in ("labels", "video_emotion_labels", "music_emotion_labels"):
            assert inputs[name].shape == (4,) and inputs[name].dtype == torch.long
        if expected is None:
            expected = inputs
        for name, tensor in inputs.items():
            assert torch.equal(tensor, expected[name])
    output = EmoMVForCorrespondence(EmoMVConfig())(**to_model_inputs(dataset[:]))
    assert output.loss is not None and output.logits.shape == (4, 2)


def test_collator_on_rows_and_inference_batches():
    rows = _rows(3)
    inputs = EmoMVCollator()(rows)
    assert inputs["labels"].tolist() == [0, 1, 0]
    assert inputs["video_emotion_labels"].tolist() == [0, 1, 2]
    torch.testing.assert_close(inputs["music_features"][1], torch.tensor(rows[1]["music_features"]))
    unlabelled = [{k: v for k, v in row.items() if k in ("video_features", "music_features")} for row in rows]
    assert set(EmoMVCollator()(unlabelled)) == {"video_features", "music_features"}
    loader = torch.utils.data.DataLoader(rows, batch_size=2, collate_fn=EmoMVCollator())
    assert [batch["video_features"].shape[0] for batch in loader] == [2, 1]


def test_collator_errors():
    with pytest.raises(KeyError, match="music_features"):
        to_model_inputs({"video_features": [[0.0] * 2304]})
    with pytest.raises(ValueError, match="label"):
        to_model_inputs({"video_features": [[0.0] * 2304], "music_features": [[0.0] * 128], "label": [0.5]})
    with pytest.raises(ValueError, match="video_features"):
        to_model_inputs({"video_features": [0.0] * 2304, "music_features": [[0.0] * 128]})
    with pytest.raises(ValueError, match="empty"):
        EmoMVCollator()([])
