"""The paper's reported numbers (Tables 8-13), for side-by-side comparison with ours.

The tables are data: ``paper_tables/correspondence.csv`` (Tables 8 and 9: accuracy, F1, ROC-AUC) and
``paper_tables/retrieval.csv`` (Tables 10-13: top-1/3/5 accuracy and mAP, video -> music then music ->
video), one row per (dataset, model, variant), one column per metric key. Correspondence accuracy and all
retrieval metrics are percentages; F1 and AUC are fractions, exactly as printed in the paper.
"""

from __future__ import annotations

import csv
from pathlib import Path

CORRESPONDENCE_METRICS = ("accuracy", "f1", "roc_auc")
RETRIEVAL_METRICS = ("top1_accuracy", "top3_accuracy", "top5_accuracy", "map")
RETRIEVAL_DIRECTIONS = ("video_to_music", "music_to_video")
TAGGING_METRICS = tuple(
    f"{prefix}_emotion_{name}"
    for prefix in ("video", "music", "joint")
    for name in ("accuracy", "macro_f1", "roc_auc")
)
"""The emotion tagger's metrics (paper Table 2's kind, from video only, music only and both); the paper reports
them on MVED, not on an EmoMV dataset, so they have no paper column."""
PERCENT_METRICS = {"accuracy", *RETRIEVAL_METRICS}
TABLES_DIR = Path(__file__).resolve().with_name("paper_tables")
"""Folder of the paper's tables as CSV, one file per task (shipped as package data)."""

PAPER_TABLES = {
    ("correspondence", "multi"): "Table 8",
    ("correspondence", "single"): "Table 9",
    ("retrieval", "multi"): "Tables 10-11",
    ("retrieval", "single"): "Tables 12-13",
}


def metric_names(task: str) -> tuple[str, ...]:
    """The paper's metrics of a task, as keys of :data:`PAPER_RESULTS` rows and of our metric dicts."""
    retrieval = tuple(
        f"{direction}/{name}" for direction in RETRIEVAL_DIRECTIONS for name in RETRIEVAL_METRICS
    )
    return {"correspondence": CORRESPONDENCE_METRICS, "tagging": TAGGING_METRICS}.get(task, retrieval)


def _read_tables() -> dict[str, dict[tuple[str, str, str], dict[str, float]]]:
    results: dict[str, dict[tuple[str, str, str], dict[str, float]]] = {}
    for task in ("correspondence", "retrieval"):
        with open(TABLES_DIR / f"{task}.csv", newline="", encoding="utf-8") as stream:
            for row in csv.DictReader(stream):
                values = {metric: float(row[metric]) for metric in metric_names(task)}
                results.setdefault(row["dataset"], {})[(row["model"], task, row["variant"])] = values
    return results


PAPER_RESULTS: dict[str, dict[tuple[str, str, str], dict[str, float]]] = _read_tables()
"""dataset -> (model, task, variant) -> metric -> value, on the paper's scale."""


def to_paper_scale(metric: str, value: float) -> float:
    """Our metrics are fractions; the paper prints accuracy, top-K and mAP as percentages."""
    return 100.0 * value if metric.split("/")[-1] in PERCENT_METRICS else value
