"""EmoMV metrics: plain functions and the `evaluate` modules shipped with the package.

The maths lives in :mod:`emomv_hf.metrics.functional`; the two `evaluate` modules (folders
``emomv_correspondence`` and ``emomv_retrieval`` beside this file) call it. Load them offline with
:func:`load_metric` or ``evaluate.load(CORRESPONDENCE_METRIC_PATH)`` /
``evaluate.load(RETRIEVAL_METRIC_PATH)``. Plots are in :mod:`emomv_hf.metrics.plots` (imported on demand,
so that importing this package does not import matplotlib).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from emomv_hf.metrics.functional import (
    DEFAULT_KS,
    DEFAULT_RECALL_KS,
    brier_score,
    calibration_metrics,
    correspondence_metrics,
    counterpart_ranks,
    emotion_confusion_matrix,
    emotion_metrics,
    expected_calibration_error,
    interpolated_precision_recall,
    retrieval_metrics,
    retrieval_metrics_both_directions,
    tagging_metrics,
)

if TYPE_CHECKING:
    import evaluate

_HERE = Path(__file__).resolve().parent

CORRESPONDENCE_METRIC_PATH: str = str(_HERE / "emomv_correspondence")
"""Absolute path of the correspondence `evaluate` module folder (``evaluate.load`` takes it offline)."""

RETRIEVAL_METRIC_PATH: str = str(_HERE / "emomv_retrieval")
"""Absolute path of the retrieval `evaluate` module folder."""

METRIC_PATHS: dict[str, str] = {
    "correspondence": CORRESPONDENCE_METRIC_PATH,
    "retrieval": RETRIEVAL_METRIC_PATH,
}

__all__ = [
    "CORRESPONDENCE_METRIC_PATH",
    "RETRIEVAL_METRIC_PATH",
    "METRIC_PATHS",
    "DEFAULT_KS",
    "DEFAULT_RECALL_KS",
    "load_metric",
    "correspondence_metrics",
    "calibration_metrics",
    "expected_calibration_error",
    "brier_score",
    "emotion_confusion_matrix",
    "emotion_metrics",
    "tagging_metrics",
    "retrieval_metrics",
    "retrieval_metrics_both_directions",
    "counterpart_ranks",
    "interpolated_precision_recall",
]


def load_metric(name: str, **kwargs: Any) -> evaluate.EvaluationModule:
    """Load the ``"correspondence"`` or ``"retrieval"`` `evaluate` module from the installed package.

    Works offline (it loads by local path). ``kwargs`` go to ``evaluate.load``, e.g. ``config_name=
    "multitask"`` for the correspondence metric with per-stream emotion features, or
    ``keep_in_memory=True``, ``num_process`` / ``process_id`` for distributed evaluation.
    """
    try:
        path = METRIC_PATHS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; choose one of {sorted(METRIC_PATHS)}") from None
    import evaluate

    return evaluate.load(path, **kwargs)
