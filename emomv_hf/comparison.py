"""Paired comparisons of two configurations over the same cross-validation folds, with a confidence interval.

Every configuration of a ``cv`` reproduction is trained and reported on the same outer folds (seed ``s`` is
fold ``s mod k`` of repetition ``s div k``), so the question "is B better than A" is a question about the
per-fold differences ``d_j = metric_B(fold j) - metric_A(fold j)``. Their plain paired t interval is too
narrow: the training sets of the folds overlap, so the ``d_j`` are positively correlated. This module uses the
corrected resampled t of Nadeau & Bengio (2003), which accounts for that (:func:`corrected_resampled_t`).

Fold sizes: the correction needs the number of training and test pairs of each fold. Runs record them
(``num_train_pairs``, ``num_test_pairs``); for runs that do not, they can be computed from the dataset and the
fold assignment (``examples/compare.py --dataset``); failing that, ``n_test / n_train = 1 / (k - 1)`` is
assumed, and the method line says so. Over whole repetitions that is exact for the mean fold sizes (the k test
folds of a repetition partition the N pooled pairs: mean n_test = N/k, mean n_train = N(k-1)/k); single folds
differ a little (EmoMV-C's five folds of 89-93 pairs give 0.243-0.256 instead of 0.25).

Fold rows: the same dataset, k and seed may still give other folds (another scikit-learn draws them otherwise).
Runs record which pairs their fold tests on (``test_pairs_sha256``), and a fold whose pairs differ between A and B
is refused; runs recorded before they did so are paired unchecked, and the method line says for how many folds.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emomv_hf.io_utils import markdown_table
from emomv_hf.paper_results import metric_names
from emomv_hf.reporting import display_value, metric_label

CONFIDENCE = 0.95
"""The confidence level of the reported intervals."""

LOWER_IS_BETTER = frozenset({"median_rank", "ece", "brier"})
"""Metrics (last part of the name, after a direction's ``/`` and a stream's ``_emotion_``: ``video_emotion_ece`` is
an ``ece``) for which a lower value is better; for every other metric higher is."""

METHOD = "corrected resampled t (Nadeau & Bengio 2003)"


class ComparisonError(ValueError):
    """Results that cannot be read or compared; the message is one line naming what is wrong."""


@dataclass(frozen=True)
class PairedTest:
    """The outcome of a paired t test on per-fold differences (B - A)."""

    mean: float
    """Mean difference."""
    standard_error: float
    """``sqrt(1/J + n_test/n_train) * s`` (``1/J`` alone: plain), ``s`` the differences' sample standard deviation
    and J their number: the (corrected) standard error of the mean difference."""
    p_value: float
    ci_low: float
    ci_high: float


def corrected_resampled_t(
    differences: Sequence[float],
    train_size: float,
    test_size: float,
    confidence: float = CONFIDENCE,
) -> PairedTest:
    """The corrected resampled t test of Nadeau & Bengio (2003) for repeated k-fold cross-validation.

    Given the per-fold differences ``d_1 .. d_J`` between two configurations trained on ``n_train`` and
    tested on ``n_test`` examples per fold (the same folds for both), with ``d̄`` their mean and
    ``s² = Σ (d_j - d̄)² / (J - 1)`` their sample variance::

        variance of d̄ ≈ (1/J + n_test/n_train) · s²
        t = d̄ / sqrt((1/J + n_test/n_train) · s²),    J - 1 degrees of freedom
        CI = d̄ ± t_{(1+confidence)/2, J-1} · sqrt((1/J + n_test/n_train) · s²)
        p = 2 · P(T_{J-1} > |t|)

    The ``n_test/n_train`` term corrects for the correlation of the differences (the plain paired t uses
    ``1/J`` alone); Bouckaert & Frank (2004) recommend it for repeated k-fold CV. Reference: C. Nadeau and
    Y. Bengio, "Inference for the Generalization Error", Machine Learning 52(3), 239-281, 2003.

    Args:
        differences: one difference per fold (J ≥ 2), finite.
        train_size: ``n_train``, the number of training examples of a fold (mean over folds when they differ).
        test_size: ``n_test``, the number of test examples of a fold; 0 gives the plain paired t.
        confidence: two-sided level of the interval, in (0, 1).

    When every difference is the same, the interval is that single value and ``p`` is 0 (1 if it is 0).
    """
    from scipy import stats

    values = np.asarray(differences, dtype=float)
    # examples/write_model_cards.py passes the per-seed values of result files the user names.
    if values.ndim != 1 or len(values) < 2:
        raise ComparisonError(f"the paired t test needs at least 2 per-fold differences, got {values.size}")
    if not np.isfinite(values).all():
        raise ComparisonError(
            "the per-fold differences must be finite numbers (a metric is NaN in some fold)"
        )
    if not 0.0 < confidence < 1.0:  # compare.py's --confidence
        raise ComparisonError(f"confidence must be between 0 and 1, got {confidence}")
    mean = float(values.mean())
    standard_error = math.sqrt(1.0 / len(values) + test_size / train_size) * float(values.std(ddof=1))
    degrees = len(values) - 1
    if standard_error > 0.0:
        p_value = float(2.0 * stats.t.sf(abs(mean / standard_error), degrees))
        half_width = float(stats.t.ppf(0.5 + confidence / 2.0, degrees)) * standard_error
    else:
        p_value = 0.0 if mean != 0.0 else 1.0
        half_width = 0.0
    return PairedTest(
        mean=mean,
        standard_error=standard_error,
        p_value=p_value,
        ci_low=mean - half_width,
        ci_high=mean + half_width,
    )


def verdict(metric: str, test: PairedTest) -> str:
    """``better`` / ``worse`` for B against A when the interval excludes 0 (the metric's direction decides
    which), else ``no difference``."""
    if test.ci_low <= 0.0 <= test.ci_high:
        return "no difference"
    higher = test.ci_low > 0.0
    if metric.rpartition("/")[2].rpartition("_emotion_")[2] in LOWER_IS_BETTER:
        higher = not higher
    return "better" if higher else "worse"


@dataclass(frozen=True, order=True)
class Fold:
    """One outer ``cv`` fold: fold ``index`` of ``folds``, drawn with seed ``repetition`` (seed s of the ``cv``
    protocol is fold ``s mod folds`` of repetition ``s div folds``)."""

    repetition: int
    index: int
    folds: int

    def __str__(self) -> str:
        return f"fold {self.index} of {self.folds} (repetition {self.repetition})"


@dataclass
class ConfigurationResults:
    """The per-fold ``cv`` metrics of one configuration (model, task, variant and settings)."""

    name: str
    """``<model>-<task>-<variant>``, e.g. ``emomv-correspondence-multi``."""
    task: str
    source: str
    """The folder the results were read from."""
    settings: dict[str, Any]
    """The result-affecting training arguments besides the grid cell (learning rate, ensemble size, ...)."""
    dataset: str
    """The dataset's content fingerprint (``sha256:...``, ``hub:...``: ``reproduction.dataset_fingerprint``)."""
    metrics: dict[Fold, dict[str, float]] = field(default_factory=dict)
    sizes: dict[Fold, tuple[int, int]] = field(default_factory=dict)
    """``(n_train, n_test)`` pairs of each fold whose run recorded them."""
    test_pairs: dict[Fold, str] = field(default_factory=dict)
    """Each fold's ``test_pairs_sha256`` (which pairs it tests on) where its run recorded it."""

    @property
    def folds(self) -> list[Fold]:
        return sorted(self.metrics)

    @property
    def cv_folds(self) -> int:
        return self.folds[0].folds


def read_results(folder: str | os.PathLike) -> dict[str, ConfigurationResults]:
    """The per-fold ``cv`` results of every configuration of a reproduction folder (its ``results.json``),
    keyed by name (``emomv-correspondence-multi``): :func:`configurations_from_runs` of its runs.

    Raises:
        ComparisonError: not a folder, no (readable) ``results.json``, or no runs of the cv protocol.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ComparisonError(f"{folder}: not a folder")
    path = folder / "results.json"
    if not path.is_file():
        raise ComparisonError(
            f"{folder}: holds no results (no results.json of examples/reproduce_paper.py --output-dir)"
        )
    try:  # a folder the user names: its results.json may be another tool's
        runs = json.loads(path.read_text(encoding="utf-8"))
        found = sorted({run["spec"]["protocol"] for run in runs})
        configurations = configurations_from_runs(runs, str(folder))
    # ZeroDivisionError: a run of 0-fold cv (its fold is seed mod cv_folds).
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError) as error:
        raise ComparisonError(f"{path}: not a results.json of reproduce_paper.py ({error!r})") from None
    if not configurations:
        raise ComparisonError(f"{folder}: no runs of the cv protocol (it holds {', '.join(found)})")
    return configurations


def configurations_from_runs(
    runs: Sequence[Mapping[str, Any]], source: str
) -> dict[str, ConfigurationResults]:
    """The ``cv`` runs of one reproduction (run records as ``reproduction.run_grid`` returns them) grouped by
    configuration name (``emomv-correspondence-multi``); one invocation wrote them, so they share their
    settings and dataset, and each seed is one fold (seed ``s``: fold ``s mod k`` of repetition ``s div k``)."""
    configurations: dict[str, ConfigurationResults] = {}
    for run in runs:
        spec, settings = run["spec"], run["settings"]
        if spec["protocol"] != "cv":
            continue
        arguments = settings["training_arguments"]
        name = f"{spec['model']}-{spec['task']}-{spec['variant']}"
        config = configurations.setdefault(
            name, ConfigurationResults(name, spec["task"], source, arguments, settings["dataset_fingerprint"])
        )
        repetition, index = divmod(int(spec["seed"]), int(arguments["cv_folds"]))
        fold = Fold(repetition, index, int(arguments["cv_folds"]))
        config.metrics[fold] = {
            metric: float(value)
            for metric, value in run["metrics"].items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        if run.get("num_train_pairs") and run.get("num_test_pairs"):
            config.sizes[fold] = (int(run["num_train_pairs"]), int(run["num_test_pairs"]))
        if run.get("test_pairs_sha256"):
            config.test_pairs[fold] = str(run["test_pairs_sha256"])
    return configurations


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    mean_a: float
    mean_b: float
    test: PairedTest
    verdict: str


@dataclass(frozen=True)
class Comparison:
    """B against A on the same folds: per metric the mean per-fold difference (B - A), its interval, a verdict."""

    a: ConfigurationResults
    b: ConfigurationResults
    folds: tuple[Fold, ...]
    train_size: float
    test_size: float
    sizes_source: str
    """``recorded`` (by the runs), ``computed`` (from the dataset) or ``assumed`` (1/(k-1))."""
    rows: tuple[MetricComparison, ...]
    confidence: float
    unchecked_folds: int = 0
    """Folds whose pairs could not be checked to be the same in A and B (a run did not record them)."""

    @property
    def settings_difference(self) -> str:
        """The settings that differ between A and B (``learning_rate 0.0001 vs 0.001``), or ``""``."""
        first, second = self.a.settings, self.b.settings
        names = sorted(name for name in set(first) | set(second) if first.get(name) != second.get(name))
        return ", ".join(f"{name} {first.get(name)!r} vs {second.get(name)!r}" for name in names)

    def method_line(self) -> str:
        sizes = f"n_train/n_test {self.train_size:g}/{self.test_size:g}"
        if self.sizes_source == "assumed":
            sizes = (
                f"n_test/n_train = 1/(k-1) = {self.test_size / self.train_size:.3g} assumed (the runs do not record "
                "their fold sizes; exact for the mean over whole repetitions)"
            )
        elif self.sizes_source == "recorded":
            sizes += " (mean over the folds, as the runs recorded them)"
        else:
            sizes += " (mean over the folds, computed from the dataset's fold assignment)"
        return (
            f"Method: {METHOD}, {len(self.folds)} folds ({self.folds[0].folds}-fold cross-validation, "
            f"{len({fold.repetition for fold in self.folds})} repetitions), {sizes}; {100 * self.confidence:g} % "
            'two-sided intervals of the mean per-fold difference B − A; "no difference" where the interval '
            "includes 0."
            + (
                f" The pairs of {self.unchecked_folds} of the {len(self.folds)} folds are not checked to be the same "
                "in A and B (runs recorded before test_pairs_sha256): they are assumed the same."
                if self.unchecked_folds
                else ""
            )
        )


def paired_comparison(
    a: ConfigurationResults,
    b: ConfigurationResults,
    metrics: Sequence[str] | None = None,
    *,
    confidence: float = CONFIDENCE,
    fold_sizes: Mapping[Fold, tuple[int, int]] | None = None,
) -> Comparison:
    """Compare B against A on the folds both were reported on (the same dataset and folds).

    ``metrics``: default the paper's metrics of the task. ``fold_sizes``: ``(n_train, n_test)`` per fold,
    computed from the dataset; without them the sizes the runs recorded, and where they recorded none
    ``n_test/n_train = 1/(k-1)`` is assumed. Returns per metric the means, the corrected resampled t
    (:func:`corrected_resampled_t`) of the per-fold differences B - A and the :func:`verdict`.

    Raises:
        ComparisonError: (one line) the two differ in task, dataset or folds (a fold whose runs both recorded its
            ``test_pairs_sha256`` must hold the same pairs in both; a fold a run did not record it for is assumed
            to, and the method line says how many), or an unknown metric.
    """
    label_a, label_b = f"A ({a.name} in {a.source})", f"B ({b.name} in {b.source})"
    if a.task != b.task:
        raise ComparisonError(f"different tasks: {label_a} is {a.task}, {label_b} is {b.task}")
    if a.dataset != b.dataset:
        raise ComparisonError(f"different datasets: {label_a} used {a.dataset}, {label_b} {b.dataset}")
    if a.cv_folds != b.cv_folds:
        raise ComparisonError(
            f"different folds: {label_a} used {a.cv_folds}-fold cv, {label_b} {b.cv_folds}-fold cv"
        )
    if set(a.metrics) != set(b.metrics):
        only_a = ", ".join(map(str, sorted(set(a.metrics) - set(b.metrics)))) or "none"
        only_b = ", ".join(map(str, sorted(set(b.metrics) - set(a.metrics)))) or "none"
        raise ComparisonError(
            f"different folds: only in {label_a}: {only_a}; only in {label_b}: {only_b} (run the same seeds)"
        )
    folds = tuple(sorted(a.metrics))
    if len(folds) < 2:
        raise ComparisonError(
            f"a paired comparison needs at least 2 folds, {label_a} and {label_b} share {len(folds)}"
        )
    checked = [fold for fold in folds if fold in a.test_pairs and fold in b.test_pairs]
    for fold in checked:
        if a.test_pairs[fold] != b.test_pairs[fold]:
            raise ComparisonError(
                f"{fold} holds other pairs in {label_a} than in {label_b}: their fold assignments differ "
                "(another scikit-learn?), so their folds cannot be paired"
            )

    names = list(metrics or metric_names(a.task))
    available = set.intersection(*(set(config.metrics[fold]) for config in (a, b) for fold in folds))
    for label, config in ((label_a, a), (label_b, b)):
        for fold in folds:
            missing = [name for name in names if name not in config.metrics[fold]]
            if missing:
                raise ComparisonError(
                    f"metric {missing[0]!r} is not recorded for {fold} of {label}; available: "
                    f"{', '.join(sorted(available))}"
                )

    recorded = {**b.sizes, **a.sizes}  # both configurations ran on the same folds: the same sizes
    if fold_sizes is not None:
        sizes, source = [fold_sizes[fold] for fold in folds], "computed"
    elif all(fold in recorded for fold in folds):
        sizes, source = [recorded[fold] for fold in folds], "recorded"
    else:
        sizes, source = [(a.cv_folds - 1, 1)] * len(folds), "assumed"
    train_size, test_size = (float(mean) for mean in np.mean(sizes, axis=0))
    rows = []
    for name in names:
        values_a = np.array([a.metrics[fold][name] for fold in folds], dtype=float)
        values_b = np.array([b.metrics[fold][name] for fold in folds], dtype=float)
        if not (np.isfinite(values_a).all() and np.isfinite(values_b).all()):
            raise ComparisonError(
                f"metric {name!r} is NaN or infinite in some fold of {label_a} or {label_b}"
            )
        test = corrected_resampled_t(values_b - values_a, train_size, test_size, confidence)
        rows.append(
            MetricComparison(name, float(values_a.mean()), float(values_b.mean()), test, verdict(name, test))
        )
    return Comparison(
        a, b, folds, train_size, test_size, source, tuple(rows), confidence, len(folds) - len(checked)
    )


def _shown(metric: str, value: float, sign: str = "") -> str:
    return f"{display_value(metric, value):{sign}.2f}"


def _test_header(reference: str, confidence: float) -> list[str]:
    return [f"Mean diff (B − {reference})", f"{100 * confidence:g} % CI", "p", "Verdict"]


def _test_cells(row: MetricComparison) -> list[str]:
    """Mean difference, interval, p and verdict: the columns both tables share (`_test_header`)."""
    interval = f"[{_shown(row.metric, row.test.ci_low, '+')}, {_shown(row.metric, row.test.ci_high, '+')}]"
    return [_shown(row.metric, row.test.mean, "+"), interval, f"{row.test.p_value:.3f}", row.verdict]


def comparison_markdown(comparison: Comparison) -> str:
    """A Markdown table (metric, mean A, mean B, mean difference, CI, p, verdict) and the method line under it;
    values on the paper's scale (accuracy, top-K and mAP in %, differences in points)."""
    header = ["Metric", "Mean A", "Mean B", *_test_header("A", comparison.confidence)]
    rows = [
        [
            metric_label(row.metric),
            _shown(row.metric, row.mean_a),
            _shown(row.metric, row.mean_b),
            *_test_cells(row),
        ]
        for row in comparison.rows
    ]
    lines = [
        f"A: {comparison.a.name} in {comparison.a.source}",
        f"B: {comparison.b.name} in {comparison.b.source}",
    ]
    if comparison.settings_difference:
        lines.append(f"Settings that differ (A vs B): {comparison.settings_difference}")
    return "\n".join([*lines, "", markdown_table(header, rows), "", comparison.method_line()]) + "\n"


def differences_markdown(comparisons: Mapping[str, Comparison], reference: str) -> str:
    """Several configurations (the keys: their labels) against one reference A, in one Markdown table: per
    configuration and metric the mean per-fold difference (B − A), its interval, p and verdict; the method
    line of the first comparison under it (they share the folds)."""
    first = next(iter(comparisons.values()))
    header = ["Configuration (B)", "Metric", *_test_header(reference, first.confidence)]
    rows = [
        [label, metric_label(row.metric), *_test_cells(row)]
        for label, comparison in comparisons.items()
        for row in comparison.rows
    ]
    return markdown_table(header, rows) + "\n\n" + first.method_line() + "\n"
