"""Tables 5-7 and the emotion-agreement rates of the paper's section 4.2, from a survey database.

Ratings are binned as the paper's tables: "Very poor - Poor" (1-2), "Moderate" (3), "Good - Very good" (4-5).
Each share is over every rating of one question for the matched (or mismatched) samples of one dataset (the
paper: 22 participants x 5 samples = 110 ratings). The emotion agreement of a stream is the share of responses,
over all samples of the dataset, whose chosen emotion equals the dataset's label for that stream. Shares are
exact fractions; percentages are rounded half up to two decimals only when printed.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from emomv_hf.emotions import MATCH_LABELS
from emomv_hf.io_utils import atomic_write_json, atomic_write_text, counted, read_csv_records
from emomv_hf.paper_results import TABLES_DIR
from emomv_hf.reporting import dataset_display_name

from .store import QUESTIONS, Response, SurveyStore

BINS: tuple[str, ...] = ("poor", "moderate", "good")
BIN_LABELS: dict[str, str] = {"poor": "Very poor - Poor", "moderate": "Moderate", "good": "Good - Very good"}
STREAMS: tuple[str, ...] = ("music", "video")
PAPER_TABLE_NUMBERS = {"emomv-a": "Table 5", "emomv-b": "Table 6", "emomv-c": "Table 7"}
QUESTION_ROWS = {"emotion_match": "Matched in emotions", "alignment": "General alignment"}
"""Row labels of the paper's Tables 5-7 (the form's labels are :data:`~emomv_survey.store.QUESTIONS`)."""


def _read_paper() -> tuple[dict[tuple[str, str, str], dict[str, float]], dict[tuple[str, str], float]]:
    _, ratings = read_csv_records(TABLES_DIR / "survey.csv")
    _, agreement = read_csv_records(TABLES_DIR / "survey_agreement.csv")
    return (
        {
            (row["dataset"], row["label"], row["question"]): {b: float(row[b]) for b in BINS}
            for row in ratings
        },
        {(row["dataset"], row["stream"]): float(row["agreement"]) for row in agreement},
    )


PAPER_RATINGS, PAPER_AGREEMENT = _read_paper()
"""The paper's Tables 5-7, ``(dataset, label, question) -> {bin: percent}``, and its agreement rates,
``(dataset, stream) -> percent`` (section 4.2)."""


def rating_bin(rating: int) -> str:
    """``poor`` for 1-2, ``moderate`` for 3, ``good`` for 4-5."""
    if rating not in range(1, 6):
        raise ValueError(f"a rating is 1-5, got {rating!r}")
    return ("poor", "poor", "moderate", "good", "good")[rating - 1]


def percent(share: Fraction) -> Decimal:
    """``share`` as a percentage rounded half up to two decimals (``Fraction(1, 8)`` -> ``12.50``)."""
    return (Decimal(share.numerator) * 100 / Decimal(share.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


@dataclass
class SurveyResults:
    """Counts behind the tables: ``ratings[(dataset, label, question)][bin]``, ``agreement[(dataset, stream)]``
    as ``(agreeing, total)``, and how many participants and responses went in."""

    datasets: list[str]
    ratings: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    agreement: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    participants: int = 0
    responses: int = 0

    def share(self, dataset: str, label: str, question: str, bin_name: str) -> Fraction | None:
        counts = self.ratings[(dataset, label, question)]
        total = sum(counts.values())
        return Fraction(counts[bin_name], total) if total else None

    def agreement_share(self, dataset: str, stream: str) -> Fraction | None:
        agreeing, total = self.agreement[(dataset, stream)]
        return Fraction(agreeing, total) if total else None

    def to_json(self) -> dict[str, Any]:
        def exact(share: Fraction | None) -> dict[str, Any] | None:
            if share is None:
                return None
            return {"fraction": f"{share.numerator}/{share.denominator}", "percent": float(percent(share))}

        tables = {}
        for dataset in self.datasets:
            tables[dataset] = {
                label: {
                    question: {
                        "n": sum(self.ratings[(dataset, label, question)].values()),
                        "counts": self.ratings[(dataset, label, question)],
                        **{name: exact(self.share(dataset, label, question, name)) for name in BINS},
                    }
                    for question in QUESTIONS
                }
                for label in ("matched", "mismatched")
            }
            tables[dataset]["emotion_agreement"] = {
                stream: {
                    "agreeing": self.agreement[(dataset, stream)][0],
                    "n": self.agreement[(dataset, stream)][1],
                    "share": exact(self.agreement_share(dataset, stream)),
                }
                for stream in STREAMS
            }
        return {"participants": self.participants, "responses": self.responses, "datasets": tables}


def analyze(store: SurveyStore, *, complete_only: bool = False) -> SurveyResults:
    """Count the ratings and emotion agreements of every stored response (``complete_only``: of participants
    who answered every sample only)."""
    samples = {sample.sample_id: sample for sample in store.samples()}
    responses: Sequence[Response] = store.responses()
    if complete_only:
        answered = Counter(response.participant_id for response in responses)
        responses = [response for response in responses if answered[response.participant_id] == len(samples)]
    datasets = list(dict.fromkeys(sample.dataset for sample in samples.values()))
    results = SurveyResults(datasets=datasets)
    for dataset in datasets:
        for label in MATCH_LABELS:
            for question in QUESTIONS:
                results.ratings[(dataset, label, question)] = dict.fromkeys(BINS, 0)
        for stream in STREAMS:
            results.agreement[(dataset, stream)] = (0, 0)
    for response in responses:
        sample = samples[response.sample_id]
        for question in QUESTIONS:
            results.ratings[(sample.dataset, sample.label, question)][
                rating_bin(getattr(response, question))
            ] += 1
        for stream in STREAMS:
            agreeing, total = results.agreement[(sample.dataset, stream)]
            same = getattr(response, f"{stream}_emotion") == getattr(sample, f"{stream}_emotion")
            results.agreement[(sample.dataset, stream)] = (agreeing + int(same), total + 1)
    results.participants = len({response.participant_id for response in responses})
    results.responses = len(responses)
    return results


def _cell(share: Fraction | None, paper: float | None) -> str:
    ours = "–" if share is None else f"{percent(share)}"
    return ours if paper is None else f"{ours} ({paper:.2f})"


def format_markdown(results: SurveyResults) -> str:
    """Tables 5-7 (one per dataset) and the agreement table, ours with the paper's value in brackets."""
    lines = [
        "# Label-validation survey",
        "",
        f"{counted(results.participants, 'participant')}, {counted(results.responses, 'response')}. Shares of "
        "ratings in % (the paper's value in brackets where it reports one): Very poor - Poor = 1-2, "
        "Moderate = 3, Good - Very good = 4-5.",
    ]
    for dataset in results.datasets:
        name = dataset_display_name(dataset)
        table = PAPER_TABLE_NUMBERS.get(dataset)
        lines += ["", f"## {name}" + (f" (paper {table})" if table else ""), ""]
        lines += [
            f"| {name} | Question | n | " + " | ".join(BIN_LABELS[bin_name] for bin_name in BINS) + " |",
            "|---|---|---:|" + "---:|" * len(BINS),
        ]
        for label in ("matched", "mismatched"):
            for question in QUESTIONS:
                n = sum(results.ratings[(dataset, label, question)].values())
                paper = PAPER_RATINGS.get((dataset, label, question), {})
                cells = [_cell(results.share(dataset, label, question, b), paper.get(b)) for b in BINS]
                lines.append(
                    f"| {label.capitalize()} samples | {QUESTION_ROWS[question]} | {n} | {' | '.join(cells)} |"
                )
    lines += [
        "",
        "## Emotion agreement",
        "",
        "Share of responses whose emotion for a stream equals the dataset's label (%).",
        "",
        "| Dataset | Music | Video | n |",
        "|---|---:|---:|---:|",
    ]
    for dataset in results.datasets:
        cells = [
            _cell(results.agreement_share(dataset, s), PAPER_AGREEMENT.get((dataset, s))) for s in STREAMS
        ]
        lines.append(
            f"| {dataset_display_name(dataset)} | {' | '.join(cells)} | {results.agreement[(dataset, 'music')][1]} |"
        )
    return "\n".join(lines) + "\n"


def _plotted(share: Fraction | None) -> float:
    return 0.0 if share is None else float(share) * 100  # a share without ratings is drawn empty


def plot_results(results: SurveyResults, output_dir: str | os.PathLike) -> list[Path]:
    """``survey_ratings_<dataset>.png`` (stacked bars per label and question) and ``survey_agreement.png``."""
    from emomv_hf.metrics.plots import new_figure, save_figure

    output_dir = Path(output_dir)
    colours = {"poor": "#d73027", "moderate": "#fee08b", "good": "#1a9850"}
    paths = []
    for dataset in results.datasets:
        figure = new_figure((7.0, 3.6))
        axes = figure.add_subplot()
        rows = [(label, question) for label in ("matched", "mismatched") for question in QUESTIONS]
        names = [f"{label.capitalize()}: {QUESTION_ROWS[question]}" for label, question in rows]
        left = [0.0] * len(rows)
        for bin_name in BINS:
            widths = [_plotted(results.share(dataset, label, question, bin_name)) for label, question in rows]
            axes.barh(names, widths, left=left, color=colours[bin_name], label=BIN_LABELS[bin_name])
            left = [a + b for a, b in zip(left, widths, strict=True)]
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("ratings (%)")
        axes.set_title(f"{dataset_display_name(dataset)}: ratings by sample label")
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize="small")
        paths.append(save_figure(figure, output_dir / f"survey_ratings_{dataset}.png"))
    figure = new_figure((6.0, 3.6))
    axes = figure.add_subplot()
    width = 0.38
    positions = range(len(results.datasets))
    for offset, stream in ((-width / 2, "music"), (width / 2, "video")):
        values = [_plotted(results.agreement_share(dataset, stream)) for dataset in results.datasets]
        axes.bar([p + offset for p in positions], values, width, label=stream)
    axes.set_xticks(list(positions), [dataset_display_name(dataset) for dataset in results.datasets])
    axes.set_ylim(0, 100)
    axes.set_ylabel("agreement with the label (%)")
    axes.set_title("Emotion agreement")
    axes.legend()
    paths.append(save_figure(figure, output_dir / "survey_agreement.png"))
    return paths


def write_report(results: SurveyResults, output_dir: str | os.PathLike, *, plots: bool = True) -> list[Path]:
    """Write ``survey_report.md``, ``survey_results.json`` and (``plots``) the PNGs into ``output_dir``, each
    atomically; return their paths."""
    # a dataset names its plot: one from someone else's manifest or database may be a path ('x/../../y')
    if plots and (unsafe := [dataset for dataset in results.datasets if any(c in dataset for c in "/\\\0")]):
        raise ValueError(f"dataset {unsafe[0]!r} cannot name a plot file: analyze with --no-plots")
    output_dir = Path(output_dir)
    paths = [
        atomic_write_text(output_dir / "survey_report.md", format_markdown(results)),
        atomic_write_json(output_dir / "survey_results.json", results.to_json()),
    ]
    if plots:
        paths += plot_results(results, output_dir)
    return paths
