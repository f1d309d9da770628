"""The EmoMV metrics as plain numpy functions (the one place where the maths lives).

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

Queries without any relevant gallery item have no defined AP: they are left out of ``map`` and of
``topK_accuracy`` (with a :class:`RuntimeWarning` naming how many); they still count for the
counterpart metrics. If no query has a relevant item, ``map`` and ``topK_accuracy`` are NaN.

Every function accepts numpy arrays, lists or torch tensors and returns a ``dict`` of plain Python
floats (JSON-serialisable).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "correspondence_metrics",
    "emotion_confusion_matrix",
    "emotion_metrics",
    "tagging_metrics",
    "retrieval_metrics",
    "retrieval_metrics_both_directions",
    "average_precision_per_query",
    "counterpart_ranks",
    "interpolated_precision_recall",
    "roc_curve_points",
    "DEFAULT_KS",
    "DEFAULT_RECALL_KS",
]

DEFAULT_KS: tuple[int, ...] = (1, 3, 5)
"""Cut-offs of the top-K retrieval accuracy reported in the paper (Tables 10-13)."""

DEFAULT_RECALL_KS: tuple[int, ...] = (1, 5, 10)
"""Cut-offs of the instance-level Recall@K of the true counterpart."""

# Rows of the (Nq, Ng) similarity matrix are processed in chunks of about this many elements, so that a
# 5000 x 5000 evaluation needs tens of megabytes of scratch memory rather than gigabytes.
_CHUNK_ELEMENTS = 2_000_000


# --------------------------------------------------------------------------------------------------
# Input conversion
# --------------------------------------------------------------------------------------------------


def _to_numpy(values: Any) -> np.ndarray:
    """Convert a list, numpy array or torch tensor (any device, any float dtype) to a numpy array."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # torch.Tensor, without importing torch
        tensor = values.detach().cpu()
        if tensor.dtype.is_floating_point:
            tensor = tensor.double()
        return tensor.numpy()
    return np.asarray(values)


def _as_1d(values: Any, name: str, dtype: Any) -> np.ndarray:
    array = _to_numpy(values)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if dtype is int:
        if array.size and not np.issubdtype(array.dtype, np.integer):
            if array.dtype == bool:
                array = array.astype(np.int64)
            else:
                as_float = array.astype(np.float64)
                if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
                    raise ValueError(f"{name} must hold integer class indices")
                array = as_float
        return array.astype(np.int64)
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (found NaN or infinity)")
    return array


def _check_same_length(**arrays: np.ndarray) -> int:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must have the same length, got {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError("cannot compute metrics on zero examples")
    return n


# --------------------------------------------------------------------------------------------------
# Classification counts (numpy, so that scoring a run does not import scikit-learn: about 0.4 s of every
# training command; the tests check each against scikit-learn)
# --------------------------------------------------------------------------------------------------


def _confusion_counts(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts, rows = true class; pairs with a class outside the range are
    left out (as scikit-learn's ``confusion_matrix(..., labels=range(num_classes))`` does)."""
    inside = (labels >= 0) & (labels < num_classes) & (predictions >= 0) & (predictions < num_classes)
    flat = labels[inside] * num_classes + predictions[inside]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _f1_per_class(labels: np.ndarray, predictions: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN) of each class in ``classes``; 0 where the denominator is 0."""
    true = labels[:, None] == classes[None, :]
    predicted = predictions[:, None] == classes[None, :]
    true_positives = np.sum(true & predicted, axis=0)
    denominators = np.sum(true, axis=0) + np.sum(predicted, axis=0)
    return np.divide(2.0 * true_positives, denominators, out=np.zeros(len(classes)), where=denominators > 0)


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks of ``scores`` in increasing order, tied scores sharing their mean rank."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)
    return (last_rank - (counts - 1) / 2.0)[inverse]


def _binary_roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic: the probability that a random positive scores above a random
    negative, a tie counting one half. Both classes must be present."""
    n_positive = int(np.sum(positive))
    n_negative = len(positive) - n_positive
    rank_sum = float(np.sum(_average_ranks(scores)[positive]))
    return (rank_sum - n_positive * (n_positive + 1) / 2.0) / (n_positive * n_negative)


def roc_curve_points(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1).

    A rate over an absent class (labels of one class only) is 0 rather than NaN.
    """
    labels_array = _as_1d(labels, "labels", int)
    scores_array = _as_1d(scores, "scores", float)
    order = np.argsort(-scores_array, kind="stable")
    positive = (labels_array[order] == 1).astype(np.float64)
    sorted_scores = scores_array[order]
    # The last index of each block of equal scores: the curve moves once per distinct threshold.
    block_ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_positives = np.r_[0.0, np.cumsum(positive)[block_ends]]
    false_positives = np.r_[0.0, block_ends + 1 - true_positives[1:]]
    fpr = np.divide(
        false_positives,
        false_positives[-1],
        out=np.zeros_like(false_positives),
        where=false_positives[-1] > 0,
    )
    tpr = np.divide(
        true_positives, true_positives[-1], out=np.zeros_like(true_positives), where=true_positives[-1] > 0
    )
    return fpr, tpr


# --------------------------------------------------------------------------------------------------
# Correspondence classification
# --------------------------------------------------------------------------------------------------


def _binary_f1(labels: np.ndarray, predictions: np.ndarray) -> float:
    """F1 of the matched class (1); 0.0 (with a warning) when neither array holds a matched pair."""
    if not np.any(labels == 1) and not np.any(predictions == 1):
        warnings.warn(
            "F1 is undefined: there is no matched pair in the labels or in the predictions; reporting 0.0",
            RuntimeWarning,
            stacklevel=3,
        )
        return 0.0
    return float(_f1_per_class(labels, predictions, np.array([1]))[0])


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (a tie counts one half); NaN with a warning for one class."""
    n_pos = int(np.sum(labels == 1))
    if n_pos == 0 or n_pos == len(labels):
        present = "matched" if n_pos else "mismatched"
        warnings.warn(
            f"ROC-AUC is undefined when only one class is present in the labels (all {present}); "
            "reporting NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        return float("nan")
    return _binary_roc_auc(labels == 1, scores)


def emotion_metrics(prefix: str, labels: Any, predictions: Any) -> dict[str, float]:
    """Accuracy and macro-F1 of one stream's emotion predictions, keyed ``{prefix}_emotion_accuracy`` etc."""
    if labels is None and predictions is None:
        return {}
    if labels is None or predictions is None:
        raise ValueError(f"{prefix}_emotion_labels and {prefix}_emotion_predictions must be given together")
    labels_array = _as_1d(labels, f"{prefix}_emotion_labels", int)
    predictions_array = _as_1d(predictions, f"{prefix}_emotion_predictions", int)
    _check_same_length(
        **{f"{prefix}_emotion_labels": labels_array, f"{prefix}_emotion_predictions": predictions_array}
    )
    seen = np.union1d(labels_array, predictions_array)
    return {
        f"{prefix}_emotion_accuracy": float(np.mean(labels_array == predictions_array)),
        # Macro over the classes seen in labels or predictions, so an emotion absent from a small split
        # and never predicted does not count as an F1 of 0 (each such class has a non-zero denominator).
        f"{prefix}_emotion_macro_f1": float(np.mean(_f1_per_class(labels_array, predictions_array, seen))),
    }


def _macro_one_vs_rest_auc(labels: np.ndarray, probabilities: np.ndarray, prefix: str) -> float:
    """Mean over the classes present in ``labels`` of the ROC-AUC of that class's probability column against the
    rest (scikit-learn's one-vs-rest macro AUC, which tolerates columns of classes absent from ``labels``, such
    as a neutral class). NaN with a warning when ``labels`` hold one class only."""
    present = np.unique(labels)
    if len(present) < 2:
        warnings.warn(
            f"{prefix} emotion ROC-AUC is undefined when the labels hold one class only; reporting NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        return float("nan")
    return float(np.mean([_binary_roc_auc(labels == c, probabilities[:, c]) for c in present]))


def emotion_confusion_matrix(labels: Any, predictions: Any, num_classes: int) -> list[list[int]]:
    """``num_classes`` x ``num_classes`` counts, rows = true class, columns = predicted class."""
    labels_array = _as_1d(labels, "labels", int)
    predictions_array = _as_1d(predictions, "predictions", int)
    _check_same_length(labels=labels_array, predictions=predictions_array)
    return _confusion_counts(labels_array, predictions_array, num_classes).astype(int).tolist()


def tagging_metrics(prefix: str, labels: Any, probabilities: Any) -> dict[str, float]:
    """Accuracy, macro-F1 (:func:`emotion_metrics`) and one-vs-rest macro ROC-AUC of an emotion tagger's
    predictions from one input (``prefix``: ``video``, ``music`` or ``joint``).

    Args:
        labels: ``(N,)`` true class indices.
        probabilities: ``(N, C)`` predicted class probabilities (the prediction is their argmax).

    Returns:
        ``{prefix}_emotion_accuracy``, ``{prefix}_emotion_macro_f1``, ``{prefix}_emotion_roc_auc``.
    """
    labels_array = _as_1d(labels, f"{prefix}_emotion_labels", int)
    scores = _to_numpy(probabilities).astype(np.float64)
    if scores.ndim != 2 or len(scores) != len(labels_array):
        raise ValueError(
            f"{prefix} probabilities must have shape ({len(labels_array)}, classes), got {scores.shape}"
        )
    if labels_array.size and (labels_array.min() < 0 or labels_array.max() >= scores.shape[1]):
        raise ValueError(f"{prefix}_emotion_labels must be in 0..{scores.shape[1] - 1}")
    results = emotion_metrics(prefix, labels_array, scores.argmax(axis=-1))
    results[f"{prefix}_emotion_roc_auc"] = _macro_one_vs_rest_auc(labels_array, scores, prefix)
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
    threshold: float = 0.5,
) -> dict[str, float]:
    """Metrics of the binary matched / mismatched classification (paper Tables 8-9, 12).

    Args:
        labels: ``(N,)`` ground truth, 1 = matched, 0 = mismatched.
        match_scores: ``(N,)`` P(matched) (or any score increasing with it); used for ``roc_auc``.
        predictions: ``(N,)`` hard 0/1 predictions; default ``match_scores >= threshold``.
        video_emotion_labels, video_emotion_predictions: optional ``(M,)`` emotion class indices of the
            video stream (multi-task models), given together.
        music_emotion_labels, music_emotion_predictions: the same for the music stream.
        threshold: decision threshold used when ``predictions`` is not given.

    Returns:
        ``accuracy``, ``f1`` (of the matched class), ``roc_auc`` (NaN with a warning when the labels hold
        one class only), and ``{video,music}_emotion_{accuracy,macro_f1}`` when emotion inputs are given.
        All are fractions in [0, 1] as plain floats.
    """
    labels_array = _as_1d(labels, "labels", int)
    scores = _as_1d(match_scores, "match_scores", float)
    if predictions is None:
        predictions_array = (scores >= threshold).astype(np.int64)
    else:
        predictions_array = _as_1d(predictions, "predictions", int)
    _check_same_length(labels=labels_array, match_scores=scores, predictions=predictions_array)
    for name, array in (("labels", labels_array), ("predictions", predictions_array)):
        if not np.all((array == 0) | (array == 1)):
            raise ValueError(f"{name} must be 0 (mismatched) or 1 (matched)")

    results = {
        "accuracy": float(np.mean(labels_array == predictions_array)),
        "f1": _binary_f1(labels_array, predictions_array),
        "roc_auc": _roc_auc(labels_array, scores),
    }
    results.update(emotion_metrics("video", video_emotion_labels, video_emotion_predictions))
    results.update(emotion_metrics("music", music_emotion_labels, music_emotion_predictions))
    return results


# --------------------------------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------------------------------


def _retrieval_inputs(similarity: Any, query_labels: Any, gallery_labels: Any):
    scores = np.ascontiguousarray(_to_numpy(similarity), dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"similarity must be a (num_queries, num_gallery) matrix, got shape {scores.shape}")
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"similarity must not be empty, got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("similarity must be finite (found NaN or infinity)")
    queries = _as_1d(query_labels, "query_labels", int)
    gallery = _as_1d(gallery_labels, "gallery_labels", int)
    if len(queries) != scores.shape[0] or len(gallery) != scores.shape[1]:
        raise ValueError(
            f"similarity has shape {scores.shape} but there are {len(queries)} query labels and "
            f"{len(gallery)} gallery labels"
        )
    return scores, queries, gallery


def _chunks(num_rows: int, num_columns: int):
    step = max(1, _CHUNK_ELEMENTS // max(1, num_columns))
    for start in range(0, num_rows, step):
        yield slice(start, min(start + step, num_rows))


def _pessimistic_relevance_ranking(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Relevance flags of each row in ranked order: score descending, irrelevant first within a tie."""
    # Fast path: an unstable sort by score alone; exact for the rows without tied scores.
    order = np.argsort(-scores, axis=-1)
    sorted_scores = np.take_along_axis(scores, order, axis=-1)
    ranked = np.take_along_axis(relevant, order, axis=-1)
    tied_rows = np.flatnonzero(np.any(sorted_scores[:, 1:] == sorted_scores[:, :-1], axis=-1))
    if tied_rows.size:
        # Rows with ties: sort by score descending, then relevance ascending (last key is the primary one).
        tied_order = np.lexsort((relevant[tied_rows], -scores[tied_rows]), axis=-1)
        ranked[tied_rows] = np.take_along_axis(relevant[tied_rows], tied_order, axis=-1)
    return ranked


def _ranked_relevance_stats(scores: np.ndarray, queries: np.ndarray, gallery: np.ndarray, ks: Sequence[int]):
    """Per-query AP, hit-in-top-K flags and number of relevant items, computed in row chunks."""
    num_queries, num_gallery = scores.shape
    average_precision = np.full(num_queries, np.nan)
    hits = np.zeros((len(ks), num_queries), dtype=bool)
    num_relevant = np.zeros(num_queries, dtype=np.int64)
    positions = np.arange(1, num_gallery + 1, dtype=np.float64)
    cut_offs = [min(int(k), num_gallery) for k in ks]
    for rows in _chunks(num_queries, num_gallery):
        relevant = queries[rows, None] == gallery[None, :]
        ranked = _pessimistic_relevance_ranking(scores[rows], relevant)
        cumulative = np.cumsum(ranked, axis=1)  # r(j): relevant items up to rank j
        count = cumulative[:, -1]
        precision_sum = np.sum(np.where(ranked, cumulative / positions, 0.0), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            average_precision[rows] = np.where(count > 0, precision_sum / count, np.nan)
        num_relevant[rows] = count
        for index, cut_off in enumerate(cut_offs):
            hits[index, rows] = cumulative[:, cut_off - 1] > 0
    return average_precision, hits, num_relevant


def average_precision_per_query(similarity: Any, query_labels: Any, gallery_labels: Any) -> np.ndarray:
    """AP of every query (paper eq. 5-6, pessimistic ties); NaN for a query without relevant items."""
    scores, queries, gallery = _retrieval_inputs(similarity, query_labels, gallery_labels)
    average_precision, _, _ = _ranked_relevance_stats(scores, queries, gallery, ks=())
    return average_precision


def _resolve_counterpart(counterpart: Any, shape: tuple[int, int]) -> np.ndarray | None:
    num_queries, num_gallery = shape
    if counterpart is False:
        return None
    if counterpart is None:
        if num_queries != num_gallery:
            return None
        return np.arange(num_queries)
    indices = _as_1d(counterpart, "counterpart", int)
    if len(indices) != num_queries:
        raise ValueError(f"counterpart must have one entry per query ({num_queries}), got {len(indices)}")
    if np.any(indices < 0) or np.any(indices >= num_gallery):
        raise ValueError(f"counterpart indices must lie in [0, {num_gallery})")
    return indices


def counterpart_ranks(similarity: Any, counterpart: Any = None) -> np.ndarray:
    """1-based rank of each query's counterpart; it ranks after every item scoring the same (pessimistic).

    ``counterpart`` is the gallery index of each query's true counterpart; by default (square matrix) the
    identity.
    """
    scores = np.ascontiguousarray(_to_numpy(similarity), dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"similarity must be a (num_queries, num_gallery) matrix, got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("similarity must be finite (found NaN or infinity)")
    indices = _resolve_counterpart(counterpart, scores.shape)
    if indices is None:
        raise ValueError("counterpart is required when the similarity matrix is not square")
    ranks = np.empty(scores.shape[0], dtype=np.int64)
    for rows in _chunks(scores.shape[0], scores.shape[1]):
        block = scores[rows]
        own = block[np.arange(block.shape[0]), indices[rows]]
        ranks[rows] = np.sum(block >= own[:, None], axis=1)
    return ranks


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
    ks = [int(k) for k in ks]
    if any(k < 1 for k in ks):
        raise ValueError(f"ks must be positive, got {ks}")
    average_precision, hits, num_relevant = _ranked_relevance_stats(scores, queries, gallery, ks)

    has_relevant = num_relevant > 0
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

    indices = _resolve_counterpart(counterpart, scores.shape)
    if indices is not None:
        ranks = counterpart_ranks(scores, indices)
        for k in recall_ks:
            results[f"recall@{int(k)}"] = float(np.mean(ranks <= int(k)))
        results["median_rank"] = float(np.median(ranks))
    return results


def _inverse_counterpart(counterpart: Any, shape: tuple[int, int]) -> Any:
    """Counterparts for the transposed direction: the inverse of a video -> music permutation."""
    if counterpart is None or counterpart is False:
        return counterpart
    indices = _resolve_counterpart(counterpart, shape)
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
    scores = np.ascontiguousarray(_to_numpy(similarity), dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"similarity must be a (num_videos, num_music) matrix, got shape {scores.shape}")
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
    recall_levels: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated precision at fixed recall levels, averaged over the queries (TREC style).

    For each query with at least one relevant item, the gallery is ranked (pessimistic ties) and the
    interpolated precision at recall ``r`` is the highest precision reached at any recall >= ``r``; the
    curves of all queries are averaged with equal weight. Returns ``(recall_levels, precision)``; the
    default levels are 0, 0.01, ..., 1.
    """
    scores, queries, gallery = _retrieval_inputs(similarity, query_labels, gallery_labels)
    levels = (
        np.linspace(0.0, 1.0, 101) if recall_levels is None else _as_1d(recall_levels, "recall_levels", float)
    )
    num_gallery = scores.shape[1]
    positions = np.arange(1, num_gallery + 1, dtype=np.float64)
    total = np.zeros(len(levels))
    counted = 0
    for rows in _chunks(scores.shape[0], num_gallery):
        relevant = queries[rows, None] == gallery[None, :]
        ranked = _pessimistic_relevance_ranking(scores[rows], relevant)
        cumulative = np.cumsum(ranked, axis=1)
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
