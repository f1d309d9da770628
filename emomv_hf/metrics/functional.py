"""The EmoMV metrics as plain functions (the one place where the maths lives).

Correspondence classification (paper section 6.1): accuracy, F1 of the *matched* class (label 1) and
ROC-AUC of P(matched), plus per-stream emotion accuracy and macro-F1 for the multi-task models.

Retrieval (paper section 6.2.1, eqs. 4-6): a query is a video (or a music segment); every item of the
gallery (the other modality) is ranked by similarity, higher = better, the query's own counterpart
included. An item is *relevant* when it has the query's emotion label.

* ``topK_accuracy``: fraction of queries with at least one relevant item among the first K.
* ``map``: mean over queries of AP, where AP = (1/R) * sum over the R relevant items of the precision
  at that item's rank (eq. 5-6: ``r(j) / j``, ``r(j)`` = relevant items up to rank ``j``).
* ``recall@K`` and ``median_rank``: instance-level metrics of the query's true counterpart (the music of
  the same source segment), reported by peers: the fraction of queries whose counterpart is among the
  first K, and the median 1-based rank of the counterpart.

Ties (deterministic and pessimistic, so that a constant-score model never looks good):

* top-K accuracy and mAP: within a block of equal scores, every irrelevant item ranks before every
  relevant one;
* recall@K and median rank: the counterpart ranks after every item whose score equals its own, i.e.
  its rank is the number of gallery items scoring at least as high as it.

A NaN score ranks after every other score, tied with the other NaNs, so a model with NaN outputs scores like a
constant one.

Queries without any relevant gallery item have no defined AP: they are left out of ``map`` and of
``topK_accuracy`` (with a :class:`RuntimeWarning` naming how many); they still count for the
counterpart metrics. If no query has a relevant item, ``map`` and ``topK_accuracy`` are NaN.

The functions take the arrays the package computed (numpy arrays or lists) and trust them: raw user input
is checked where it enters, in the `evaluate` modules. The ``*_metrics`` functions return a ``dict`` of plain
Python floats (JSON-serialisable). The classification metrics are scikit-learn's, imported inside the
functions that use them: its import costs about 0.4 s, which importing the package does not pay.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_KS: tuple[int, ...] = (1, 3, 5)
"""Cut-offs of the top-K retrieval accuracy reported in the paper (Tables 10-13)."""

DEFAULT_RECALL_KS: tuple[int, ...] = (1, 5, 10)
"""Cut-offs of the instance-level Recall@K of the true counterpart."""

MATCH_THRESHOLD = 0.5
"""P(matched) at or above which a pair is predicted matched (see :func:`predict_matched`)."""

# Rows of the (Nq, Ng) similarity matrix are processed in chunks of about this many elements, so that a
# 5000 x 5000 evaluation needs tens of megabytes of scratch memory rather than gigabytes.
_CHUNK_ELEMENTS = 2_000_000


# --------------------------------------------------------------------------------------------------
# Classification (scikit-learn) and calibration
# --------------------------------------------------------------------------------------------------


def predict_matched(match_scores: Any, threshold: float = MATCH_THRESHOLD) -> np.ndarray:
    """The package's one rule from P(matched) to a predicted class: ``(N,)`` scores → ``(N,)`` int64, 1 (matched)
    where ``score >= threshold``. A tie (equal logits, P(matched) = 0.5) is matched. The rule reads the score,
    not the logits, so that it gives the same class again from a saved score (the `evaluate` module, a run's
    recorded P(matched)), also where float32 rounds a near tie to 0.5."""
    return (np.asarray(match_scores) >= threshold).astype(np.int64)


def emotion_metrics(prefix: str, labels: Any, predictions: Any) -> dict[str, float]:
    """Accuracy and macro-F1 of one stream's emotion predictions, keyed ``{prefix}_emotion_accuracy`` etc.

    Args:
        labels, predictions: ``(N,)`` true and predicted class indices, given together (or both ``None``:
            no metrics).
    """
    if labels is None and predictions is None:
        return {}
    if labels is None or predictions is None:
        raise ValueError(f"{prefix}_emotion_labels and {prefix}_emotion_predictions must be given together")
    from sklearn.metrics import accuracy_score, f1_score

    return {
        f"{prefix}_emotion_accuracy": float(accuracy_score(labels, predictions)),
        # Macro over the classes seen in labels or predictions (scikit-learn's default), so an emotion absent
        # from a small split and never predicted does not count as an F1 of 0.
        f"{prefix}_emotion_macro_f1": float(f1_score(labels, predictions, average="macro")),
    }


def emotion_confusion_matrix(labels: Any, predictions: Any, num_classes: int) -> list[list[int]]:
    """``num_classes`` x ``num_classes`` counts, rows = true class, columns = predicted class; pairs with a
    class outside ``0..num_classes - 1`` are left out."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(labels, predictions, labels=np.arange(num_classes)).tolist()


def tagging_metrics(prefix: str, labels: Any, probabilities: Any) -> dict[str, float]:
    """Accuracy, macro-F1 (:func:`emotion_metrics`) and one-vs-rest macro ROC-AUC of an emotion tagger's
    predictions from one input (``prefix``: ``video``, ``music`` or ``joint``).

    Args:
        labels: ``(N,)`` true class indices.
        probabilities: ``(N, C)`` predicted class probabilities (the prediction is their argmax).

    Returns:
        ``{prefix}_emotion_accuracy``, ``{prefix}_emotion_macro_f1``, ``{prefix}_emotion_roc_auc``: the AUC is
        the mean over the classes present in ``labels`` of the ROC-AUC of that class's column against the rest
        (scikit-learn's one-vs-rest macro AUC, restricted to present classes so that a column no label has,
        such as a neutral class, is tolerated); NaN with a warning when ``labels`` hold one class only.
    """
    from sklearn.metrics import roc_auc_score

    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    # Labels without a probability column mean that the model and the dataset disagree on the classes.
    if labels.min() < 0 or labels.max() >= probabilities.shape[1]:
        raise ValueError(f"{prefix}_emotion_labels must be in 0..{probabilities.shape[1] - 1}")
    results = emotion_metrics(prefix, labels, probabilities.argmax(axis=-1))
    present = np.unique(labels)
    if len(present) < 2:
        warnings.warn(
            f"{prefix} emotion ROC-AUC is undefined when the labels hold one class only; reporting NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        results[f"{prefix}_emotion_roc_auc"] = float("nan")
    else:
        results[f"{prefix}_emotion_roc_auc"] = float(
            np.mean([roc_auc_score(labels == c, probabilities[:, c]) for c in present])
        )
    return results


def correspondence_metrics(
    labels: Any,
    match_scores: Any,
    predictions: Any = None,
    *,
    video_emotion_labels: Any = None,
    video_emotion_predictions: Any = None,
    music_emotion_labels: Any = None,
    music_emotion_predictions: Any = None,
    threshold: float = MATCH_THRESHOLD,
) -> dict[str, float]:
    """Metrics of the binary matched / mismatched classification (paper Tables 8-9, 12).

    Args:
        labels: ``(N,)`` ground truth, 1 = matched, 0 = mismatched.
        match_scores: ``(N,)`` P(matched) (or any score increasing with it); used for ``roc_auc``.
        predictions: ``(N,)`` hard 0/1 predictions; default :func:`predict_matched` (``match_scores >= threshold``).
        video_emotion_labels, video_emotion_predictions: optional ``(M,)`` emotion class indices of the
            video stream (multi-task models), given together.
        music_emotion_labels, music_emotion_predictions: the same for the music stream.
        threshold: decision threshold used when ``predictions`` is not given.

    Returns:
        ``accuracy``, ``f1`` (of the matched class; 0.0 with a warning when neither labels nor predictions
        hold a matched pair), ``roc_auc`` (a tie counts one half; NaN with a warning when the labels hold one
        class only), and ``{video,music}_emotion_{accuracy,macro_f1}`` when emotion inputs are given. All are
        fractions in [0, 1] as plain floats.
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    labels, match_scores = np.asarray(labels), np.asarray(match_scores)
    predictions = predict_matched(match_scores, threshold) if predictions is None else np.asarray(predictions)
    results = {"accuracy": float(accuracy_score(labels, predictions))}
    if np.any(labels == 1) or np.any(predictions == 1):
        results["f1"] = float(f1_score(labels, predictions, pos_label=1))
    else:
        warnings.warn(
            "F1 is undefined: there is no matched pair in the labels or in the predictions; reporting 0.0",
            RuntimeWarning,
            stacklevel=2,
        )
        results["f1"] = 0.0
    num_matched = int(np.sum(labels == 1))
    if 0 < num_matched < len(labels):
        results["roc_auc"] = float(roc_auc_score(labels, match_scores))
    else:
        warnings.warn(
            "ROC-AUC is undefined when only one class is present in the labels "
            f"(all {'matched' if num_matched else 'mismatched'}); reporting NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        results["roc_auc"] = float("nan")
    results.update(emotion_metrics("video", video_emotion_labels, video_emotion_predictions))
    results.update(emotion_metrics("music", music_emotion_labels, music_emotion_predictions))
    return results


def expected_calibration_error(labels: Any, probabilities: Any, num_bins: int = 10) -> float:
    """Expected calibration error: the predicted class's confidence in ``num_bins`` equal-width bins of [0, 1]
    (right-closed, as ``sklearn.calibration.calibration_curve``), ``sum_b |B_b| / N * |accuracy_b -
    mean confidence_b|``.

    Args:
        labels: ``(N,)`` class indices.
        probabilities: ``(N,)`` P(class 1) of a binary classifier (the confidence is then the larger of the two
            probabilities, as for the correspondence model's P(matched)), or ``(N, C)`` class probabilities.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 1:  # P(class 1): predicted as everywhere else (a tie at 0.5 is class 1)
        confidence, predicted = np.maximum(probabilities, 1.0 - probabilities), predict_matched(probabilities)
    else:
        confidence, predicted = probabilities.max(axis=1), probabilities.argmax(axis=1)
    correct = (predicted == np.asarray(labels)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    bins = np.searchsorted(edges[1:-1], confidence, side="left")
    counts = np.bincount(bins, minlength=num_bins)
    gaps = np.abs(
        np.bincount(bins, weights=correct, minlength=num_bins)
        - np.bincount(bins, weights=confidence, minlength=num_bins)
    )
    return float(gaps.sum() / max(counts.sum(), 1))


def brier_score(labels: Any, probabilities: Any) -> float:
    """Brier score: binary (``probabilities`` ``(N,)`` P(class 1)): mean ``(p - y)^2`` (scikit-learn's
    ``brier_score_loss``); multi-class (``(N, C)``): the mean over rows of the sum over classes of
    ``(p_c - [y = c])^2``."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 1:
        from sklearn.metrics import brier_score_loss

        return float(brier_score_loss(labels, probabilities, pos_label=1))
    # By hand: scikit-learn's multi-class form (same value) warns on float32 softmax rows, whose sums miss 1.
    one_hot = np.eye(probabilities.shape[1])[labels]
    return float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1)))


def calibration_metrics(prefix: str, labels: Any, probabilities: Any) -> dict[str, float]:
    """``{prefix}ece`` and ``{prefix}brier`` (see [`expected_calibration_error`], [`brier_score`])."""
    return {
        f"{prefix}ece": expected_calibration_error(labels, probabilities),
        f"{prefix}brier": brier_score(labels, probabilities),
    }


# --------------------------------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------------------------------


def _retrieval_inputs(similarity: Any, query_labels: Any, gallery_labels: Any):
    """``(Nq, Ng)`` float64 scores (ranked row by row, so C-contiguous) and the two label arrays."""
    scores = np.ascontiguousarray(similarity, dtype=np.float64)
    # A NaN (a model whose outputs are not finite) ranks last, tied with every other NaN: as pessimistic as ties.
    return np.where(np.isnan(scores), -np.inf, scores), np.asarray(query_labels), np.asarray(gallery_labels)


def _ranked_chunks(scores: np.ndarray, queries: np.ndarray, gallery: np.ndarray):
    """Per chunk of rows: ``(rows, block, ranked, r)``: the rows' scores, the relevance flags of each row in ranked
    order (score descending, irrelevant first within a tie) and their cumulative sum ``r(j)``, the relevant items
    up to rank j."""
    step = max(1, _CHUNK_ELEMENTS // max(1, scores.shape[1]))
    for rows in (slice(start, start + step) for start in range(0, len(scores), step)):
        relevant = queries[rows, None] == gallery[None, :]
        block = scores[rows]
        # Fast path: an unstable sort by score alone; exact for the rows without tied scores.
        order = np.argsort(-block, axis=-1)
        sorted_scores = np.take_along_axis(block, order, axis=-1)
        ranked = np.take_along_axis(relevant, order, axis=-1)
        tied_rows = np.flatnonzero(np.any(sorted_scores[:, 1:] == sorted_scores[:, :-1], axis=-1))
        if tied_rows.size:
            # Rows with ties: sort by score descending, then relevance ascending (last key is the primary one).
            tied_order = np.lexsort((relevant[tied_rows], -block[tied_rows]), axis=-1)
            ranked[tied_rows] = np.take_along_axis(relevant[tied_rows], tied_order, axis=-1)
        yield rows, block, ranked, np.cumsum(ranked, axis=1)


def retrieval_metrics(
    similarity: Any,
    query_labels: Any,
    gallery_labels: Any,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    counterpart: Any = None,
    recall_ks: Sequence[int] = DEFAULT_RECALL_KS,
) -> dict[str, float]:
    """Retrieval metrics for one direction (paper section 6.2.1, Tables 10-11 and 13).

    Args:
        similarity: ``(Nq, Ng)`` scores, higher = more similar; row ``i`` ranks the whole gallery for
            query ``i`` (its own counterpart included).
        query_labels: ``(Nq,)`` emotion class of each query.
        gallery_labels: ``(Ng,)`` emotion class of each gallery item; relevant = same class as the query.
        ks: cut-offs of the top-K accuracy (keys ``top{K}_accuracy``); a K beyond ``Ng`` means ``Ng``.
        counterpart: ``(Nq,)`` gallery index of each query's true counterpart. ``None`` (default) means
            the identity when ``Nq == Ng`` and no instance metrics otherwise; ``False`` switches the
            instance metrics off.
        recall_ks: cut-offs of the counterpart Recall@K (keys ``recall@{K}``).

    Returns:
        ``top{K}_accuracy`` for each K, ``map``, and with a counterpart ``recall@{K}`` for each K and
        ``median_rank`` (1-based). Ties are broken pessimistically (see the module docstring); queries
        without relevant items are left out of ``map`` and top-K with a warning.
    """
    scores, queries, gallery = _retrieval_inputs(similarity, query_labels, gallery_labels)
    num_queries, num_gallery = scores.shape
    ks = [int(k) for k in ks]
    if counterpart is None and num_queries == num_gallery:
        counterpart = np.arange(num_queries)
    has_counterpart = counterpart is not None and counterpart is not False
    indices = np.asarray(counterpart) if has_counterpart else None
    average_precision = np.full(num_queries, np.nan)
    hits = np.zeros((len(ks), num_queries), dtype=bool)
    ranks = np.empty(num_queries, dtype=np.int64)
    positions = np.arange(1, num_gallery + 1, dtype=np.float64)
    for rows, block, ranked, cumulative in _ranked_chunks(scores, queries, gallery):
        count = cumulative[:, -1]
        precision_sum = np.sum(np.where(ranked, cumulative / positions, 0.0), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            average_precision[rows] = np.where(count > 0, precision_sum / count, np.nan)
        for index, k in enumerate(ks):
            hits[index, rows] = cumulative[:, min(k, num_gallery) - 1] > 0
        if has_counterpart:  # the counterpart ranks after every item scoring the same (pessimistic)
            own = block[np.arange(block.shape[0]), indices[rows]]
            ranks[rows] = np.sum(block >= own[:, None], axis=1)

    has_relevant = ~np.isnan(average_precision)  # a query without relevant item has no AP
    num_without = int(np.sum(~has_relevant))
    if num_without:
        missing = sorted({int(label) for label in queries[~has_relevant]})
        warnings.warn(
            f"{num_without} of {len(queries)} queries have no relevant gallery item (labels {missing}); "
            "they are left out of map and top-K accuracy",
            RuntimeWarning,
            stacklevel=2,
        )
    results: dict[str, float] = {}
    for index, k in enumerate(ks):
        results[f"top{k}_accuracy"] = (
            float(np.mean(hits[index, has_relevant])) if has_relevant.any() else float("nan")
        )
    results["map"] = float(np.mean(average_precision[has_relevant])) if has_relevant.any() else float("nan")

    if has_counterpart:
        for k in recall_ks:
            results[f"recall@{int(k)}"] = float(np.mean(ranks <= int(k)))
        results["median_rank"] = float(np.median(ranks))
    return results


def _inverse_counterpart(counterpart: Any, shape: tuple[int, int]) -> Any:
    """Counterparts for the transposed direction: the inverse of a video -> music permutation."""
    if counterpart is None or counterpart is False:
        return counterpart
    indices = np.asarray(counterpart)
    num_videos, num_music = shape
    if num_videos != num_music or len(np.unique(indices)) != num_videos:
        raise ValueError(
            "counterpart is not a one-to-one video -> music mapping; pass music_counterpart for the "
            "music -> video direction explicitly"
        )
    inverse = np.empty(num_videos, dtype=np.int64)
    inverse[indices] = np.arange(num_videos)
    return inverse


def retrieval_metrics_both_directions(
    similarity: Any,
    video_labels: Any,
    music_labels: Any,
    *,
    counterpart: Any = None,
    music_counterpart: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """:func:`retrieval_metrics` for video -> music and music -> video.

    Args:
        similarity: ``(Nv, Nm)`` video rows x music columns; music -> video uses the transpose.
        video_labels, music_labels: emotion classes of the videos and the music segments.
        counterpart: ``(Nv,)`` music index of each video's counterpart (default: identity if square).
        music_counterpart: ``(Nm,)`` video index of each music segment's counterpart; by default the
            inverse of ``counterpart`` (which must then be one-to-one).
        **kwargs: forwarded to :func:`retrieval_metrics` (``ks``, ``recall_ks``).

    Returns:
        The metrics of each direction with keys prefixed ``video_to_music/`` and ``music_to_video/``.
    """
    scores = np.ascontiguousarray(similarity, dtype=np.float64)
    if music_counterpart is None:
        music_counterpart = _inverse_counterpart(counterpart, scores.shape)
    forward = retrieval_metrics(scores, video_labels, music_labels, counterpart=counterpart, **kwargs)
    backward = retrieval_metrics(
        scores.T, music_labels, video_labels, counterpart=music_counterpart, **kwargs
    )
    results = {f"video_to_music/{key}": value for key, value in forward.items()}
    results.update({f"music_to_video/{key}": value for key, value in backward.items()})
    return results


def interpolated_precision_recall(
    similarity: Any,
    query_labels: Any,
    gallery_labels: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated precision at the recall levels 0, 0.01, ..., 1, averaged over the queries (TREC style).

    For each query with at least one relevant item, the gallery is ranked (pessimistic ties) and the
    interpolated precision at recall ``r`` is the highest precision reached at any recall >= ``r``; the
    curves of all queries are averaged with equal weight. Returns ``(recall_levels, precision)``, each ``(101,)``.
    """
    scores, queries, gallery = _retrieval_inputs(similarity, query_labels, gallery_labels)
    levels = np.linspace(0.0, 1.0, 101)
    num_gallery = scores.shape[1]
    positions = np.arange(1, num_gallery + 1, dtype=np.float64)
    total = np.zeros(len(levels))
    counted = 0
    for _, _, _, cumulative in _ranked_chunks(scores, queries, gallery):
        count = cumulative[:, -1]
        keep = count > 0
        if not keep.any():
            continue
        cumulative = cumulative[keep]
        precision = cumulative / positions
        recall = cumulative / count[keep, None]
        # Highest precision at any rank at or after each rank (recall is non-decreasing in the rank).
        best_after = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        for row in range(len(cumulative)):
            first = np.searchsorted(recall[row], levels, side="left")  # first rank reaching each level
            total += np.where(first < num_gallery, best_after[row, np.minimum(first, num_gallery - 1)], 0.0)
        counted += len(cumulative)
    if counted == 0:
        raise ValueError("no query has a relevant gallery item")
    return levels, total / counted
