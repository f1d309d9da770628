"""--task tagging: argument checks, a short training run on EmoMV-C through run_training, and its outputs."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import safetensors.torch
import torch
from transformers import AutoModel

from emomv_hf import EmoMVForEmotionTagging
from emomv_hf.data.loading import load_emomv
from emomv_hf.data.schema import segments_from_pairs
from emomv_hf.data.tensors import TAGGING_COLUMN_TO_ARGUMENT, TensorPairs
from emomv_hf.evaluation import EmoMVEvaluationArguments, evaluate, run_evaluation
from emomv_hf.metrics import emotion_confusion_matrix, tagging_metrics
from emomv_hf.paper_results import TAGGING_METRICS
from emomv_hf.training import EmoMVTrainingArguments, run_training


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protocol": "paper"}, "--protocol held-out"),
        ({"protocol": "cv"}, "--protocol held-out"),
        ({"protocol": "held-out", "model": "baseline"}, "--model emomv"),
        ({"protocol": "held-out", "single_task": True}, "no --single-task"),
        ({"protocol": "held-out", "ensemble_size": 2}, "--ensemble-size 1"),
        ({"protocol": "held-out", "stopping_loss": "match"}, "--stopping-loss total"),
        ({"protocol": "held-out", "config_overrides": "hiden_size=8"}, "EmoMVTaggingConfig: key hiden_size"),
    ],
)
def test_tagging_arguments_are_checked(changes, message):
    with pytest.raises(ValueError, match=message):
        EmoMVTrainingArguments(task="tagging", **changes)
    with pytest.raises(ValueError, match="--projections-from needs --task tagging"):
        EmoMVTrainingArguments(protocol="held-out", projections_from="outputs/correspondence")


def _short_run(emomv_c_dir, task: str, **changes) -> EmoMVTrainingArguments:
    settings = {"learning_rate": 5e-4, "batch_size": 30, "max_epochs": 3, "patience": 3, **changes}
    return EmoMVTrainingArguments(
        dataset=str(emomv_c_dir), task=task, protocol="held-out", progress=False, plots=False, **settings
    )


def test_projections_from_a_correspondence_model_are_copied_and_stay_fixed(emomv_c_dir, tmp_path):
    source_dir = tmp_path / "correspondence"
    source = run_training(_short_run(emomv_c_dir, "correspondence", output_dir=str(source_dir))).model
    args = _short_run(emomv_c_dir, "tagging", projections_from=str(source_dir))
    untrained = run_training(replace(args, max_epochs=1, learning_rate=1e-12), save=False).model
    result = run_training(args, save=False)
    tagger = result.model
    for stream in ("video", "music"):
        reduction = getattr(source, f"{stream}_encoder").reduction
        assert torch.equal(tagger.projections[stream].weight, reduction.weight)
        assert torch.equal(tagger.projections[stream].bias, reduction.bias)
        for statistic in ("mean", "std"):
            name = f"{stream}_{statistic}"
            assert torch.equal(getattr(tagger.standardizer, name), getattr(source.standardizer, name))
    # Only the encoder and the classifier trained, and the loss went down.
    assert not torch.equal(tagger.classifier.weight, untrained.classifier.weight)
    assert result.outcome.best_stopping_loss is not None and result.outcome.epochs_run == 3
    # The tagger's projected standardised video equals the source's reduced standardised video.
    validation = segments_from_pairs(load_emomv(str(emomv_c_dir))["validation"])
    video = TensorPairs.from_dataset(validation, column_to_argument=TAGGING_COLUMN_TO_ARGUMENT).inputs[
        "video_features"
    ]
    with torch.no_grad():
        expected = source.video_encoder.reduction(source.standardizer(video, "video"))
        assert torch.equal(tagger.projections["video"](tagger.standardizer(video, "video")), expected)


def test_projections_from_a_model_that_saw_the_reported_split_are_refused(emomv_c_dir, tmp_path):
    paper_dir = tmp_path / "paper-protocol"
    run_training(
        replace(_short_run(emomv_c_dir, "correspondence", output_dir=str(paper_dir)), protocol="paper")
    )
    with pytest.raises(ValueError, match="with --protocol paper, which sees the validation split"):
        run_training(_short_run(emomv_c_dir, "tagging", projections_from=str(paper_dir)), save=False)
    # The dataset recorded by that run is compared as a folder, whichever way its path is spelt.
    from pathlib import Path

    from emomv_hf.evaluation import same_dataset

    assert same_dataset("~/datasets/emomv-c", str(Path.home() / "datasets" / "emomv-c"))
    assert same_dataset(str(emomv_c_dir), str(emomv_c_dir / ".." / emomv_c_dir.name))
    assert not same_dataset("emomv/emomv-c", str(emomv_c_dir)) and not same_dataset(None, str(emomv_c_dir))

    held_out_dir = tmp_path / "held-out"
    run_training(_short_run(emomv_c_dir, "correspondence", output_dir=str(held_out_dir), max_epochs=1))
    narrow = _short_run(
        emomv_c_dir, "tagging", projections_from=str(held_out_dir), config_overrides="hidden_size=32"
    )
    with pytest.raises(ValueError, match="set the tagger's `hidden_size` to the source's `reduced_size`"):
        run_training(narrow, save=False)

    # A source folder is loaded as --model folders are: NaN weights (a damaged copy) are refused, not copied.
    weights = held_out_dir / "model.safetensors"
    tensors = safetensors.torch.load_file(weights)
    tensors["video_encoder.reduction.weight"][0, 0] = float("nan")
    safetensors.torch.save_file(tensors, weights, metadata={"format": "pt"})
    with pytest.raises(ValueError, match=rf"--projections-from {held_out_dir}: .*NaN"):
        run_training(_short_run(emomv_c_dir, "tagging", projections_from=str(held_out_dir)), save=False)

    tagger_dir = tmp_path / "tagger"
    run_training(_short_run(emomv_c_dir, "tagging", output_dir=str(tagger_dir), max_epochs=1))
    with pytest.raises(ValueError, match="no `<stream>_encoder.reduction` layer"):
        run_training(_short_run(emomv_c_dir, "tagging", projections_from=str(tagger_dir)), save=False)


def test_tagging_metrics_match_scikit_learn():
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 60)
    probabilities = rng.dirichlet(np.ones(5), 60)
    metrics = tagging_metrics("video", labels, probabilities)
    assert metrics["video_emotion_accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == labels))
    assert metrics["video_emotion_macro_f1"] == pytest.approx(
        f1_score(labels, probabilities.argmax(1), average="macro")
    )
    assert metrics["video_emotion_roc_auc"] == pytest.approx(
        roc_auc_score(labels, probabilities, multi_class="ovr")
    )
    # A sixth (neutral) column that no label has: the AUC is over the classes present.
    with_neutral = np.concatenate([probabilities * 0.9, np.full((60, 1), 0.1)], axis=1)
    assert tagging_metrics("joint", labels, with_neutral)["joint_emotion_roc_auc"] == pytest.approx(
        metrics["video_emotion_roc_auc"]
    )
    matrix = emotion_confusion_matrix(labels, with_neutral.argmax(1), 6)
    assert np.array(matrix).shape == (6, 6) and np.array(matrix).sum() == 60
    with pytest.warns(RuntimeWarning, match="one class only"):
        assert np.isnan(
            tagging_metrics("music", [2, 2], [[0.1, 0.1, 0.6, 0.1, 0.1]] * 2)["music_emotion_roc_auc"]
        )
    with pytest.raises(ValueError, match="must be in 0..4"):
        tagging_metrics("music", [5], [[0.2] * 5])


def test_a_short_tagging_run_on_emomv_c(emomv_c_dir, tmp_path):
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        task="tagging",
        protocol="held-out",
        output_dir=str(tmp_path / "tagger"),
        learning_rate=5e-4,
        batch_size=30,
        max_epochs=4,
        patience=2,
        progress=False,
    )
    result = run_training(args)
    assert isinstance(result.model, EmoMVForEmotionTagging)
    assert set(TAGGING_METRICS) <= set(result.metrics)
    assert all(0.0 <= result.metrics[name] <= 1.0 for name in TAGGING_METRICS)
    assert (
        result.report.eval_split == "pairs/validation" and "grouped held-out slice" in result.stopping_split
    )
    assert result.outcome.epochs_run <= 4 and result.outcome.best_stopping_loss is not None

    output = tmp_path / "tagger"
    results = json.loads((output / "eval_results.json").read_text())
    for mode in ("video", "music", "joint"):
        matrix = np.array(results[f"eval_{mode}_emotion_confusion_matrix"])
        assert matrix.shape == (5, 5) and matrix.sum() == 96  # the 96 validation segments
        assert (output / f"confusion_matrix_{mode}_emotion.png").is_file()
    assert results["eval_class_names"] == ["exciting", "fearful", "tense", "sad", "relaxing"]
    assert "emotion tagging" in (output / "README.md").read_text()

    # The saved tagger reloads with AutoModel and evaluates to the same numbers.
    loaded = AutoModel.from_pretrained(output)
    assert type(loaded) is EmoMVForEmotionTagging
    validation = segments_from_pairs(load_emomv(str(emomv_c_dir))["validation"])
    again = evaluate(loaded, validation)
    assert again.metrics == pytest.approx(result.metrics)
    data = TensorPairs.from_dataset(validation, column_to_argument=TAGGING_COLUMN_TO_ARGUMENT)
    with torch.no_grad():
        assert torch.equal(
            loaded(video_features=data.inputs["video_features"]).logits,
            result.model(video_features=data.inputs["video_features"]).logits,
        )
    # examples/evaluate.py's path: the same numbers, and the table of the tagger's metrics.
    markdown = run_evaluation(
        EmoMVEvaluationArguments(
            model=str(output), dataset=str(emomv_c_dir), output_dir=str(tmp_path / "evaluation"), plots=False
        )
    )
    evaluated = json.loads((tmp_path / "evaluation" / "eval_results.json").read_text())
    assert evaluated["eval_split"] == "pairs/validation" and "Video + music emotion accuracy (%)" in markdown
    assert evaluated["eval_joint_emotion_accuracy"] == pytest.approx(result.metrics["joint_emotion_accuracy"])


def test_balanced_tagging_run_fits_class_weights_on_the_fitted_segments(emomv_c_dir):
    from emomv_hf.training.protocols import grouped_holdout_indices

    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        task="tagging",
        protocol="held-out",
        batch_size=30,
        max_epochs=1,
        patience=1,
        progress=False,
        config_overrides="class_weighting=balanced",
    )
    result = run_training(args, save=False)
    segments = segments_from_pairs(load_emomv(str(emomv_c_dir), "pairs")["train"])
    ids = segments["segment_id"]
    fit_rows, _ = grouped_holdout_indices(ids, ids, args.held_out_fraction, args.seed)
    counts = np.bincount(np.asarray(segments["emotion"])[fit_rows], minlength=5)
    assert result.model.config.class_weights == pytest.approx(list(len(fit_rows) / (5 * counts)), rel=1e-5)


def test_stopping_on_error_is_one_minus_the_mean_single_stream_accuracy():
    from emomv_hf import EmoMVTaggingConfig
    from emomv_hf.data.tensors import TensorPairs
    from emomv_hf.training.loop import stopping_loss

    torch.manual_seed(0)
    model = EmoMVForEmotionTagging(EmoMVTaggingConfig()).eval()
    video, music, labels = torch.randn(40, 2304), torch.randn(40, 128), torch.randint(0, 5, (40,))
    data = TensorPairs({"video_features": video, "music_features": music, "labels": labels})
    with torch.no_grad():
        video_accuracy = (model(video_features=video).logits.argmax(-1) == labels).float().mean()
        music_accuracy = (model(music_features=music).logits.argmax(-1) == labels).float().mean()
    expected = 1.0 - float(video_accuracy + music_accuracy) / 2
    assert stopping_loss(model, data, "error", batch_size=7) == pytest.approx(expected)
    assert EmoMVTrainingArguments(task="tagging", protocol="held-out", stopping_loss="error").stopping_loss
    with pytest.raises(ValueError, match="--stopping-loss error needs --task tagging"):
        EmoMVTrainingArguments(protocol="held-out", stopping_loss="error")
