"""Reproduce the paper's Tables 8-13: every model variant, both protocols, many seeds, side by side.

A finished run is stored as ``runs/<model>-<task>-<variant>-<protocol>-seed<N>-<settings>.json`` where
``<settings>`` is a digest of everything else that changes its result (:func:`settings_material`): the
dataset's content, every result-affecting training argument and the package version. A rerun reuses a run
only when all of these match, so a new dataset or new ``--max-epochs`` never shows old numbers.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import typing
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from emomv_hf._version import __version__
from emomv_hf.cli import check_flags, flag
from emomv_hf.io_utils import atomic_write_json, markdown_table
from emomv_hf.models_registry import PAPER_TASKS as TASKS
from emomv_hf.paper_results import PAPER_TABLES, metric_names
from emomv_hf.reporting import dataset_display_name, dataset_key, metric_label, paper_value, seed_summary
from emomv_hf.training.arguments import MODELS, RESULT_INDEPENDENT_FIELDS, EmoMVTrainingArguments
from emomv_hf.training.loop import dataset_fingerprint
from emomv_hf.training.protocols import PROTOCOL_DESCRIPTIONS, PROTOCOLS

VARIANTS = ("multi", "single")
MODEL_LABELS = {"emomv": "Proposed (EmoMV)", "baseline": "Baseline (modified Li & Kumar)"}

GRID_FIELDS = ("model", "task", "single_task", "protocol", "seed")
"""Training arguments set per run by the reproduction grid (``--models``, ``--tasks``, ... choose them)."""


def _some_of(choices: tuple[str, ...], help: str) -> Any:
    """A flag listing some of ``choices`` (all by default)."""
    return field(default_factory=lambda: list(choices), metadata={"help": help, "choices": choices})


@dataclass
class ReproductionArguments:
    """The reproduction grid; the dataset, output folder and training settings are EmoMVTrainingArguments'."""

    seeds: int = flag("Number of seeds per row (seeds 0..N-1).", default=10)
    protocols: list[str] = _some_of(PROTOCOLS, "Protocols to run.")
    models: list[str] = _some_of(MODELS, "Model families to run.")
    tasks: list[str] = _some_of(TASKS, "Tasks to run.")
    variants: list[str] = _some_of(VARIANTS, "multi and/or single (the single-task ablation).")
    workers: int = field(
        default_factory=lambda: os.cpu_count() or 1,
        metadata={"help": "Parallel training processes (one thread each); 1 trains in this process."},
    )
    nested: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Nested selection (docs/nested-selection.md) of one task's options instead of the tables: "
            "candidates NAME='FLAGS' (e.g. ens5='--ensemble-size 5 --learning-rate 1e-3') against the paper's "
            "configuration (the other flags); needs --tasks TASK --models emomv --variants multi --protocols cv.",
            "nargs": "+",
        },
    )
    inner_folds: int = flag(
        "--nested: source-grouped inner folds inside each outer training fold.", default=3
    )

    def __post_init__(self) -> None:
        checks = {
            "seeds": (self.seeds >= 1, "a positive number of seeds"),
            "workers": (self.workers >= 1, "positive"),
            "inner_folds": (self.inner_folds >= 2, "at least 2"),
        }
        check_flags(checks, self)
        # Unknown and missing values are argparse's usage errors (the fields' choices, nargs="+").
        for name in ("protocols", "models", "tasks", "variants"):
            values = list(getattr(self, name))
            if len(set(values)) != len(values):
                raise ValueError(f"--{name} lists a value twice: {values}")


def _training_flags() -> type:
    """A dataclass of the training arguments the reproduction command line sets, with their defaults.

    Every field of :class:`EmoMVTrainingArguments` except those the grid sets per run and those that only
    write or publish a single run's outputs; ``dataset`` and ``output_dir`` are the reproduction's own.
    """
    hints = typing.get_type_hints(EmoMVTrainingArguments)
    kept = {"output_dir", "progress", "threads", "eval_batch_size"}
    omitted = set(GRID_FIELDS) | (set(RESULT_INDEPENDENT_FIELDS) - kept)
    helps = {
        "output_dir": {"help": "Where runs/, results.md and results.json go (required)."},
        "progress": {"help": "Show a progress bar over the runs."},
    }
    specs = [
        (
            item.name,
            hints[item.name],
            field(default=item.default, metadata={**item.metadata, **helps.get(item.name, {})}),
        )
        for item in dataclasses.fields(EmoMVTrainingArguments)
        if item.name not in omitted
    ]
    return dataclasses.make_dataclass("ReproductionTrainingFlags", specs)


def parse_reproduction_arguments(
    argv: Sequence[str] | None = None, **parser_kwargs: Any
) -> tuple[ReproductionArguments, EmoMVTrainingArguments]:
    """Parse a ``reproduce_paper.py`` command line; ``ValueError`` (one line, naming the flag) if invalid.

    Returns the grid and the base training arguments (``output_dir`` is the reproduction's folder).
    """
    from transformers import HfArgumentParser

    # No abbreviations: ``--seed 3`` must not silently mean ``--seeds 3``.
    parser = HfArgumentParser([ReproductionArguments, _training_flags()], allow_abbrev=False, **parser_kwargs)
    grid, flags = parser.parse_args_into_dataclasses(args=None if argv is None else list(argv))
    if not flags.output_dir:
        raise ValueError("--output-dir is required")
    # Options of one model kind (--config-overrides, --ensemble-size) must suit every row of the grid.
    for model, task, variant in itertools.product(grid.models, grid.tasks, grid.variants):
        try:
            base = EmoMVTrainingArguments(
                **dataclasses.asdict(flags), model=model, task=task, single_task=variant == "single"
            )
        except ValueError as error:
            raise ValueError(
                f"{error} (for the {model} {task} {variant}-task rows; choose rows with --models, --tasks, "
                "--variants)"
            ) from None
    return grid, base  # its model, task and variant are set per run (GRID_FIELDS)


def nested_candidates(
    argv: Sequence[str], grid: ReproductionArguments, base: EmoMVTrainingArguments
) -> dict[str, EmoMVTrainingArguments]:
    """``--nested``'s candidates: the paper's configuration (``base``, the command's own flags) first, then each
    ``NAME=FLAGS`` as the command's flags followed by ``FLAGS``; ``ValueError`` (one line) if invalid."""
    import re
    import shlex

    if (grid.protocols, grid.models, grid.variants, len(grid.tasks)) != (["cv"], ["emomv"], ["multi"], 1):
        raise ValueError(
            "--nested selects the proposed multi-task model's options for one task under cv: pass --tasks TASK "
            "--models emomv --variants multi --protocols cv"
        )
    candidates = {PAPER_CANDIDATE: base}
    for item in grid.nested:
        name, separator, flags = item.partition("=")
        if not separator or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or name in candidates:
            raise ValueError(
                f"--nested {item!r}: expected NAME=FLAGS with a new NAME of letters, digits, '.', '_', '-' "
                f"(not {PAPER_CANDIDATE!r}, the command's own flags)"
            )
        try:
            _, candidates[name] = parse_reproduction_arguments([*argv, *shlex.split(flags)])
        except ValueError as error:
            raise ValueError(f"--nested {name}: {error}") from None
        if candidates[name].run_identity() == base.run_identity():
            raise ValueError(f"--nested {name}: its flags do not change the paper's configuration")
        # Every candidate is selected on the paper's outer training folds: its outer run must test on their folds.
        if (candidates[name].dataset, candidates[name].cv_folds) != (base.dataset, base.cv_folds):
            raise ValueError(
                f"--nested {name}: it may not change --dataset or --cv-folds (the outer folds are the command's)"
            )
    return candidates


RUN_RECORD = 2
"""The layout of a run JSON: 2 added the fold sizes and the correspondence runs' per-pair P(matched), so runs
recorded before are redone rather than shown without them."""


def settings_material(base: EmoMVTrainingArguments, fingerprint: str) -> dict[str, Any]:
    """Everything besides the grid cell that changes a run's result or its record (stored in every run JSON)."""
    # The grid sets each run's protocol, and with it the default patience: `--patience` as given (None: each
    # protocol's default), not as ``base``'s protocol resolves it (100 for the default and for an explicit 100).
    identity = {**base.run_identity(), "patience": base.patience}
    return {
        "run_record": RUN_RECORD,
        "emomv_hf_version": __version__,
        "dataset_fingerprint": fingerprint,
        "training_arguments": {
            name: value for name, value in identity.items() if name not in GRID_FIELDS and name != "dataset"
        },
    }


@dataclass(frozen=True)
class RunSpec:
    """One cell of the reproduction grid."""

    model: str
    task: str
    variant: str
    protocol: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.model}-{self.task}-{self.variant}-{self.protocol}-seed{self.seed}"

    def training_arguments(self, base: EmoMVTrainingArguments) -> EmoMVTrainingArguments:
        return replace(
            base,
            model=self.model,
            task=self.task,
            single_task=self.variant == "single",
            protocol=self.protocol,
            seed=self.seed,
            output_dir=None,
            progress=False,
        )


def reproduction_grid(
    seeds: Iterable[int],
    protocols: Sequence[str] = PROTOCOLS,
    models: Sequence[str] = MODELS,
    tasks: Sequence[str] = TASKS,
    variants: Sequence[str] = VARIANTS,
) -> list[RunSpec]:
    return [
        RunSpec(model, task, variant, protocol, seed)
        for task in tasks
        for variant in variants
        for model in models
        for protocol in protocols
        for seed in seeds
    ]


WORKER_NAME = "emomv-reproduce"
"""Process name of the training workers on Linux (what ``ps -o comm`` and top show; 15 bytes at most)."""


def _exit_when_parent_dies(parent_pid: int) -> None:
    """Pool initializer: a worker must not outlive the reproduction process (SIGKILL included).

    On Linux the kernel kills the worker when its parent dies (``PR_SET_PDEATHSIG``) and the worker is
    named :data:`WORKER_NAME`; elsewhere a watchdog thread polls ``os.getppid()``. A worker whose parent
    died while it was still starting up exits here.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent handles it
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig, pr_set_name = 1, 15
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL)) == 0:
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            libc.prctl(pr_set_name, WORKER_NAME.encode())
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _run_job(specs: tuple[RunSpec, ...], base: EmoMVTrainingArguments, threads: int) -> list[dict[str, Any]]:
    """Train the first spec; a baseline retrieval spec after a baseline correspondence one reuses its stage 1."""
    import torch

    from emomv_hf.evaluation import evaluate
    from emomv_hf.modeling_emomv_baseline import EmoMVBaselineForRetrieval
    from emomv_hf.training.pipeline import make_accelerator, run_training

    torch.set_num_threads(threads)
    args = specs[0].training_arguments(base)
    result = run_training(args, make_accelerator(args, cpu=True), save=False)
    outcomes = []
    for spec in specs:
        metrics, eval_split = result.metrics, result.report.eval_split
        majority_share = match_scores = None
        if spec.task == "correspondence":
            predictions = result.report.predictions
            share = predictions["predictions"].mean()
            majority_share = float(max(share, 1.0 - share))
            # Each pair's P(matched), for the calibration of the pooled out-of-fold predictions; 6 decimals: far
            # below what a 10-bin ECE resolves, and a run JSON stays a few kB.
            match_scores = {
                "labels": [int(label) for label in predictions["labels"]],
                "scores": [round(float(score), 6) for score in predictions["match_scores"]],
            }
        if spec.task != specs[0].task:
            model = EmoMVBaselineForRetrieval.from_stage_one(result.model)
            data = args.dataset if result.report_pairs is None else result.report_pairs
            report = evaluate(model, data, result.report_split, batch_size=args.eval_batch_size)
            metrics, eval_split = report.metrics, report.eval_split
        outcomes.append(
            {
                "spec": spec.__dict__,
                "metrics": metrics,
                "best_epoch": result.outcome.best_epoch,
                "epochs_run": result.outcome.epochs_run,
                "train_seconds": result.outcome.train_seconds if spec is specs[0] else 0.0,
                "eval_split": eval_split,
                "majority_share": majority_share,
                "num_train_pairs": result.num_train_pairs,
                "num_test_pairs": result.num_test_pairs,
                "test_pairs_sha256": result.test_pairs_sha256,
                "match_scores": match_scores,
            }
        )
    return outcomes


def training_jobs(pending: Sequence[RunSpec], share_stage_one: bool = True) -> list[tuple[RunSpec, ...]]:
    """Group the pending runs into trainings: the baseline's correspondence and retrieval models train the
    same stage-1 network with the same loss (the retrieval head is `1 / distance`, the correspondence head a
    logistic regression fitted afterwards), so one training per variant, protocol and seed serves both
    (`share_stage_one=False`: one training per run, for comparison)."""
    jobs = {spec: (spec,) for spec in pending}  # in grid order; a shared twin leaves its own place
    for spec in pending:
        twin = replace(spec, task="retrieval")
        if share_stage_one and spec.model == "baseline" and spec.task == "correspondence" and twin in jobs:
            jobs[spec] = (spec, *jobs.pop(twin))
    return list(jobs.values())


@dataclass
class GridRuns:
    """The finished runs of a grid, in grid order, and how many were reused from an earlier invocation."""

    runs: list[dict[str, Any]]
    reused: int


def run_grid(
    specs: Sequence[RunSpec],
    base: EmoMVTrainingArguments,
    runs_dir: str | os.PathLike,
    workers: int = 1,
    progress: bool = True,
    on_start: Any = None,
    fingerprint: str | None = None,
    share_stage_one: bool = True,
) -> GridRuns:
    """Run every spec not already finished with the same settings in ``runs_dir`` (one JSON per run).

    A run JSON is written atomically when its run finishes, so a killed job resumes where it stopped; runs
    in flight are redone. Workers die with this process (even on SIGKILL); on an exception here (e.g.
    KeyboardInterrupt) pending runs are cancelled and running workers killed before it propagates.
    ``on_start(reused, total)`` is called once the finished runs are counted; ``fingerprint`` is
    :func:`dataset_fingerprint` of ``base.dataset`` when already computed.
    """
    runs_dir = Path(runs_dir)
    material = settings_material(base, fingerprint or dataset_fingerprint(base.dataset))
    suffix = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:12]  # short, stable
    paths = {spec: runs_dir / f"{spec.key}-{suffix}.json" for spec in specs}
    # Run JSONs are written atomically: one that exists is complete.
    pending = [
        spec
        for spec in specs
        if not (paths[spec].is_file() and json.loads(paths[spec].read_text()).get("settings") == material)
    ]
    if on_start is not None:
        on_start(len(specs) - len(pending), len(specs))

    def record(spec: RunSpec, outcome: dict[str, Any]) -> None:
        atomic_write_json(paths[spec], {**outcome, "settings": material})
        bar.update(1)

    jobs = training_jobs(pending, share_stage_one)
    with tqdm(
        total=len(specs),
        initial=len(specs) - len(pending),
        desc="reproduce",
        unit="run",
        disable=not progress,
    ) as bar:
        if workers <= 1:
            for job in jobs:
                for spec, outcome in zip(job, _run_job(job, base, base.threads), strict=True):
                    record(spec, outcome)
        elif jobs:
            _run_in_pool(jobs, base, workers, record)
    runs = [json.loads(paths[spec].read_text()) for spec in specs]
    return GridRuns(runs=runs, reused=len(specs) - len(pending))


def _run_in_pool(
    jobs: Sequence[tuple[RunSpec, ...]], base: EmoMVTrainingArguments, workers: int, record
) -> None:
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_when_parent_dies,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(_run_job, job, base, base.threads): job for job in jobs}
        for future in as_completed(futures):
            for spec, outcome in zip(futures[future], future.result(), strict=True):
                record(spec, outcome)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in set(multiprocessing.active_children()) - before:
            worker.kill()  # a worker finishes its run otherwise: minutes
        raise
    pool.shutdown()


def results_markdown(
    runs: Sequence[dict[str, Any]],
    *,
    dataset: str,
    command: str,
) -> str:
    """``results.md``: per paper table, the paper's value next to ours (mean ± std, min–max over seeds)."""
    grouped = defaultdict(list)  # (model, task, variant, protocol) -> runs
    for run in runs:
        spec = run["spec"]
        grouped[spec["model"], spec["task"], spec["variant"], spec["protocol"]].append(run)
    seeds = sorted({run["spec"]["seed"] for run in runs})
    protocols = [protocol for protocol in PROTOCOLS if any(key[3] == protocol for key in grouped)]
    lines = [
        f"# Reproduction of the EmoMV paper on {dataset_display_name(dataset)}",
        "",
        f"Command: `{command}`",
        "",
        f"{len(runs)} training runs, seeds {seeds[0]}–{seeds[-1]} ({len(seeds)} per row), "
        f"{sum(run['train_seconds'] for run in runs):.0f} s of training in all. Each cell: mean ± sample std (min–max) over seeds. Accuracy, top-K and mAP in %, F1 and AUC as "
        "fractions, as in the paper. Protocols:",
        "",
    ]
    lines += [f"- `{protocol}`: {PROTOCOL_DESCRIPTIONS[protocol]}." for protocol in protocols]
    for (task, variant), table in PAPER_TABLES.items():
        if not any(group[1] == task and group[2] == variant for group in grouped):
            continue
        header = ["Model", "Metric", "Paper"] + [f"Ours, `{protocol}` protocol" for protocol in protocols]
        rows = []
        for model in MODELS:
            row_runs = [grouped.get((model, task, variant, protocol), []) for protocol in protocols]
            for metric in metric_names(task):
                cells = [
                    seed_summary([run["metrics"][metric] for run in cell_runs], metric) if cell_runs else "–"
                    for cell_runs in row_runs
                ]
                if all(cell == "–" for cell in cells):
                    continue
                reference = paper_value(dataset_key(dataset), model, task, variant, metric)
                paper = "–" if reference is None else f"{reference:.2f}"
                rows.append([MODEL_LABELS[model], metric_label(metric), paper, *cells])
            if task == "correspondence":
                cells = [_collapsed_seeds(cell_runs) for cell_runs in row_runs]
                if any(cell != "–" for cell in cells):
                    label = f"Collapsed seeds (one class for > {COLLAPSE_SHARE:.0%} of pairs)"
                    rows.append([MODEL_LABELS[model], label, "–", *cells])
                rows += _calibration_rows(MODEL_LABELS[model], row_runs, protocols)
        lines += ["", f"## {table}: {task}, {variant}-task", "", markdown_table(header, rows)]
    return "\n".join(lines + _paired_comparisons(runs)) + "\n"


def _calibration_rows(
    label: str, row_runs: Sequence[Sequence[dict[str, Any]]], protocols: Sequence[str]
) -> list:
    """The calibration of P(matched): ECE (10 bins) and Brier score per fold (mean ± std (min–max)); under
    ``cv`` also the ECE of the pooled out-of-fold predictions of each repetition (their mean when there are
    several), and what a perfectly calibrated model with the same predictions would show on folds of this size
    and pooled (simulated: its sampling floor)."""
    from emomv_hf.metrics.functional import expected_calibration_error
    from emomv_hf.training.calibration import ece_sampling_floor

    rows = []
    for metric, name in (("ece", "ECE (10 bins), per fold"), ("brier", "Brier score, per fold")):
        cells = [
            seed_summary([run["metrics"][metric] for run in runs], metric, digits=3)
            if runs and all(metric in run["metrics"] for run in runs)
            else "–"
            for runs in row_runs
        ]
        if any(cell != "–" for cell in cells):
            rows.append([label, name, "–", *cells])
    pooled, floors = [], []
    for protocol, runs in zip(protocols, row_runs, strict=True):
        recorded = [run.get("match_scores") for run in runs]
        if protocol != "cv" or not runs or any(scores is None for scores in recorded):
            pooled.append("–")
            floors.append("–")
            continue
        # Pooled per repetition (seed div k): each covers every pair once, so its sampling floor is that of its
        # pairs; pooling repetitions would count every pair once per repetition.
        repetitions: dict[int, list[dict[str, list]]] = {}
        for run, recorded_scores in zip(runs, recorded, strict=True):
            repetition = run["spec"]["seed"] // run["settings"]["training_arguments"]["cv_folds"]
            repetitions.setdefault(repetition, []).append(recorded_scores)
        eces, sizes = [], []
        for folds in repetitions.values():
            labels = np.concatenate([fold["labels"] for fold in folds])
            eces.append(
                expected_calibration_error(labels, np.concatenate([fold["scores"] for fold in folds]))
            )
            sizes.append(len(labels))
        if len(eces) == 1:
            pooled.append(f"{eces[0]:.3f} ({sizes[0]} predictions)")
        else:
            counts = "/".join(map(str, sizes))
            pooled.append(f"{np.mean(eces):.3f} (mean of {len(eces)} repetitions of {counts} predictions)")
        scores = np.concatenate([scores["scores"] for scores in recorded])
        fold_size = round(len(scores) / len(runs))
        floors.append(
            f"{ece_sampling_floor(scores, fold_size):.3f} per fold of {fold_size}, "
            f"{ece_sampling_floor(scores, max(sizes)):.3f} pooled"
        )
    if any(cell != "–" for cell in pooled):
        rows.append([label, "ECE (10 bins), pooled out-of-fold predictions", "–", *pooled])
        rows.append([label, "ECE of a perfectly calibrated model (simulated floor)", "–", *floors])
    return rows


def _paired_comparisons(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Under ``cv``, every other row of a task against the paper's proposed multi-task model on the same folds:
    mean per-fold difference, 95 % interval (corrected resampled t), verdict."""
    from emomv_hf.comparison import (
        ComparisonError,
        configurations_from_runs,
        differences_markdown,
        paired_comparison,
    )

    configurations = configurations_from_runs(runs, "this reproduction")
    lines = []
    for task in TASKS:
        reference = configurations.get(f"emomv-{task}-multi")
        if reference is None or len(reference.folds) < 2:
            continue
        try:
            comparisons = {
                f"{MODEL_LABELS[model]}, {variant}-task": paired_comparison(reference, configurations[name])
                for model in MODELS
                for variant in VARIANTS
                if (name := f"{model}-{task}-{variant}") in configurations and name != reference.name
            }
        except ComparisonError as error:  # runs reused from an invocation that drew other folds
            lines += ["", f"Paired comparisons, {task}, `cv`: not made: {error}."]
            continue
        if not comparisons:
            continue
        lines += [
            "",
            f"## Paired comparisons, {task}, `cv`: each row against the proposed multi-task model (A)",
            "",
            differences_markdown(comparisons, "A").rstrip("\n"),
        ]
    return lines


COLLAPSE_SHARE = 0.9
"""A correspondence run that predicts one class for more than this share of the pairs has collapsed."""


def _collapsed_seeds(runs: Sequence[dict[str, Any]]) -> str:
    shares = [run.get("majority_share") for run in runs]
    if not shares or any(share is None for share in shares):
        return "–"
    return f"{sum(share > COLLAPSE_SHARE for share in shares)} of {len(shares)}"


# Nested selection of the recommended options (docs/nested-selection.md)

PAPER_CANDIDATE = "paper"
"""The name of the paper's configuration among the nested candidates: the reproduction's own flags."""

SELECTION_METRICS = {
    "correspondence": ("accuracy",),
    "retrieval": ("video_to_music/map", "music_to_video/map"),
}
"""The nested rule's score of a candidate: the mean of these metrics over its inner folds (and, for the
nested comparison, over each outer test fold)."""


def selection_score(task: str, metrics: dict[str, float]) -> float:
    return sum(metrics[name] for name in SELECTION_METRICS[task]) / len(SELECTION_METRICS[task])


def outer_training_dataset(dataset: str, seed: int, folds: int, fingerprint: str, root: Path) -> str:
    """The outer training fold of ``cv`` seed ``seed`` as a dataset folder under ``root``: its pairs from the
    train and the validation split as those splits, so that the ``cv`` protocol on it pools exactly that fold
    (in the same order); written once per dataset content and fold (they name it), atomically."""
    from huggingface_hub import DatasetCard

    from emomv_hf.data.card import card_data
    from emomv_hf.data.hub_folder import write_hub_folder
    from emomv_hf.data.loading import load_emomv
    from emomv_hf.data.schema import PAIR_FEATURES, PAIRS_CONFIG
    from emomv_hf.training.protocols import cv_folds

    repetition, fold = divmod(seed, folds)
    pairs = load_emomv(dataset, "pairs")
    pooled, splits = cv_folds(pairs, folds, repetition)
    rows = np.asarray(splits[fold][0])
    # Named by the fold's rows too, not only by what draws them: another scikit-learn may draw other folds.
    digest = hashlib.sha256(f"{fingerprint} {rows.tolist()}".encode()).hexdigest()[:12]
    target = root / f"outer-seed{seed}-of-{folds}-{digest}"
    if not target.is_dir():
        from_train = rows < len(pairs["train"])  # the pooled pairs are train, then validation
        tables = {
            split: pooled.select(rows[chosen]).flatten_indices().data.table
            for split, chosen in (("train", from_train), ("validation", ~from_train))
        }
        if not all(table.num_rows for table in tables.values()):  # datasets cannot load an empty split
            raise ValueError(
                f"outer training fold {fold} of {folds} lacks pairs of one of the train/validation splits"
            )
        yaml = card_data({PAIRS_CONFIG: tables}, {PAIRS_CONFIG: PAIR_FEATURES}).to_yaml()
        card = DatasetCard(
            f"---\n{yaml}\n---\nOuter training fold {fold} of {folds} (repetition {repetition}) of `cv` over "
            f"{fingerprint}.\n"
        )
        write_hub_folder(target, {"pairs": tables}, card)
    return str(target)


@dataclass
class NestedSelection:
    """What the nested rule did on each outer fold (seed) of one task."""

    task: str
    candidates: list[str]
    inner_scores: dict[int, dict[str, float]]
    """Outer seed → candidate → its mean selection score over the inner folds."""
    outer_runs: dict[str, list[dict[str, Any]]]
    """Candidate → its ``cv`` runs on the outer folds (seed order): trained on the outer training fold."""
    output_dir: str

    @property
    def selected(self) -> dict[int, str]:
        """Outer seed → the candidate with the highest inner score; ties go to the first listed (the paper's)."""
        return {seed: max(scores, key=scores.get) for seed, scores in self.inner_scores.items()}

    def nested_runs(self) -> list[dict[str, Any]]:
        """The outer runs of the selected candidates: what the nested procedure reports on each outer fold."""
        seeds = sorted(self.inner_scores)
        return [self.outer_runs[self.selected[seed]][seeds.index(seed)] for seed in seeds]


def run_nested_selection(
    candidates: dict[str, EmoMVTrainingArguments],
    task: str,
    seeds: Sequence[int],
    inner_folds: int,
    output_dir: str | os.PathLike,
    workers: int = 1,
    progress: bool = True,
) -> NestedSelection:
    """The nested rule of docs/nested-selection.md for one task (proposed model, multi-task, ``cv``).

    For each outer seed, in order (a stopped job resumes with whole outer folds done): its outer training fold
    is written as a dataset (:func:`outer_training_dataset`); every candidate runs the ``cv`` protocol on it
    with ``inner_folds`` folds (seeds ``0 .. inner_folds - 1``: one repetition), which never sees the outer
    test fold; and every candidate runs the outer ``cv`` seed itself. ``candidates`` maps names (the paper's,
    :data:`PAPER_CANDIDATE`, first) to their training arguments. Runs are kept under
    ``output_dir/<candidate>/`` and reused as :func:`run_grid` does.
    """
    root = Path(output_dir)
    paper = candidates[PAPER_CANDIDATE]
    fingerprint = dataset_fingerprint(paper.dataset)
    inner_scores: dict[int, dict[str, float]] = {}
    outer_runs: dict[str, list[dict[str, Any]]] = {name: [] for name in candidates}
    total = len(seeds) * len(candidates) * (inner_folds + 1)
    with tqdm(total=total, desc=f"nested {task}", unit="run", disable=not progress) as bar:
        for seed in seeds:
            folder = outer_training_dataset(
                paper.dataset, seed, paper.cv_folds, fingerprint, root / "datasets"
            )
            inner_scores[seed] = {}
            for name, args in candidates.items():
                inner = run_grid(
                    reproduction_grid(range(inner_folds), ["cv"], ["emomv"], [task], ["multi"]),
                    replace(args, dataset=folder, cv_folds=inner_folds),
                    root / name / f"inner-seed{seed}",
                    workers=workers,
                    progress=False,
                )
                inner_scores[seed][name] = (
                    sum(selection_score(task, run["metrics"]) for run in inner.runs) / inner_folds
                )
                outer = run_grid(
                    reproduction_grid([seed], ["cv"], ["emomv"], [task], ["multi"]),
                    args,
                    root / name / "outer",
                    progress=False,
                    fingerprint=fingerprint,
                )
                outer_runs[name].extend(outer.runs)
                bar.update(inner_folds + 1)
    return NestedSelection(task, list(candidates), inner_scores, outer_runs, str(root))


def nested_markdown(selection: NestedSelection, *, command: str, inner_folds: int) -> str:
    """``nested.md``: each outer fold's inner scores and choice, the nested result against the paper's
    configuration (paired, corrected resampled t), each candidate against it, and the rule's recommendation."""
    from emomv_hf.comparison import comparison_markdown, configurations_from_runs, paired_comparison

    task, names, seeds = selection.task, selection.candidates, sorted(selection.inner_scores)
    metric = "mean/map" if task == "retrieval" else "accuracy"  # the selection score, as a metric
    metrics = list(dict.fromkeys([metric, *metric_names(task)]))

    def results(runs: Sequence[dict[str, Any]], name: str, source: str | None = None):
        scored = [
            {**run, "metrics": {**run["metrics"], metric: selection_score(task, run["metrics"])}}
            for run in runs
        ]
        (found,) = configurations_from_runs(scored, source or f"{selection.output_dir}/{name}").values()
        found.name = name
        return found

    outer = {name: results(selection.outer_runs[name], name) for name in names}
    paper = outer[PAPER_CANDIDATE]
    nested = results(selection.nested_runs(), "nested selection", selection.output_dir)
    nested.settings = paper.settings  # they differ fold by fold: the table above says which was selected
    versus_paper = paired_comparison(paper, nested, metrics)  # its first row is the selection metric's
    shown = lambda value: f"{100 * value:.2f}"  # noqa: E731 - accuracy and mAP are shown in %
    rows = [
        [
            str(seed),
            *[shown(selection.inner_scores[seed][name]) for name in names],
            f"`{selection.selected[seed]}`",
            shown(selection_score(task, run["metrics"])),
        ]
        for seed, run in zip(seeds, selection.nested_runs(), strict=True)
    ]
    lines = [
        f"# Nested selection: {task}",
        "",
        f"Command: `{command}`",
        "",
        f"The rule (docs/nested-selection.md): in each outer `cv` fold, every candidate runs the `cv` protocol with "
        f"{inner_folds} source-grouped inner folds on the outer training fold alone; the candidate with the highest "
        f"mean inner {metric_label(metric)} is selected (ties: the paper's configuration) and reported by its run "
        "trained on the whole outer training fold, on the outer test fold.",
        "",
        "Candidates:",
        "",
        *[f"- `{name}`: {_settings_text(paper.settings, outer[name].settings)}" for name in names],
        "",
        markdown_table(
            [
                "Outer seed",
                *[f"inner `{name}`" for name in names],
                "selected",
                f"outer {metric_label(metric)}",
            ],
            rows,
        ),
        "",
        "## The nested result against the paper's configuration",
        "",
        comparison_markdown(versus_paper),
    ]
    for name in names[1:]:
        lines += [
            f"## `{name}` against the paper's configuration (not nested: every outer fold)",
            "",
            comparison_markdown(paired_comparison(paper, outer[name], metrics)),
        ]
    lines += ["## Recommendation", "", recommendation(selection, versus_paper.rows[0])]
    return "\n".join(lines) + "\n"


def _settings_text(paper: dict[str, Any], candidate: dict[str, Any]) -> str:
    """The training arguments of a candidate that differ from the paper's configuration."""
    changed = [f"{key}={value}" for key, value in sorted(candidate.items()) if paper.get(key) != value]
    return ", ".join(changed) or "the paper's model and training (the command's flags)"


def recommendation(selection: NestedSelection, row) -> str:
    """The rule's recommendation from ``row``, the nested result against the paper's configuration on the
    selection metric: an option over the paper's configuration only when its interval excludes 0 in its favour;
    the option is then the candidate with the highest mean over the outer folds (the rule applied to all pooled
    pairs)."""
    interval = f"nested − paper {100 * row.test.mean:+.2f} points, 95 % CI [{100 * row.test.ci_low:+.2f}, {100 * row.test.ci_high:+.2f}]"
    if row.verdict != "better":
        # "no difference" or "worse": either way nothing is recommended over the paper's configuration.
        return (
            f"{row.verdict.capitalize()} ({interval}): the paper's configuration is the recommendation for "
            f"{selection.task}."
        )
    means = {
        name: sum(selection_score(selection.task, run["metrics"]) for run in runs) / len(runs)
        for name, runs in selection.outer_runs.items()
    }
    best = max(means, key=means.get)
    return f"The nested selection is better ({interval}): `{best}` (highest mean over the outer folds, {100 * means[best]:.2f}) is the recommendation for {selection.task}."
