"""Plots: non-empty PNG files, written atomically (no temporary file left behind)."""

from __future__ import annotations

import numpy as np
import pytest

from emomv_hf.emotions import EMOTIONS, MATCH_LABELS
from emomv_hf.metrics import emotion_confusion_matrix
from emomv_hf.metrics.plots import (
    plot_confusion_matrix,
    plot_precision_recall,
    plot_roc_curve,
    roc_curve_points,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, 60)
    scores = np.clip(0.5 + 0.3 * (labels - 0.5) + rng.normal(0, 0.2, 60), 0, 1)
    emotions = rng.integers(0, 5, 30)
    similarity = rng.normal(size=(30, 30)) + (emotions[:, None] == emotions[None, :])
    return labels, scores, emotions, similarity


def _assert_png_and_nothing_else(path, folder):
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in folder.iterdir()) == [path.name]


def test_roc_curve(tmp_path, data):
    labels, scores, *_ = data
    path = plot_roc_curve(labels, scores, tmp_path / "roc.png")
    _assert_png_and_nothing_else(path, tmp_path)


def test_confusion_matrices(tmp_path, data):
    labels, scores, emotions, _ = data
    predicted = (scores >= 0.5).astype(int)
    path = plot_confusion_matrix(labels, predicted, MATCH_LABELS, tmp_path / "match.png")
    _assert_png_and_nothing_else(path, tmp_path)
    path.unlink()
    path = plot_confusion_matrix(emotions, emotions[::-1], EMOTIONS, tmp_path / "emotion.png")
    _assert_png_and_nothing_else(path, tmp_path)
    with pytest.raises(ValueError, match="class indices"):
        plot_confusion_matrix([0, 5], [0, 1], EMOTIONS, tmp_path / "bad.png")


def test_precision_recall_overwrites_atomically(tmp_path, data):
    *_, emotions, similarity = data
    target = tmp_path / "sub" / "pr.png"
    first = plot_precision_recall(similarity, emotions, emotions, target, title="video to music")
    size = first.stat().st_size
    second = plot_precision_recall(similarity.T, emotions, emotions, target, title="music to video")
    assert first == second == target
    _assert_png_and_nothing_else(target, target.parent)
    assert size > 1000


def test_failed_write_leaves_no_temporary_file(tmp_path, data, monkeypatch):
    labels, scores, *_ = data
    from matplotlib.figure import Figure

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plot_roc_curve(labels, scores, tmp_path / "roc.png")
    assert list(tmp_path.iterdir()) == []


def test_roc_curve_points_hand_computed():
    # scores descending: 0.8 (pos), 0.5 (pos), 0.5 (neg), 0.2 (neg); the 0.5 block passes together
    fpr, tpr = roc_curve_points([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])


@pytest.mark.parametrize("seed", range(5))
def test_roc_curve_points_and_confusion_counts_agree_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 50)
    scores = rng.choice([0.1, 0.3, 0.5, 0.7, 0.9], 50) if seed % 2 else rng.random(50)  # ties on odd seeds
    fpr, tpr = roc_curve_points(labels, scores)
    # one point per threshold: above every score, then at each distinct score from the highest down
    thresholds = [np.inf, *sorted(set(scores.tolist()), reverse=True)]
    expected_fpr = [np.mean(scores[labels == 0] >= threshold) for threshold in thresholds]
    expected_tpr = [np.mean(scores[labels == 1] >= threshold) for threshold in thresholds]
    np.testing.assert_allclose(fpr, expected_fpr)
    np.testing.assert_allclose(tpr, expected_tpr)
    emotions, predicted = rng.integers(0, 5, 50), rng.integers(0, 6, 50)
    expected_counts = np.zeros((5, 5), dtype=int)
    for emotion, prediction in zip(emotions, predicted, strict=True):
        if prediction < 5:  # a prediction outside the classes counts nowhere
            expected_counts[emotion, prediction] += 1
    assert emotion_confusion_matrix(emotions, predicted, 5) == expected_counts.tolist()


def test_roc_curve_points_of_one_class_are_finite():
    # No negative: the false-positive rate is drawn as 0 (scikit-learn would give NaN).
    fpr, tpr = roc_curve_points([1, 1, 1], [0.2, 0.9, 0.6])
    np.testing.assert_array_equal(fpr, [0, 0, 0, 0])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 1])


def test_confusion_matrix_of_nothing_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="zero examples"):
        plot_confusion_matrix([], [], EMOTIONS, tmp_path / "empty.png")
    assert list(tmp_path.iterdir()) == []
