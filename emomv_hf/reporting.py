"""Results tables in Markdown: one run's metrics, or many seeds, next to the paper's numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from emomv_hf.io_utils import markdown_table
from emomv_hf.metrics.functional import DEFAULT_KS, DEFAULT_RECALL_KS
from emomv_hf.paper_results import PAPER_RESULTS, metric_names, to_paper_scale

_EMOTION_INPUTS = {"video": "Video", "music": "Music", "joint": "Video + music"}
METRIC_LABELS = {
    "accuracy": "Accuracy (%)",
    "f1": "F1 (matched)",
    "roc_auc": "ROC-AUC",
    **{f"top{k}_accuracy": f"Top-{k} (%)" for k in DEFAULT_KS},
    "map": "mAP (%)",
    **{f"{key}_emotion_accuracy": f"{name} emotion accuracy (%)" for key, name in _EMOTION_INPUTS.items()},
    **{f"{key}_emotion_macro_f1": f"{name} emotion macro-F1" for key, name in _EMOTION_INPUTS.items()},
    **{
        f"{key}_emotion_roc_auc": f"{name} emotion ROC-AUC (one-vs-rest)"
        for key, name in _EMOTION_INPUTS.items()
    },
    **{f"recall@{k}": f"Recall@{k} of the counterpart (%)" for k in DEFAULT_RECALL_KS},
    "median_rank": "Median rank of the counterpart",
}
# Reported by peers rather than the paper: shown after the paper's metrics, as percentages except ranks.
EXTRA_METRICS = (
    *(f"{key}_emotion_accuracy" for key in _EMOTION_INPUTS),
    *(f"recall@{k}" for k in DEFAULT_RECALL_KS),
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
