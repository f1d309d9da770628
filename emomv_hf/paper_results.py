"""The paper's reported numbers (Tables 8-13), for side-by-side comparison with ours.

Keys: dataset -> (model, task, variant) -> metric -> value. Correspondence accuracy and all retrieval metrics
are percentages; F1 and AUC are fractions, exactly as printed in the paper.
"""

from __future__ import annotations

CORRESPONDENCE_METRICS = ("accuracy", "f1", "roc_auc")
RETRIEVAL_METRICS = ("top1_accuracy", "top3_accuracy", "top5_accuracy", "map")
RETRIEVAL_DIRECTIONS = ("video_to_music", "music_to_video")
PERCENT_METRICS = {"accuracy", *RETRIEVAL_METRICS}


def _correspondence(accuracy: float, f1: float, auc: float) -> dict[str, float]:
    return {"accuracy": accuracy, "f1": f1, "roc_auc": auc}


def _retrieval(video_to_music: tuple[float, ...], music_to_video: tuple[float, ...]) -> dict[str, float]:
    values = {}
    for direction, numbers in zip(RETRIEVAL_DIRECTIONS, (video_to_music, music_to_video), strict=True):
        values.update(
            {f"{direction}/{name}": value for name, value in zip(RETRIEVAL_METRICS, numbers, strict=True)}
        )
    return values


# (model, task, variant): Table 8 (multi-task) / 9 (single-task) for correspondence; Tables 10-11 (multi-task)
# and 12-13 (single-task) for retrieval, video->music then music->video (top-1, top-3, top-5, mAP).
PAPER_RESULTS: dict[str, dict[tuple[str, str, str], dict[str, float]]] = {
    "emomv-a": {
        ("baseline", "correspondence", "multi"): _correspondence(75.00, 0.75, 0.82),
        ("emomv", "correspondence", "multi"): _correspondence(79.03, 0.80, 0.87),
        ("baseline", "correspondence", "single"): _correspondence(62.10, 0.62, 0.70),
        ("emomv", "correspondence", "single"): _correspondence(80.65, 0.80, 0.87),
        ("baseline", "retrieval", "multi"): _retrieval(
            (34.40, 60.80, 68.00, 39.59), (25.20, 49.60, 76.80, 39.45)
        ),
        ("emomv", "retrieval", "multi"): _retrieval(
            (56.00, 70.80, 75.20, 58.53), (56.00, 83.60, 90.80, 52.31)
        ),
        ("baseline", "retrieval", "single"): _retrieval((20.0, 60.0, 80.0, 22.58), (20.0, 20.0, 20.0, 31.28)),
        ("emomv", "retrieval", "single"): _retrieval(
            (56.80, 68.40, 77.20, 50.41), (62.40, 88.80, 93.20, 49.81)
        ),
    },
    "emomv-b": {
        ("baseline", "correspondence", "multi"): _correspondence(65.00, 0.64, 0.75),
        ("emomv", "correspondence", "multi"): _correspondence(75.00, 0.76, 0.81),
        ("baseline", "correspondence", "single"): _correspondence(58.33, 0.57, 0.53),
        ("emomv", "correspondence", "single"): _correspondence(75.83, 0.76, 0.85),
        ("baseline", "retrieval", "multi"): _retrieval(
            (33.33, 45.83, 66.67, 40.79), (43.17, 70.83, 75.83, 43.72)
        ),
        ("emomv", "retrieval", "multi"): _retrieval(
            (43.33, 68.33, 80.00, 46.14), (44.17, 77.50, 86.67, 46.83)
        ),
        ("baseline", "retrieval", "single"): _retrieval(
            (10.00, 43.33, 43.33, 25.73), (25.83, 55.83, 64.17, 27.21)
        ),
        ("emomv", "retrieval", "single"): _retrieval(
            (40.83, 70.00, 81.67, 43.50), (41.67, 73.33, 84.17, 42.63)
        ),
    },
    "emomv-c": {
        ("baseline", "correspondence", "multi"): _correspondence(67.71, 0.65, 0.73),
        ("emomv", "correspondence", "multi"): _correspondence(70.83, 0.68, 0.74),
        ("baseline", "correspondence", "single"): _correspondence(59.38, 0.57, 0.61),
        ("emomv", "correspondence", "single"): _correspondence(67.71, 0.66, 0.77),
        ("baseline", "retrieval", "multi"): _retrieval(
            (27.08, 53.13, 72.92, 38.82), (39.58, 76.04, 85.42, 38.59)
        ),
        ("emomv", "retrieval", "multi"): _retrieval(
            (33.33, 63.54, 75.00, 41.64), (46.88, 75.00, 86.46, 41.98)
        ),
        ("baseline", "retrieval", "single"): _retrieval(
            (7.29, 53.13, 100.0, 26.24), (26.04, 54.17, 70.83, 30.01)
        ),
        ("emomv", "retrieval", "single"): _retrieval(
            (35.42, 65.63, 77.08, 38.20), (36.46, 72.92, 87.50, 39.42)
        ),
    },
}

PAPER_TABLES = {
    ("correspondence", "multi"): "Table 8",
    ("correspondence", "single"): "Table 9",
    ("retrieval", "multi"): "Tables 10-11",
    ("retrieval", "single"): "Tables 12-13",
}


def metric_names(task: str) -> tuple[str, ...]:
    """The paper's metrics of a task, as keys of :data:`PAPER_RESULTS` rows and of our metric dicts."""
    if task == "correspondence":
        return CORRESPONDENCE_METRICS
    return tuple(f"{direction}/{name}" for direction in RETRIEVAL_DIRECTIONS for name in RETRIEVAL_METRICS)


def to_paper_scale(metric: str, value: float) -> float:
    """Our metrics are fractions; the paper prints accuracy, top-K and mAP as percentages."""
    return 100.0 * value if metric.split("/")[-1] in PERCENT_METRICS else value
