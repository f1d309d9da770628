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
    correspondence_metrics,
    emotion_confusion_matrix,
    retrieval_metrics,
    tagging_metrics,
)

if TYPE_CHECKING:
    import evaluate

METRIC_PATHS: dict[str, str] = {
    task: str(Path(__file__).resolve().with_name(f"emomv_{task}")) for task in ("correspondence", "retrieval")
}
"""Task → absolute path of its `evaluate` module folder (``evaluate.load`` takes it offline)."""
CORRESPONDENCE_METRIC_PATH, RETRIEVAL_METRIC_PATH = METRIC_PATHS.values()

__all__ = ["correspondence_metrics", "emotion_confusion_matrix", "retrieval_metrics", "tagging_metrics"]


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
