"""Results tables in Markdown: one run's metrics, or many seeds, next to the paper's numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from emomv_hf.io_utils import markdown_table
from emomv_hf.paper_results import PAPER_RESULTS, metric_names, to_paper_scale

METRIC_LABELS = {
    "accuracy": "Accuracy (%)",
    "f1": "F1 (matched)",
    "roc_auc": "ROC-AUC",
    "top1_accuracy": "Top-1 (%)",
    "top3_accuracy": "Top-3 (%)",
    "top5_accuracy": "Top-5 (%)",
    "map": "mAP (%)",
    "video_emotion_accuracy": "Video emotion accuracy (%)",
    "music_emotion_accuracy": "Music emotion accuracy (%)",
    "joint_emotion_accuracy": "Video + music emotion accuracy (%)",
    "video_emotion_macro_f1": "Video emotion macro-F1",
    "music_emotion_macro_f1": "Music emotion macro-F1",
    "joint_emotion_macro_f1": "Video + music emotion macro-F1",
    "video_emotion_roc_auc": "Video emotion ROC-AUC (one-vs-rest)",
    "music_emotion_roc_auc": "Music emotion ROC-AUC (one-vs-rest)",
    "joint_emotion_roc_auc": "Video + music emotion ROC-AUC (one-vs-rest)",
    "recall@1": "Recall@1 of the counterpart (%)",
    "recall@5": "Recall@5 of the counterpart (%)",
    "recall@10": "Recall@10 of the counterpart (%)",
    "median_rank": "Median rank of the counterpart",
}
# Reported by peers rather than the paper: shown after the paper's metrics, as percentages except ranks.
EXTRA_METRICS = (
    "video_emotion_accuracy",
    "music_emotion_accuracy",
    "joint_emotion_accuracy",
    "recall@1",
    "recall@5",
    "recall@10",
    "median_rank",
)
DIRECTION_LABELS = {"video_to_music": "video → music", "music_to_video": "music → video"}


def dataset_key(dataset: str) -> str:
    """``emomv-c`` for ``emomv/emomv-c`` or ``/data/emomv-c``."""
    return Path(dataset.rstrip("/")).name


def dataset_display_name(dataset: str) -> str:
    key = dataset_key(dataset)
    return {"emomv-a": "EmoMV-A", "emomv-b": "EmoMV-B", "emomv-c": "EmoMV-C"}.get(key, key)


def metric_label(metric: str) -> str:
    direction, _, name = metric.rpartition("/")
    label = METRIC_LABELS.get(name, name)
    return f"{DIRECTION_LABELS.get(direction, direction)} {label}" if direction else label


def display_value(metric: str, value: float) -> float:
    """A metric on the scale its label shows: the paper's (:func:`to_paper_scale`), the extra accuracies and
    recalls as percentages, ranks as they are."""
    name = metric.rpartition("/")[2]
    if name == "median_rank":
        return value
    return 100 * value if name in EXTRA_METRICS else to_paper_scale(metric, value)


def _format(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric.rpartition("/")[2] == "median_rank":
        return f"{value:g}"
    return f"{display_value(metric, value):.2f}"


def paper_value(dataset: str, model: str, task: str, variant: str, metric: str) -> float | None:
    """The paper's value of ``metric`` for a row of Tables 8-13 (paper scale), or None."""
    return PAPER_RESULTS.get(dataset, {}).get((model, task, variant), {}).get(metric)


def single_run_table(
    metrics: Mapping[str, float], *, dataset: str, model: str, task: str, variant: str
) -> str:
    """A Markdown table of one run's metrics with the paper's value alongside."""
    extras = [name for name in metrics if name.rpartition("/")[2] in EXTRA_METRICS]
    names = list(metric_names(task))
    names += [name for name in extras if name not in names]
    rows = []
    for name in (name for name in names if name in metrics):
        reference = paper_value(dataset, model, task, variant, name)
        paper = "–" if reference is None else f"{reference:.2f}"
        rows.append([metric_label(name), _format(name, metrics[name]), paper])
    return markdown_table(["Metric", "This run", "Paper"], rows)


def seed_summary(values: Sequence[float], metric: str, digits: int = 2) -> str:
    """``mean ± std (min–max)`` over seeds, on the paper's scale, with ``digits`` decimals."""
    scaled = np.array([to_paper_scale(metric, value) for value in values], dtype=float)
    spread = scaled.std(ddof=1) if len(scaled) > 1 else 0.0
    return f"{scaled.mean():.{digits}f} ± {spread:.{digits}f} ({scaled.min():.{digits}f}–{scaled.max():.{digits}f})"
