"""Correspondence metrics: hand-computed cases and agreement with brute-force definitions written here.

The metrics call scikit-learn, so they are checked against independent computations (loops over the pairs),
not against scikit-learn itself.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emomv_hf.metrics import correspondence_metrics


def test_hand_computed_case():
    labels = [1, 1, 1, 0, 0, 0]
    scores = [0.9, 0.6, 0.3, 0.7, 0.2, 0.1]
    # predictions (score >= 0.5): [1, 1, 0, 1, 0, 0] -> TP 2, FN 1, FP 1, TN 2
    # accuracy = (2 + 2) / 6 = 2/3; F1 = 2*2 / (2*2 + 1 + 1) = 2/3
    # AUC: positive > negative pairs: 0.9 beats 3, 0.6 beats 2 (0.2, 0.1), 0.3 beats 2 -> 7 / 9
    results = correspondence_metrics(labels, scores)
    assert results == pytest.approx({"accuracy": 2 / 3, "f1": 2 / 3, "roc_auc": 7 / 9})
    assert set(results) == {"accuracy", "f1", "roc_auc"}
    assert all(type(value) is float for value in results.values())


def test_tied_scores_count_half_in_auc_and_threshold_is_inclusive():
    # pairs (pos, neg): (0.8, 0.5) 1, (0.8, 0.2) 1, (0.5, 0.5) 1/2, (0.5, 0.2) 1 -> 3.5 / 4
    results = correspondence_metrics([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2])
    assert results["roc_auc"] == pytest.approx(0.875)
    # 0.5 >= 0.5 is "matched": predictions [1, 1, 1, 0] -> 3 correct of 4; F1 = 2*2 / (4 + 1 + 0) = 0.8
    assert results["accuracy"] == pytest.approx(0.75)
    assert results["f1"] == pytest.approx(0.8)
    # a constant score carries no information: AUC exactly 0.5
    assert correspondence_metrics([1, 0, 1, 0], [0.3] * 4)["roc_auc"] == 0.5


def test_explicit_predictions_override_the_threshold():
    results = correspondence_metrics([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6], predictions=[1, 0, 1, 0])
    assert results["accuracy"] == 1.0 and results["f1"] == 1.0
    assert results["roc_auc"] == pytest.approx(0.75)  # 3 of the 4 (pos, neg) pairs ordered correctly
    assert correspondence_metrics([1, 0], [0.6, 0.4], threshold=0.7)["accuracy"] == 0.5


def test_single_class_roc_auc_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="only one class"):
        results = correspondence_metrics([1, 1, 1], [0.2, 0.9, 0.6])
    assert math.isnan(results["roc_auc"])
    assert results["accuracy"] == pytest.approx(2 / 3)  # predictions [0, 1, 1]
    assert results["f1"] == pytest.approx(0.8)  # 2*2 / (2*2 + 0 + 1)


def test_f1_without_any_positive_is_zero_with_warning():
    with (
        pytest.warns(RuntimeWarning, match="F1 is undefined"),
        pytest.warns(RuntimeWarning, match="one class"),
    ):
        results = correspondence_metrics([0, 0], [0.1, 0.2])
    assert results["f1"] == 0.0 and results["accuracy"] == 1.0


def test_emotion_metrics_hand_computed():
    # labels [0, 0, 1, 2], predictions [0, 1, 1, 1]; accuracy 2/4
    # class 0: TP 1, FP 0, FN 1 -> 2/3; class 1: TP 1, FP 2, FN 0 -> 2/4; class 2: TP 0, FN 1 -> 0
    # macro F1 = (2/3 + 1/2 + 0) / 3 = 7/18 (classes 3, 4 appear nowhere and are not averaged)
    results = correspondence_metrics(
        [1, 0],
        [0.9, 0.1],
        video_emotion_labels=[0, 0, 1, 2],
        video_emotion_predictions=[0, 1, 1, 1],
        music_emotion_labels=[4, 3],
        music_emotion_predictions=[4, 3],
    )
    assert results["video_emotion_accuracy"] == pytest.approx(0.5)
    assert results["video_emotion_macro_f1"] == pytest.approx(7 / 18)
    assert results["music_emotion_accuracy"] == 1.0
    assert results["music_emotion_macro_f1"] == 1.0
    with pytest.raises(ValueError, match="together"):
        correspondence_metrics([1, 0], [0.9, 0.1], video_emotion_labels=[0, 1])


def test_accepts_torch_tensors_and_lists_alike():
    torch = pytest.importorskip("torch")
    labels = [1, 0, 1, 0, 1]
    scores = [0.9, 0.3, 0.45, 0.55, 0.7]
    expected = correspondence_metrics(np.array(labels), np.array(scores))
    got = correspondence_metrics(torch.tensor(labels), torch.tensor(scores, dtype=torch.float64))
    assert got == expected
    assert correspondence_metrics(labels, scores) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]) | st.floats(0, 1)
        ),
        min_size=2,
        max_size=40,
    )
)
def test_agrees_with_brute_force_definitions(pairs):
    labels = [label for label, _ in pairs]
    scores = [score for _, score in pairs]
    true_positives = sum(label == 1 and score >= 0.5 for label, score in pairs)
    errors = sum(label != int(score >= 0.5) for label, score in pairs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = correspondence_metrics(np.array(labels), np.array(scores))
    assert results["accuracy"] == pytest.approx(1 - errors / len(labels))
    # F1 = 2TP / (2TP + FP + FN); FP + FN are the errors; 0 when there is no matched pair anywhere
    assert results["f1"] == pytest.approx(2 * true_positives / (2 * true_positives + errors or 1))
    # AUC = fraction of (matched, mismatched) pairs ordered right, a tie counting one half
    positives = [score for label, score in pairs if label == 1]
    negatives = [score for label, score in pairs if label == 0]
    if positives and negatives:
        right = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
        assert results["roc_auc"] == pytest.approx(right / (len(positives) * len(negatives)))
    else:
        assert math.isnan(results["roc_auc"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=30))
def test_emotion_macro_f1_agrees_with_brute_force(pairs):
    labels = [label for label, _ in pairs]
    predictions = [prediction for _, prediction in pairs]
    results = correspondence_metrics(
        [1, 0], [0.9, 0.1], video_emotion_labels=labels, video_emotion_predictions=predictions
    )
    seen = set(labels) | set(predictions)  # classes neither true nor predicted are not averaged
    f1s = []
    for c in seen:
        true_positives = sum(label == c and prediction == c for label, prediction in pairs)
        denominator = labels.count(c) + predictions.count(c)  # 2TP + FP + FN
        f1s.append(2 * true_positives / denominator)
    correct = sum(label == prediction for label, prediction in pairs)
    assert results["video_emotion_accuracy"] == pytest.approx(correct / len(pairs))
    assert results["video_emotion_macro_f1"] == pytest.approx(sum(f1s) / len(f1s))
