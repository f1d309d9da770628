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
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import typing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from emomv_hf._version import __version__
from emomv_hf.io_utils import atomic_write_json, dataset_folder_sha256, files_sha256, markdown_table
from emomv_hf.models_registry import PAPER_TASKS as TASKS
from emomv_hf.paper_results import PAPER_TABLES, metric_names
from emomv_hf.reporting import dataset_display_name, dataset_key, metric_label, paper_value, seed_summary
from emomv_hf.training.arguments import MODELS, RESULT_INDEPENDENT_FIELDS, EmoMVTrainingArguments
from emomv_hf.training.protocols import PROTOCOL_DESCRIPTIONS, PROTOCOLS

VARIANTS = ("multi", "single")
MODEL_LABELS = {"emomv": "Proposed (EmoMV)", "baseline": "Baseline (modified Li & Kumar)"}

GRID_FIELDS = ("model", "task", "single_task", "protocol", "seed")
"""Training arguments set per run by the reproduction grid (``--models``, ``--tasks``, ... choose them)."""


@dataclass
class ReproductionArguments:
    """The reproduction grid; the dataset, output folder and training settings are EmoMVTrainingArguments'."""

    seeds: int = field(default=10, metadata={"help": "Number of seeds per row (seeds 0..N-1)."})
    protocols: list[str] = field(
        default_factory=lambda: list(PROTOCOLS), metadata={"help": "Protocols to run.", "choices": PROTOCOLS}
    )
    models: list[str] = field(
        default_factory=lambda: list(MODELS), metadata={"help": "Model families to run.", "choices": MODELS}
    )
    tasks: list[str] = field(
        default_factory=lambda: list(TASKS), metadata={"help": "Tasks to run.", "choices": TASKS}
    )
    variants: list[str] = field(
        default_factory=lambda: list(VARIANTS),
        metadata={"help": "multi and/or single (the single-task ablation).", "choices": VARIANTS},
    )
    workers: int = field(
        default_factory=lambda: os.cpu_count() or 1,
        metadata={"help": "Parallel training processes (one thread each); 1 trains in this process."},
    )

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"--seeds must be a positive number of seeds, got {self.seeds}")
        if self.workers < 1:
            raise ValueError(f"--workers must be positive, got {self.workers}")
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
    specs = []
    for item in dataclasses.fields(EmoMVTrainingArguments):
        if item.name in omitted:
            continue
        metadata = dict(item.metadata)
        if item.name == "output_dir":
            metadata["help"] = "Where runs/, results.md and results.json go (required)."
        elif item.name == "progress":
            metadata["help"] = "Show a progress bar over the runs."
        specs.append((item.name, hints[item.name], field(default=item.default, metadata=metadata)))
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
    rows = [(m, t, v) for m in grid.models for t in grid.tasks for v in grid.variants]
    for model, task, variant in rows:
        try:
            base = EmoMVTrainingArguments(
                **{
                    **dataclasses.asdict(flags),
                    "model": model,
                    "task": task,
                    "single_task": variant == "single",
                }
            )
        except ValueError as error:
            raise ValueError(
                f"{error} (for the {model} {task} {variant}-task rows; choose rows with --models, --tasks, "
                "--variants)"
            ) from None
    return grid, base  # its model, task and variant are set per run (GRID_FIELDS)


# --------------------------------------------------------------------------------------------------
# What a run's result depends on
# --------------------------------------------------------------------------------------------------


def dataset_fingerprint(dataset: str) -> str:
    """What identifies a dataset's content: a local folder by its Parquet files, a Hub id by its revision.

    For a folder: ``sha256:<hex>`` over the relative path, size and bytes of every Parquet file (sorted by
    path). For a Hub id: ``hub:<id>@<commit sha>``, resolved online; offline, the same digest over the Arrow
    cache files ``datasets`` loads it from (``cache:<hex>``).
    """
    if Path(dataset).is_dir():
        fingerprint = dataset_folder_sha256(dataset)
        if fingerprint is None:
            raise ValueError(
                f"{dataset} holds no Parquet files: build it with dataset_scripts/build_emomv.py"
            )
        return fingerprint
    from huggingface_hub import HfApi

    try:
        return f"hub:{dataset}@{HfApi().dataset_info(dataset).sha}"
    except Exception:  # offline or unreachable: fall back to the cached copy training will use
        from emomv_hf.data.loading import load_emomv

        caches = [
            (f"{config}/{split}", Path(cache["filename"]))
            for config in ("pairs", "segments")
            for split, part in sorted(load_emomv(dataset, config).items())
            for cache in part.cache_files
        ]
        return "cache:" + files_sha256(caches)


def settings_material(base: EmoMVTrainingArguments, fingerprint: str) -> dict[str, Any]:
    """Everything besides the grid cell that changes a run's result (stored in every run JSON)."""
    identity = base.run_identity()
    return {
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
            plots=False,
            push_to_hub=False,
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


# --------------------------------------------------------------------------------------------------
# Running the grid
# --------------------------------------------------------------------------------------------------


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
        majority_share = None
        if spec.task == "correspondence":
            predictions = result.report.predictions["predictions"]
            majority_share = float(max(predictions.mean(), 1.0 - predictions.mean()))
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
            }
        )
    return outcomes


def training_jobs(pending: Sequence[RunSpec], share_stage_one: bool = True) -> list[tuple[RunSpec, ...]]:
    """Group the pending runs into trainings: the baseline's correspondence and retrieval models train the
    same stage-1 network with the same loss (the retrieval head is `1 / distance`, the correspondence head a
    logistic regression fitted afterwards), so one training per variant, protocol and seed serves both
    (`share_stage_one=False`: one training per run, for comparison)."""
    if not share_stage_one:
        return [(spec,) for spec in pending]
    pending_set = set(pending)
    jobs, shared = [], set()
    for spec in pending:
        twin = replace(spec, task="retrieval")
        if spec.model == "baseline" and spec.task == "correspondence" and twin in pending_set:
            jobs.append((spec, twin))
            shared.add(twin)
        elif spec not in shared:
            jobs.append((spec,))
    return sorted(jobs, key=lambda job: pending.index(job[0]))


@dataclass
class GridRuns:
    """The finished runs of a grid, in grid order, and how many were reused from an earlier invocation."""

    runs: list[dict[str, Any]]
    reused: int


def _finished(path: Path, material: dict[str, Any]) -> bool:
    # Run JSONs are written atomically by `run_grid`: one that exists is complete.
    return path.is_file() and json.loads(path.read_text()).get("settings") == material


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
    runs_dir.mkdir(parents=True, exist_ok=True)
    material = settings_material(base, fingerprint or dataset_fingerprint(base.dataset))
    suffix = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:12]  # short, stable
    paths = {spec: runs_dir / f"{spec.key}-{suffix}.json" for spec in specs}
    pending = [spec for spec in specs if not _finished(paths[spec], material)]
    if on_start is not None:
        on_start(len(specs) - len(pending), len(specs))
    bar = tqdm(
        total=len(specs),
        initial=len(specs) - len(pending),
        desc="reproduce",
        unit="run",
        disable=not progress,
    )

    def record(spec: RunSpec, outcome: dict[str, Any]) -> None:
        atomic_write_json(paths[spec], {**outcome, "settings": material})
        bar.update(1)

    jobs = training_jobs(pending, share_stage_one)
    try:
        if workers <= 1:
            for job in jobs:
                for spec, outcome in zip(job, _run_job(job, base, base.threads), strict=True):
                    record(spec, outcome)
        elif jobs:
            _run_in_pool(jobs, base, workers, record)
    finally:
        bar.close()
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
    grouped: dict[
        tuple[str, str, str, str], list[dict[str, Any]]
    ] = {}  # (model, task, variant, protocol) -> runs
    for run in runs:
        spec = run["spec"]
        grouped.setdefault((spec["model"], spec["task"], spec["variant"], spec["protocol"]), []).append(run)
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
    key = dataset_key(dataset)
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
                reference = paper_value(key, model, task, variant, metric)
                paper = "–" if reference is None else f"{reference:.2f}"
                rows.append([MODEL_LABELS[model], metric_label(metric), paper, *cells])
            if task == "correspondence":
                cells = [_collapsed_seeds(cell_runs) for cell_runs in row_runs]
                if any(cell != "–" for cell in cells):
                    label = f"Collapsed seeds (one class for > {COLLAPSE_SHARE:.0%} of pairs)"
                    rows.append([MODEL_LABELS[model], label, "–", *cells])
        lines += ["", f"## {table}: {task}, {variant}-task", "", markdown_table(header, rows)]
    return "\n".join(lines) + "\n"


COLLAPSE_SHARE = 0.9
"""A correspondence run that predicts one class for more than this share of the pairs has collapsed."""


def _collapsed_seeds(runs: Sequence[dict[str, Any]]) -> str:
    shares = [run.get("majority_share") for run in runs]
    if not shares or any(share is None for share in shares):
        return "–"
    return f"{sum(share > COLLAPSE_SHARE for share in shares)} of {len(shares)}"
