"""`--calibrate` fits the temperatures on the early-stopping pairs only, never on the reported split."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from emomv_hf.data.loading import load_emomv
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.training import EmoMVTrainingArguments, calibration, make_accelerator, run_training
from emomv_hf.training.protocols import protocol_splits


@pytest.mark.parametrize("protocol", ["cv", "held-out"])
def test_temperatures_are_fitted_on_the_stopping_pairs_only(emomv_c_dir, protocol, monkeypatch):
    seen: list[TensorPairs] = []
    fit = calibration.fit_temperatures

    def spy(model, data):
        seen.append(data)
        return fit(model, data)

    monkeypatch.setattr(calibration, "fit_temperatures", spy)
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir), protocol=protocol, seed=1, max_epochs=30, progress=False, plots=False
    )
    result = run_training(args, make_accelerator(args, cpu=True), save=False)
    splits = protocol_splits(load_emomv(str(emomv_c_dir), "pairs"), args)
    reported = (
        TensorPairs.from_dataset(splits.report_pairs)
        if splits.report_pairs is not None
        else TensorPairs.from_dataset(load_emomv(str(emomv_c_dir), "pairs")[splits.report_split])
    )
    assert len(seen) == 1
    # The run records its fold sizes (the corrected resampled t needs them): what the final model trained on
    # (cv: the whole outer training fold) and what it was reported on.
    final_training = splits.train if splits.refit is None else splits.refit
    assert (result.num_train_pairs, result.num_test_pairs) == (len(final_training), len(reported))
    assert result.eval_results()["num_test_pairs"] == len(reported)
    # Exactly the early-stopping pairs (video and music rows, in order), none of the reported split's.
    for name in ("video_features", "music_features", "labels"):
        assert torch.equal(seen[0].inputs[name], splits.stopping.inputs[name])
    seen_pairs = {
        (v, m)
        for v, m in zip(
            map(tuple, seen[0].inputs["video_features"].tolist()),
            map(tuple, seen[0].inputs["music_features"].tolist()),
            strict=True,
        )
    }
    reported_pairs = {
        (v, m)
        for v, m in zip(
            map(tuple, reported.inputs["video_features"].tolist()),
            map(tuple, reported.inputs["music_features"].tolist()),
            strict=True,
        )
    }
    assert not seen_pairs & reported_pairs
    config = result.model.config
    assert config.match_temperature != 1.0
    assert config.video_emotion_temperature != 1.0 and config.music_emotion_temperature != 1.0
    # --no-calibrate: same training, temperatures 1, same accuracy and AUC.
    plain = run_training(replace(args, calibrate=False), make_accelerator(args, cpu=True), save=False)
    assert plain.model.config.match_temperature == 1.0
    for metric in ("accuracy", "roc_auc", "f1"):
        assert plain.metrics[metric] == result.metrics[metric]


def test_paper_protocol_without_a_test_split_is_not_calibrated(emomv_c_dir):
    # EmoMV-C has no test split: the paper protocol stops on the validation split it reports on.
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir), protocol="paper", seed=0, max_epochs=5, progress=False, plots=False
    )
    with pytest.warns(UserWarning, match="early-stopping split .* is the reported split"):
        result = run_training(args, make_accelerator(args, cpu=True), save=False)
    assert result.model.config.match_temperature == 1.0
    assert {"ece", "brier"} <= set(result.metrics)
