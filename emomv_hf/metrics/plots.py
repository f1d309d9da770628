"""PNG plots of the EmoMV metrics: ROC curve, confusion matrix, retrieval precision-recall curve.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no global backend
switch, safe in scripts and threads). Each function writes its PNG atomically (a temporary file in the
target folder, then ``os.replace``), so a reader never sees a half-written plot, and returns the path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from emomv_hf.io_utils import atomic_open
from emomv_hf.metrics.functional import (
    _as_1d,
    _confusion_counts,
    correspondence_metrics,
    interpolated_precision_recall,
    retrieval_metrics,
    roc_curve_points,
)

__all__ = ["plot_roc_curve", "plot_confusion_matrix", "plot_precision_recall", "roc_curve_points"]

DPI = 120


def _new_figure(size: tuple[float, float] = (5.0, 4.5)) -> Figure:
    figure = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save_atomic(figure: Figure, path: str | os.PathLike) -> Path:
    figure.tight_layout()
    with atomic_open(path, binary=True) as stream:
        figure.savefig(stream, format="png", dpi=DPI)
    return Path(path)


def _finish(
    axes: Any, *, xlabel: str, ylabel: str, title: str, ylim: tuple[float, float], legend: str
) -> None:
    """Limits, labels, title, grid and legend shared by the curve plots."""
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(*ylim)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc=legend)


def plot_roc_curve(
    labels: Any, scores: Any, path: str | os.PathLike, title: str = "ROC curve: matched vs mismatched"
) -> Path:
    """ROC curve of P(matched) against the matched / mismatched labels, with the AUC in the legend."""
    auc = correspondence_metrics(labels, scores)["roc_auc"]
    fpr, tpr = roc_curve_points(labels, scores)
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.plot(fpr, tpr, color="tab:blue", linewidth=2, label=f"model (AUC = {auc:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance (AUC = 0.5)")
    axes.set_aspect("equal")
    _finish(
        axes,
        xlabel="False positive rate",
        ylabel="True positive rate",
        title=title,
        ylim=(-0.01, 1.01),
        legend="lower right",
    )
    return _save_atomic(figure, path)


def plot_confusion_matrix(
    labels: Any,
    predictions: Any,
    class_names: Sequence[str],
    path: str | os.PathLike,
    title: str = "Confusion matrix",
    normalize: bool = False,
) -> Path:
    """Confusion matrix (rows: true class, columns: predicted class) with the counts in the cells.

    With ``normalize=True`` the colours and the first number in each cell are row fractions (recall per
    class) and the count follows in brackets.
    """
    labels_array = _as_1d(labels, "labels", int)
    predictions_array = _as_1d(predictions, "predictions", int)
    if len(labels_array) != len(predictions_array):
        raise ValueError("labels and predictions must have the same length")
    if not len(labels_array):
        raise ValueError("cannot plot a confusion matrix of zero examples")
    num_classes = len(class_names)
    both = np.r_[labels_array, predictions_array]
    if both.min() < 0 or both.max() >= num_classes:
        raise ValueError(f"class indices must lie in [0, {num_classes}) to match class_names")
    counts = _confusion_counts(labels_array, predictions_array, num_classes)
    row_totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, row_totals, out=np.zeros(counts.shape), where=row_totals > 0)
    values = fractions if normalize else counts

    side = max(4.0, 1.1 * num_classes + 2.0)
    figure = _new_figure((side + 0.8, side))
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else max(int(counts.max()), 1))
    figure.colorbar(
        image, ax=axes, fraction=0.046, pad=0.04, label="fraction of true class" if normalize else "count"
    )
    threshold = (1 if normalize else max(int(counts.max()), 1)) / 2.0
    for row in range(num_classes):
        for column in range(num_classes):
            text = (
                f"{fractions[row, column]:.2f}\n({counts[row, column]})"
                if normalize
                else str(counts[row, column])
            )
            colour = "white" if values[row, column] > threshold else "black"
            axes.text(column, row, text, ha="center", va="center", color=colour, fontsize=10)
    axes.set_xticks(range(num_classes), labels=list(class_names), rotation=30, ha="right")
    axes.set_yticks(range(num_classes), labels=list(class_names))
    axes.set_xlabel("Predicted")
    axes.set_ylabel("True")
    axes.set_title(title)
    return _save_atomic(figure, path)


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
    queries = _as_1d(query_labels, "query_labels", int)
    gallery = _as_1d(gallery_labels, "gallery_labels", int)
    relevant_fraction = (queries[:, None] == gallery[None, :]).mean(axis=1)
    chance = float(relevant_fraction[relevant_fraction > 0].mean())

    figure = _new_figure()
    axes = figure.add_subplot()
    axes.plot(recall, precision, color="tab:blue", linewidth=2, label=f"model (mAP = {mean_ap:.3f})")
    axes.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"random ranking ({chance:.3f})")
    _finish(
        axes,
        xlabel="Recall",
        ylabel="Interpolated precision (mean over queries)",
        title=title,
        ylim=(0.0, 1.02),
        legend="upper right",
    )
    return _save_atomic(figure, path)
