"""PNG plots of the EmoMV metrics: ROC curve, confusion matrix, retrieval precision-recall curve.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no global backend
switch, safe in scripts and threads). Each function writes its PNG atomically (a temporary file in the
target folder, then ``os.replace``), so a reader never sees a half-written plot, and returns the path.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from emomv_hf.io_utils import atomic_open
from emomv_hf.metrics.functional import (
    brier_score,
    correspondence_metrics,
    emotion_confusion_matrix,
    expected_calibration_error,
    interpolated_precision_recall,
    retrieval_metrics,
)

DPI = 120


def new_figure(size: tuple[float, float] = (5.0, 4.5)) -> Figure:
    """A figure of ``size`` inches on its own Agg canvas (no pyplot state)."""
    figure = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Lay ``figure`` out and write it to ``path`` as a PNG, atomically; returns ``path``."""
    figure.tight_layout()
    # tight_layout leaves a placeholder layout engine, for which savefig draws the figure once more before drawing
    # it: without an engine the layout stays as set and the PNG is the same, pixel for pixel.
    figure.set_layout_engine(None)
    with atomic_open(path, binary=True) as stream:
        figure.savefig(stream, format="png", dpi=DPI)
    return Path(path)


def _curve_plot(
    x: Any, y: Any, path: str | os.PathLike, *, label: str, reference: str | tuple[float, str], **texts: Any
) -> Path:
    """A curve over recall or rate in [0, 1] beside a dashed grey reference: ``reference`` is the legend label of
    the unit square's diagonal (chance, or perfect calibration), or ``(height, label)`` of a horizontal line.
    ``texts``: the axes' ``xlabel``, ``ylabel`` and ``title``, the ``legend`` place, optionally a ``marker``."""
    figure = new_figure()
    axes = figure.add_subplot()
    axes.plot(x, y, marker=texts.pop("marker", None), color="tab:blue", linewidth=2, label=label)
    legend = texts.pop("legend")
    style = {"color": "grey", "linestyle": "--", "linewidth": 1}
    if isinstance(reference, str):
        axes.plot([0, 1], [0, 1], label=reference, **style)
        axes.set_aspect("equal")
        axes.set_ylim(-0.01, 1.01)
    else:
        axes.axhline(reference[0], label=reference[1], **style)
        axes.set_ylim(0.0, 1.02)
    axes.set_xlim(-0.01, 1.01)
    axes.set(**texts)
    axes.grid(alpha=0.3)
    axes.legend(loc=legend)
    return save_figure(figure, path)


def roc_curve_points(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1).

    A rate over an absent class (labels of one class only) is drawn as 0 where scikit-learn gives NaN.
    """
    from sklearn.metrics import roc_curve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's warning about the NaN rate of an absent class
        fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return np.nan_to_num(fpr), np.nan_to_num(tpr)


def plot_roc_curve(labels: Any, scores: Any, path: str | os.PathLike) -> Path:
    """ROC curve of P(matched) against the matched / mismatched labels, with the AUC in the legend."""
    auc = correspondence_metrics(labels, scores)["roc_auc"]
    fpr, tpr = roc_curve_points(labels, scores)
    texts = {"xlabel": "False positive rate", "ylabel": "True positive rate", "legend": "lower right"}
    label, chance, title = f"model (AUC = {auc:.3f})", "chance (AUC = 0.5)", "ROC: matched vs mismatched"
    return _curve_plot(fpr, tpr, path, label=label, reference=chance, title=title, **texts)


def plot_reliability_diagram(labels: Any, scores: Any, path: str | os.PathLike) -> Path:
    """Reliability diagram of P(matched): the fraction of matched pairs against the mean P(matched) in each of
    10 equal-width bins of P(matched) (``sklearn.calibration.calibration_curve``, empty bins left out; the ECE in
    the legend bins the predicted class's confidence instead), the diagonal of perfect calibration, and the ECE
    and Brier score in the legend."""
    from sklearn.calibration import calibration_curve

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    fraction_matched, mean_score = calibration_curve(labels, scores, n_bins=10, strategy="uniform")
    ece, brier = expected_calibration_error(labels, scores), brier_score(labels, scores)
    title = "Reliability of P(matched)"
    texts = {"xlabel": "Mean P(matched) in bin", "ylabel": "Fraction matched", "title": title, "marker": "o"}
    label, diagonal = f"model (ECE = {ece:.3f}, Brier = {brier:.3f})", "perfectly calibrated"
    return _curve_plot(
        mean_score, fraction_matched, path, label=label, reference=diagonal, legend="upper left", **texts
    )


def plot_confusion_matrix(
    labels: Any,
    predictions: Any,
    class_names: Sequence[str],
    path: str | os.PathLike,
    title: str = "Confusion matrix",
) -> Path:
    """Confusion matrix (rows: true class, columns: predicted class) with the counts in the cells."""
    num_classes = len(class_names)
    both = np.r_[labels, predictions]
    if not len(both):
        raise ValueError("cannot plot a confusion matrix of zero examples")
    # The counts leave out a class beyond class_names: refuse rather than draw a matrix that misses pairs.
    if both.min() < 0 or both.max() >= num_classes:
        raise ValueError(f"class indices must lie in [0, {num_classes}) to match class_names")
    counts = np.array(emotion_confusion_matrix(labels, predictions, num_classes))
    largest = max(int(counts.max()), 1)

    side = max(4.0, 1.1 * num_classes + 2.0)
    figure = new_figure((side + 0.8, side))
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap="Blues", vmin=0, vmax=largest)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="count")
    for row in range(num_classes):
        for column in range(num_classes):
            colour = "white" if counts[row, column] > largest / 2.0 else "black"
            axes.text(
                column, row, str(counts[row, column]), ha="center", va="center", color=colour, fontsize=10
            )
    axes.set_xticks(range(num_classes), labels=list(class_names), rotation=30, ha="right")
    axes.set_yticks(range(num_classes), labels=list(class_names))
    axes.set(xlabel="Predicted", ylabel="True", title=title)
    return save_figure(figure, path)


def plot_precision_recall(
    similarity: Any,
    query_labels: Any,
    gallery_labels: Any,
    path: str | os.PathLike,
    title: str = "Retrieval precision-recall",
) -> Path:
    """Interpolated precision-recall curve of one retrieval direction, averaged over all queries.

    The curve is :func:`~emomv_hf.metrics.functional.interpolated_precision_recall` (each query's
    interpolated precision at recall 0, 0.01, ..., 1, averaged with equal weight per query); the legend
    gives the mAP of :func:`~emomv_hf.metrics.functional.retrieval_metrics`. The dashed line is the
    precision of a random ranking (the mean fraction of relevant gallery items).
    """
    recall, precision = interpolated_precision_recall(similarity, query_labels, gallery_labels)
    mean_ap = retrieval_metrics(similarity, query_labels, gallery_labels, counterpart=False)["map"]
    queries, gallery = np.asarray(query_labels), np.asarray(gallery_labels)
    relevant_fraction = (queries[:, None] == gallery[None, :]).mean(axis=1)
    chance = float(relevant_fraction[relevant_fraction > 0].mean())

    texts = {
        "xlabel": "Recall",
        "ylabel": "Interpolated precision (mean over queries)",
        "legend": "upper right",
    }
    label, reference = f"model (mAP = {mean_ap:.3f})", (chance, f"random ranking ({chance:.3f})")
    return _curve_plot(recall, precision, path, label=label, reference=reference, title=title, **texts)
