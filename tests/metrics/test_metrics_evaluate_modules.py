"""The `evaluate` modules: loaded offline by path, they give exactly the plain functions' results."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import emomv_hf.metrics as metrics
from emomv_hf.metrics import (
    CORRESPONDENCE_METRIC_PATH,
    RETRIEVAL_METRIC_PATH,
    correspondence_metrics,
    load_metric,
    retrieval_metrics,
)
from emomv_hf.metrics.functional import retrieval_metrics_both_directions

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")


@pytest.fixture(scope="module")
def correspondence_case():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 50)
    scores = np.round(rng.random(50), 2)  # rounded: a few ties
    video = rng.integers(0, 5, 50)
    music = rng.integers(0, 5, 50)
    return labels, scores, video, rng.integers(0, 5, 50), music, rng.integers(0, 5, 50)


@pytest.fixture(scope="module")
def retrieval_case():
    rng = np.random.default_rng(4)
    similarity = np.round(rng.normal(size=(24, 24)), 1)  # rounded: ties
    return similarity, rng.integers(0, 5, 24), rng.integers(0, 5, 24)


def test_metric_paths_point_at_module_files_shipped_as_package_data():
    for path in (CORRESPONDENCE_METRIC_PATH, RETRIEVAL_METRIC_PATH):
        folder = Path(path)
        assert folder.is_absolute()
        assert (folder / f"{folder.name}.py").is_file()
        # pyproject ships "metrics/*/*.py" relative to the emomv_hf package
        package_dir = Path(metrics.__file__).resolve().parents[1]
        assert folder.relative_to(package_dir).match("metrics/*")
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    assert "metrics/*/*.py" in package_data["emomv_hf"]


def test_module_imports_are_one_per_line():
    for path in (CORRESPONDENCE_METRIC_PATH, RETRIEVAL_METRIC_PATH):
        source = (Path(path) / f"{Path(path).name}.py").read_text()
        for line in source.splitlines():
            if line.startswith(("import ", "from ")):
                assert "," not in line, line


def test_correspondence_module_equals_functional(correspondence_case):
    labels, scores, *_ = correspondence_case
    metric = load_metric("correspondence", keep_in_memory=True)
    got = metric.compute(references=labels.tolist(), prediction_scores=scores.tolist())
    assert got == correspondence_metrics(labels, scores)
    # hard predictions and a threshold are compute-time arguments
    predictions = (scores > 0.3).astype(int)
    got = metric.compute(references=labels, prediction_scores=scores, predictions=predictions)
    assert got == correspondence_metrics(labels, scores, predictions)
    got = metric.compute(references=labels, prediction_scores=scores, threshold=0.3)
    assert got == correspondence_metrics(labels, scores, threshold=0.3)


def test_correspondence_multitask_configuration_in_batches(correspondence_case):
    labels, scores, video, video_pred, music, music_pred = correspondence_case
    metric = load_metric("correspondence", config_name="multitask", keep_in_memory=True)
    for start in range(0, 50, 16):
        batch = slice(start, start + 16)
        metric.add_batch(
            references=labels[batch],
            prediction_scores=scores[batch],
            video_emotion_references=video[batch],
            video_emotion_predictions=video_pred[batch],
            music_emotion_references=music[batch],
            music_emotion_predictions=music_pred[batch],
        )
    expected = correspondence_metrics(
        labels,
        scores,
        video_emotion_labels=video,
        video_emotion_predictions=video_pred,
        music_emotion_labels=music,
        music_emotion_predictions=music_pred,
    )
    assert metric.compute() == expected
    assert "video_emotion_macro_f1" in expected
    with pytest.raises(ValueError, match="hard predictions"):
        metric.add_batch(references=[1], prediction_scores=[0.4], predictions=[1])


def test_correspondence_emotions_as_compute_kwargs(correspondence_case):
    labels, scores, video, video_pred, *_ = correspondence_case
    metric = load_metric("correspondence", keep_in_memory=True)
    got = metric.compute(
        references=labels,
        prediction_scores=scores,
        video_emotion_labels=video[:7],
        video_emotion_predictions=video_pred[:7],
    )
    assert got == correspondence_metrics(
        labels, scores, video_emotion_labels=video[:7], video_emotion_predictions=video_pred[:7]
    )


def test_retrieval_module_equals_functional(retrieval_case):
    similarity, video_labels, music_labels = retrieval_case
    metric = load_metric("retrieval", keep_in_memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = retrieval_metrics(similarity, video_labels, music_labels)
        got = metric.compute(
            predictions=similarity.tolist(), references=video_labels, gallery_labels=music_labels
        )
    assert got == expected
    counterpart = np.random.default_rng(5).permutation(24)
    got = metric.compute(
        predictions=similarity,
        references=video_labels,
        gallery_labels=music_labels,
        counterpart=counterpart,
        ks=[1, 10],
    )
    assert got == retrieval_metrics(
        similarity, video_labels, music_labels, counterpart=counterpart, ks=(1, 10)
    )


def test_retrieval_module_both_directions_in_batches(retrieval_case):
    similarity, video_labels, music_labels = retrieval_case
    metric = load_metric("retrieval", keep_in_memory=True)
    for start in range(0, 24, 10):
        metric.add_batch(
            predictions=similarity[start : start + 10], references=video_labels[start : start + 10]
        )
    got = metric.compute(gallery_labels=music_labels, both_directions=True)
    assert got == retrieval_metrics_both_directions(similarity, video_labels, music_labels)
    assert "music_to_video/map" in got
    with pytest.raises(ValueError, match="gallery_labels"):
        metric.compute(predictions=similarity, references=video_labels)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"predictions": [1]}, "same length"),
        ({"references": [2, 0]}, "0 \\(mismatched\\) or 1"),
        ({"predictions": [1, 2]}, "predictions must be 0"),
        ({"prediction_scores": [np.nan, 0.1]}, "finite"),
        ({"video_emotion_labels": [0, 1], "video_emotion_predictions": [0]}, "video_emotion_labels and"),
        ({"music_emotion_labels": [0, 1]}, "given together"),
    ],
)
def test_correspondence_module_refuses_bad_input_in_one_line(inputs, message):
    metric = load_metric("correspondence", keep_in_memory=True)
    with pytest.raises(ValueError, match=message):
        metric.compute(**{"references": [1, 0], "prediction_scores": [0.5, 0.5], **inputs})


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"predictions": [[np.nan, 0.0]]}, "finite"),
        ({"gallery_labels": [0, 1, 2]}, "2 scores but there are 3 gallery labels"),
        ({"counterpart": [5]}, "counterpart indices"),
        ({"counterpart": [0, 1]}, "one entry per query"),
        ({"counterpart": [0.5]}, "whole numbers"),
        ({"both_directions": True, "music_counterpart": [0, 3]}, "music_counterpart indices"),
        ({"ks": (0,)}, "ks must be positive"),
        ({"recall_ks": (0, 5)}, "recall_ks must be positive"),  # recall@0 was reported as 0
    ],
)
def test_retrieval_module_refuses_bad_input_in_one_line(inputs, message):
    metric = load_metric("retrieval", keep_in_memory=True)
    with pytest.raises(ValueError, match=message):
        metric.compute(**{"predictions": [[0.1, 0.2]], "references": [0], "gallery_labels": [0, 1], **inputs})


def test_evaluate_load_by_path_and_unknown_name():
    import evaluate

    metric = evaluate.load(RETRIEVAL_METRIC_PATH, keep_in_memory=True)
    assert "Herremans" in metric.citation
    assert (
        metric.compute(predictions=[[0.9, 0.1], [0.2, 0.8]], references=[0, 1], gallery_labels=[0, 1])["map"]
        == 1.0
    )
    with pytest.raises(ValueError, match="unknown metric"):
        load_metric("bleu")


def test_offline_in_a_fresh_process(tmp_path):
    """A fresh interpreter, offline, with empty caches and another working directory."""
    script = textwrap.dedent(
        """
        import json
        import numpy as np
        from emomv_hf.metrics import load_metric
        labels = [1, 1, 1, 0, 0, 0]
        scores = [0.9, 0.6, 0.3, 0.7, 0.2, 0.1]
        corr = load_metric("correspondence").compute(references=labels, prediction_scores=scores)
        retr = load_metric("retrieval").compute(
            predictions=[[0.9, 0.8, 0.1, 0.7, 0.5], [0.6, 0.2, 0.9, 0.3, 0.8]],
            references=[0, 1],
            gallery_labels=[0, 1, 0, 2, 0],
            counterpart=[0, 1],
        )
        print(json.dumps({"correspondence": corr, "retrieval": retr}))
        """
    )
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "HF_METRICS_CACHE": str(tmp_path / "metrics"),
        # the package may not be installed in the test environment: make it importable from the checkout
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert results["correspondence"] == pytest.approx({"accuracy": 2 / 3, "f1": 2 / 3, "roc_auc": 7 / 9})
    assert results["retrieval"]["map"] == pytest.approx(0.45)
    assert results["retrieval"]["median_rank"] == 3.0
    assert not math.isnan(results["retrieval"]["top1_accuracy"])
