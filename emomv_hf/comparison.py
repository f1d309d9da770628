"""Paired comparisons of two configurations over the same cross-validation folds, with a confidence interval.

Every configuration of a ``cv`` reproduction is trained and reported on the same outer folds (seed ``s`` is
fold ``s mod k`` of repetition ``s div k``), so the question "is B better than A" is a question about the
per-fold differences ``d_j = metric_B(fold j) - metric_A(fold j)``. Their plain paired t interval is too
narrow: the training sets of the folds overlap, so the ``d_j`` are positively correlated. This module uses the
corrected resampled t of Nadeau & Bengio (2003), which accounts for that (:func:`corrected_resampled_t`).

Reading results (:func:`read_results`): a folder written by ``examples/reproduce_paper.py --output-dir X``
(``X/results.json``, the runs of its last invocation, or else ``X/runs/*.json``), a folder of run folders
written by ``examples/train.py`` (``eval_results.json`` + ``training_args.json`` each, at any depth), or one
run folder. Each run gives one configuration's metrics on one fold.

Fold sizes: the correction needs the number of training and test pairs of each fold. A run records them when
it holds the fields :data:`SIZE_FIELDS` (``num_train_pairs``: the outer training fold the model was refitted
on; ``num_test_pairs``: the outer test fold; in a reproduction run JSON or in ``eval_results.json``). Runs
written before these fields existed do not; then the sizes can be computed from the dataset and the fold
assignment (``examples/compare.py --dataset``), or, failing that, ``n_test / n_train = 1 / (k - 1)`` is
assumed, and the method line says so. Over whole repetitions that is exact for the mean fold sizes (the k test
folds of a repetition partition the N pooled pairs: mean n_test = N/k, mean n_train = N(k-1)/k); single folds
differ a little (EmoMV-C's five folds of 89-93 pairs give 0.243-0.256 instead of 0.25).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emomv_hf.io_utils import dataset_folder_sha256, markdown_table
from emomv_hf.paper_results import metric_names
from emomv_hf.reporting import display_value, metric_label

CONFIDENCE = 0.95
"""The confidence level of the reported intervals."""

LOWER_IS_BETTER = frozenset({"median_rank"})
"""Metrics (last part of the name) for which a lower value is better; for every other metric higher is."""

SIZE_FIELDS = ("num_train_pairs", "num_test_pairs")
"""What a ``cv`` run must record for the correction: the pairs of its outer training fold and of its outer
test fold (a reproduction run JSON: top-level fields; ``eval_results.json``: the same names)."""

VERDICTS = ("better", "worse", "no difference")

METHOD = "corrected resampled t (Nadeau & Bengio 2003)"

RUN_SPECIFIC_ARGUMENTS = frozenset(
    {
        # what one run folder's training_args.json records besides the configuration: where and how it ran
        "output_dir",
        "seed",
        "dataset",
        "eval_batch_size",
        "threads",
        "checkpointing_epochs",
        "checkpoints_total_limit",
        "resume_from_checkpoint",
        "overwrite_output_dir",
        "report_to",
        "plots",
        "progress",
        "push_to_hub",
        "hub_model_id",
        "hub_private",
        # the grid cell: part of the configuration's name and fold instead
        "model",
        "task",
        "single_task",
        "protocol",
    }
)
"""Fields of a run folder's ``training_args.json`` that are not the configuration's settings."""


class ComparisonError(ValueError):
    """Results that cannot be read or compared; the message is one line naming what is wrong."""


# --------------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedTest:
    """The outcome of a paired t test on per-fold differences (B - A)."""

    mean: float
    """Mean difference."""
    std: float
    """Sample standard deviation of the differences (ddof 1)."""
    standard_error: float
    """``sqrt(variance_factor) * std``: the (corrected) standard error of the mean difference."""
    variance_factor: float
    """``1/J + n_test/n_train`` (corrected) or ``1/J`` (plain)."""
    t: float
    degrees_of_freedom: int
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    count: int
    """J, the number of differences (folds)."""

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0.0 or self.ci_high < 0.0


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

    The plain paired t uses ``1/J`` alone, which assumes independent differences; over (repeated)
    cross-validation the training sets overlap and the differences are positively correlated, so its
    interval is too narrow. The ``n_test/n_train`` term is Nadeau & Bengio's correction for that correlation
    (their "corrected resampled t", recommended for repeated k-fold CV by Bouckaert & Frank, 2004).

    Reference: C. Nadeau and Y. Bengio, "Inference for the Generalization Error", Machine Learning 52(3),
    239-281, 2003.

    Args:
        differences: one difference per fold (J ≥ 2), finite.
        train_size: ``n_train``, the number of training examples of a fold (mean over folds when they differ).
        test_size: ``n_test``, the number of test examples of a fold; 0 gives the plain paired t.
        confidence: two-sided level of the interval, in (0, 1).

    When every difference is the same, the interval is that single value and ``p`` is 0 (1 if it is 0).
    """
    from scipy import stats

    values = np.asarray(differences, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ComparisonError(f"the paired t test needs at least 2 per-fold differences, got {values.size}")
    if not np.isfinite(values).all():
        raise ComparisonError(
            "the per-fold differences must be finite numbers (a metric is NaN in some fold)"
        )
    if not 0.0 < confidence < 1.0:
        raise ComparisonError(f"confidence must be between 0 and 1, got {confidence}")
    if not (train_size > 0 and test_size >= 0):
        raise ComparisonError(f"fold sizes must be positive (n_train {train_size}, n_test {test_size})")
    count = len(values)
    mean = float(values.mean())
    std = float(values.std(ddof=1))
    factor = 1.0 / count + test_size / train_size
    standard_error = math.sqrt(factor) * std
    degrees = count - 1
    if standard_error > 0.0:
        t = mean / standard_error
        p_value = float(2.0 * stats.t.sf(abs(t), degrees))
        half_width = float(stats.t.ppf(0.5 + confidence / 2.0, degrees)) * standard_error
    else:
        t = math.copysign(math.inf, mean) if mean != 0.0 else 0.0
        p_value = 0.0 if mean != 0.0 else 1.0
        half_width = 0.0
    return PairedTest(
        mean=mean,
        std=std,
        standard_error=standard_error,
        variance_factor=factor,
        t=t,
        degrees_of_freedom=degrees,
        p_value=p_value,
        ci_low=mean - half_width,
        ci_high=mean + half_width,
        confidence=confidence,
        count=count,
    )


def verdict(metric: str, test: PairedTest) -> str:
    """``better`` / ``worse`` for B against A when the interval excludes 0 (the metric's direction decides
    which), else ``no difference``."""
    if not test.excludes_zero:
        return "no difference"
    higher = test.ci_low > 0.0
    if metric.rpartition("/")[2] in LOWER_IS_BETTER:
        higher = not higher
    return "better" if higher else "worse"


# --------------------------------------------------------------------------------------------------
# Reading result folders
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Fold:
    """One outer ``cv`` fold: fold ``index`` of ``folds``, drawn with seed ``repetition`` (seed s of the ``cv``
    protocol is fold ``s mod folds`` of repetition ``s div folds``)."""

    repetition: int
    index: int
    folds: int

    @classmethod
    def of_seed(cls, seed: int, folds: int) -> Fold:
        repetition, index = divmod(int(seed), int(folds))
        return cls(repetition, index, int(folds))

    def __str__(self) -> str:
        return f"fold {self.index} of {self.folds} (repetition {self.repetition})"


_FOLD_SPLIT = re.compile(r"cv-fold-(?P<index>\d+)-of-(?P<folds>\d+)-repetition-(?P<repetition>\d+)$")


def _fold_of_split(eval_split: str | None) -> Fold | None:
    match = _FOLD_SPLIT.search(eval_split or "")
    if not match:
        return None
    return Fold(int(match["repetition"]), int(match["index"]), int(match["folds"]))


@dataclass
class ConfigurationResults:
    """The per-fold metrics of one configuration (model, task, variant and settings) under one protocol."""

    name: str
    """``<model>-<task>-<variant>``, e.g. ``emomv-correspondence-multi``."""
    task: str
    protocol: str
    source: str
    """The folder the results were read from."""
    settings: dict[str, Any]
    """The result-affecting training arguments besides the grid cell (learning rate, ensemble size, ...)."""
    dataset: str | None
    """What identifies the dataset: its content digest (``sha256:...``) where known, else its name or path."""
    dataset_path: str | None = None
    """The dataset as the runs name it (a run folder's ``training_args.json``); None for reproduction runs."""
    metrics: dict[Fold, dict[str, float]] = field(default_factory=dict)
    sizes: dict[Fold, tuple[int, int]] = field(default_factory=dict)
    """``(n_train, n_test)`` pairs of each fold, where the runs record them (:data:`SIZE_FIELDS`)."""

    @property
    def folds(self) -> list[Fold]:
        return sorted(self.metrics)

    @property
    def cv_folds(self) -> int:
        return self.folds[0].folds


@dataclass
class _Run:
    name: str
    task: str
    protocol: str
    seed: int
    settings: dict[str, Any]
    dataset: str | None
    dataset_path: str | None
    eval_split: str | None
    metrics: dict[str, float]
    sizes: tuple[int, int] | None
    where: str


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ComparisonError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ComparisonError(f"{path}: not a readable JSON file ({error})") from None


def _numbers(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    return {
        name[len(prefix) :]: float(value)
        for name, value in mapping.items()
        if name.startswith(prefix) and isinstance(value, int | float) and not isinstance(value, bool)
    }


def _sizes(record: Mapping[str, Any]) -> tuple[int, int] | None:
    values = [record.get(name) for name in SIZE_FIELDS]
    if any(value is None for value in values):
        return None
    return int(values[0]), int(values[1])


def _reproduction_run(run: Any, where: str) -> _Run:
    try:
        spec, settings = run["spec"], run["settings"]
        arguments = dict(settings["training_arguments"])
        return _Run(
            name=f"{spec['model']}-{spec['task']}-{spec['variant']}",
            task=spec["task"],
            protocol=spec["protocol"],
            seed=int(spec["seed"]),
            settings=arguments,
            dataset=settings.get("dataset_fingerprint"),
            dataset_path=None,
            eval_split=run.get("eval_split"),
            metrics=_numbers(run["metrics"]),
            sizes=_sizes(run),
            where=where,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ComparisonError(f"{where}: not a reproduction run record (missing or bad {error})") from None


def _folder_run(folder: Path) -> _Run:
    arguments = _read_json(folder / "training_args.json")
    results = _read_json(folder / "eval_results.json")
    try:
        dataset = arguments.get("dataset")
        return _Run(
            name=f"{arguments['model']}-{arguments['task']}-{'single' if arguments['single_task'] else 'multi'}",
            task=arguments["task"],
            protocol=arguments["protocol"],
            seed=int(arguments["seed"]),
            settings={k: v for k, v in arguments.items() if k not in RUN_SPECIFIC_ARGUMENTS},
            dataset=(dataset_folder_sha256(dataset) or dataset) if dataset else None,
            dataset_path=dataset,
            eval_split=results.get("eval_split"),
            metrics=_numbers(results, "eval_"),
            sizes=_sizes(results),
            where=str(folder),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ComparisonError(f"{folder}: not a training run folder (missing or bad {error})") from None


def _runs_of(folder: Path) -> list[_Run]:
    if not folder.is_dir():
        raise ComparisonError(f"{folder}: not a folder")
    if (folder / "results.json").is_file():  # a reproduction: the runs of its last invocation
        records = _read_json(folder / "results.json")
        if not isinstance(records, list):
            raise ComparisonError(f"{folder / 'results.json'}: not a list of reproduction runs")
        return [
            _reproduction_run(run, f"{folder / 'results.json'} (run {n})") for n, run in enumerate(records)
        ]
    if (folder / "runs").is_dir() and any((folder / "runs").glob("*.json")):
        paths = sorted((folder / "runs").glob("*.json"))
        return [_reproduction_run(_read_json(path), str(path)) for path in paths]
    folders = sorted({path.parent for path in folder.rglob("eval_results.json")})
    folders = [run for run in folders if (run / "training_args.json").is_file()]
    if not folders:
        raise ComparisonError(
            f"{folder}: holds no results (no results.json or runs/*.json of reproduce_paper.py, no run folder "
            "with eval_results.json and training_args.json)"
        )
    return [_folder_run(run) for run in folders]


def _differing(first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
    names = sorted(name for name in set(first) | set(second) if first.get(name) != second.get(name))
    return ", ".join(f"{name} {first.get(name)!r} vs {second.get(name)!r}" for name in names)


def read_results(folder: str | os.PathLike, protocol: str = "cv") -> dict[str, ConfigurationResults]:
    """The per-fold results of every configuration in ``folder`` under ``protocol``, keyed by name
    (``emomv-correspondence-multi``); see the module docstring for the layouts read.

    Raises:
        ComparisonError: nothing readable, no runs of ``protocol``, a run whose fold cannot be told, or two runs
            of one configuration that disagree (settings, dataset) or share a fold.
    """
    folder = Path(folder)
    runs = _runs_of(folder)
    chosen = [run for run in runs if run.protocol == protocol]
    if not chosen:
        found = sorted({run.protocol for run in runs})
        raise ComparisonError(f"{folder}: no runs of the {protocol} protocol (it holds {', '.join(found)})")
    configurations: dict[str, ConfigurationResults] = {}
    for run in chosen:
        folds = run.settings.get("cv_folds")
        fold = _fold_of_split(run.eval_split)
        if protocol == "cv":
            if folds is None and fold is None:
                raise ComparisonError(f"{run.where}: records neither cv_folds nor its cv fold")
            if folds is not None:
                from_seed = Fold.of_seed(run.seed, folds)
                if fold is not None and fold != from_seed:
                    raise ComparisonError(
                        f"{run.where}: seed {run.seed} is {from_seed} but it reports on {fold}"
                    )
                fold = from_seed
        else:  # every seed reports on the same split: the seed is the unit
            fold = Fold(repetition=run.seed, index=0, folds=1)
        config = configurations.get(run.name)
        if config is None:
            config = configurations[run.name] = ConfigurationResults(
                name=run.name,
                task=run.task,
                protocol=protocol,
                source=str(folder),
                settings=run.settings,
                dataset=run.dataset,
                dataset_path=run.dataset_path,
            )
        elif run.settings != config.settings:
            raise ComparisonError(
                f"{folder}: runs of {run.name} with different settings ({_differing(config.settings, run.settings)});"
                " compare folders that hold one setting per configuration"
            )
        elif run.dataset != config.dataset:
            raise ComparisonError(
                f"{folder}: runs of {run.name} on different datasets ({config.dataset} vs {run.dataset})"
            )
        if fold in config.metrics:
            raise ComparisonError(f"{folder}: two runs of {run.name} report on {fold} ({run.where})")
        config.metrics[fold] = run.metrics
        if run.sizes is not None:
            config.sizes[fold] = run.sizes
    return configurations


# --------------------------------------------------------------------------------------------------
# Comparing two configurations
# --------------------------------------------------------------------------------------------------


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

    name_a: str
    name_b: str
    source_a: str
    source_b: str
    protocol: str
    folds: tuple[Fold, ...]
    train_size: float
    test_size: float
    sizes_source: str
    """``recorded`` (by the runs), ``computed`` (from the dataset) or ``assumed`` (1/(k-1))."""
    rows: tuple[MetricComparison, ...]
    settings_difference: str
    """The settings that differ between A and B (``learning_rate 0.0001 vs 0.001``), or ``""``."""

    def method_line(self) -> str:
        sizes = f"n_train/n_test {self.train_size:g}/{self.test_size:g}"
        if self.sizes_source == "assumed":
            sizes = (
                f"n_test/n_train = 1/(k-1) = {self.test_size / self.train_size:.3g} assumed (the runs do not record "
                "their fold sizes; exact for the mean over whole repetitions)"
            )
        elif self.sizes_source == "computed":
            sizes += " (mean over the folds, computed from the dataset's fold assignment)"
        else:
            sizes += " (mean over the folds, as the runs record them)"
        confidence = self.rows[0].test.confidence if self.rows else CONFIDENCE
        return (
            f"Method: {METHOD}, {len(self.folds)} folds ({self.folds[0].folds}-fold cross-validation, "
            f"{len({fold.repetition for fold in self.folds})} repetitions), {sizes}; {100 * confidence:g} % "
            'two-sided intervals of the mean per-fold difference B − A; "no difference" where the interval '
            "includes 0."
        )


def paired_comparison(
    results_a: ConfigurationResults,
    results_b: ConfigurationResults,
    metrics: Sequence[str] | None = None,
    *,
    confidence: float = CONFIDENCE,
    fold_sizes: Mapping[Fold, tuple[int, int]] | None = None,
) -> Comparison:
    """Compare B against A on the folds both were reported on (the same protocol, dataset and folds).

    ``metrics``: default the paper's metrics of the task. ``fold_sizes``: ``(n_train, n_test)`` per fold
    when the runs do not record them (computed from the dataset); without either,
    ``n_test/n_train = 1/(k-1)`` is assumed. Returns per metric the means, the corrected resampled t
    (:func:`corrected_resampled_t`) of the per-fold differences B - A and the :func:`verdict`.

    Raises:
        ComparisonError: (one line) the two differ in protocol, task, dataset or folds, a protocol other than
            ``cv``, an unknown metric, or fold sizes that disagree.
    """
    a, b = results_a, results_b
    label_a, label_b = f"A ({a.name} in {a.source})", f"B ({b.name} in {b.source})"
    if a.protocol != b.protocol:
        raise ComparisonError(f"different protocols: {label_a} is {a.protocol}, {label_b} is {b.protocol}")
    if a.protocol != "cv":
        raise ComparisonError(
            f"the paired comparison needs cv results, not {a.protocol}: there every seed reports on the same split, "
            "so seed-to-seed differences do not measure the sampling of the test pairs"
        )
    if a.task != b.task:
        raise ComparisonError(f"different tasks: {label_a} is {a.task}, {label_b} is {b.task}")
    if a.dataset is not None and b.dataset is not None and a.dataset != b.dataset:
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

    names = list(metrics) if metrics else [name for name in metric_names(a.task)]
    for name in names:
        missing = [
            (label, fold)
            for label, config in ((label_a, a), (label_b, b))
            for fold in folds
            if name not in config.metrics[fold]
        ]
        if missing:
            label, fold = missing[0]
            available = sorted(
                set.intersection(*(set(config.metrics[fold]) for config in (a, b) for fold in folds))
            )
            raise ComparisonError(
                f"metric {name!r} is not recorded for {fold} of {label}; available: {', '.join(available)}"
            )

    sizes, source = _fold_sizes(a, b, folds, fold_sizes)
    train_size = float(np.mean([sizes[fold][0] for fold in folds]))
    test_size = float(np.mean([sizes[fold][1] for fold in folds]))
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
        name_a=a.name,
        name_b=b.name,
        source_a=a.source,
        source_b=b.source,
        protocol=a.protocol,
        folds=folds,
        train_size=train_size,
        test_size=test_size,
        sizes_source=source,
        rows=tuple(rows),
        settings_difference=_differing(a.settings, b.settings),
    )


def _fold_sizes(
    a: ConfigurationResults,
    b: ConfigurationResults,
    folds: Sequence[Fold],
    given: Mapping[Fold, tuple[int, int]] | None,
) -> tuple[dict[Fold, tuple[float, float]], str]:
    for fold in folds:
        if fold in a.sizes and fold in b.sizes and a.sizes[fold] != b.sizes[fold]:
            raise ComparisonError(
                f"different folds: {fold} has (n_train, n_test) {a.sizes[fold]} in A and {b.sizes[fold]} in B"
            )
    recorded = {**b.sizes, **a.sizes}
    if all(fold in recorded for fold in folds):
        sizes, source = recorded, "recorded"
    elif given is not None and all(fold in given for fold in folds):
        sizes, source = dict(given), "computed"
    else:
        k = folds[0].folds
        return {fold: (float(k - 1), 1.0) for fold in folds}, "assumed"
    for fold in folds:
        if fold in recorded and recorded[fold] != tuple(sizes[fold]):
            raise ComparisonError(
                f"{fold}: the runs record (n_train, n_test) {recorded[fold]}, the dataset gives {tuple(sizes[fold])}"
            )
    return {fold: sizes[fold] for fold in folds}, source


# --------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------


def _shown(metric: str, value: float) -> str:
    return f"{display_value(metric, value):.2f}"


def _signed(metric: str, value: float) -> str:
    return f"{display_value(metric, value):+.2f}"


def comparison_markdown(comparison: Comparison) -> str:
    """A Markdown table (metric, mean A, mean B, mean difference, CI, p, verdict) and the method line under it;
    values on the paper's scale (accuracy, top-K and mAP in %, differences in points)."""
    confidence = comparison.rows[0].test.confidence if comparison.rows else CONFIDENCE
    header = [
        "Metric",
        "Mean A",
        "Mean B",
        "Mean diff (B − A)",
        f"{100 * confidence:g} % CI",
        "p",
        "Verdict",
    ]
    rows = [
        [
            metric_label(row.metric),
            _shown(row.metric, row.mean_a),
            _shown(row.metric, row.mean_b),
            _signed(row.metric, row.test.mean),
            f"[{_signed(row.metric, row.test.ci_low)}, {_signed(row.metric, row.test.ci_high)}]",
            f"{row.test.p_value:.3f}",
            row.verdict,
        ]
        for row in comparison.rows
    ]
    lines = [
        f"A: {comparison.name_a} in {comparison.source_a}",
        f"B: {comparison.name_b} in {comparison.source_b}",
    ]
    if comparison.settings_difference:
        lines.append(f"Settings that differ (A vs B): {comparison.settings_difference}")
    return "\n".join([*lines, "", markdown_table(header, rows), "", comparison.method_line()]) + "\n"
