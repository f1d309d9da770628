"""Reproduce the paper's Tables 8-13: every model variant, both protocols, many seeds, side by side."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from emomv_hf.io_utils import atomic_write_json
from emomv_hf.paper_results import PAPER_TABLES, metric_names
from emomv_hf.reporting import dataset_display_name, dataset_key, metric_label, paper_value, seed_summary
from emomv_hf.training.arguments import (
    MODELS,
    PROTOCOL_DESCRIPTIONS,
    PROTOCOLS,
    TASKS,
    EmoMVTrainingArguments,
)

VARIANTS = ("multi", "single")
MODEL_LABELS = {"emomv": "Proposed (EmoMV)", "baseline": "Baseline (modified Li & Kumar)"}


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


def _run_one(spec: RunSpec, base: EmoMVTrainingArguments, threads: int) -> dict[str, Any]:
    import torch

    from emomv_hf.training.pipeline import make_accelerator, run_training

    torch.set_num_threads(threads)
    args = spec.training_arguments(base)
    result = run_training(args, make_accelerator(args, cpu=True), save=False)
    return {
        "spec": spec.__dict__,
        "metrics": result.metrics,
        "best_epoch": result.outcome.best_epoch,
        "epochs_run": result.outcome.epochs_run,
        "train_seconds": result.outcome.train_seconds,
        "eval_split": result.eval_split,
    }


def run_grid(
    specs: Sequence[RunSpec],
    base: EmoMVTrainingArguments,
    runs_dir: str | os.PathLike,
    workers: int = 1,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every spec not already finished in ``runs_dir`` (one JSON per run, so a killed job resumes)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    pending = [spec for spec in specs if not (runs_dir / f"{spec.key}.json").exists()]
    bar = tqdm(
        total=len(specs),
        initial=len(specs) - len(pending),
        desc="reproduce",
        unit="run",
        disable=not progress,
    )

    def record(spec: RunSpec, outcome: dict[str, Any]) -> None:
        atomic_write_json(runs_dir / f"{spec.key}.json", outcome)
        bar.update(1)

    if workers <= 1:
        for spec in pending:
            record(spec, _run_one(spec, base, threads=max(1, os.cpu_count() or 1)))
    elif pending:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(_run_one, spec, base, 1): spec for spec in pending}
            for future in as_completed(futures):
                record(futures[future], future.result())
    bar.close()
    return [json.loads((runs_dir / f"{spec.key}.json").read_text()) for spec in specs]


def _group(runs: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str, str], list[dict[str, float]]]:
    grouped: dict[tuple[str, str, str, str], list[dict[str, float]]] = {}
    for run in runs:
        spec = run["spec"]
        key = (spec["model"], spec["task"], spec["variant"], spec["protocol"])
        grouped.setdefault(key, []).append(run["metrics"])
    return grouped


def results_markdown(
    runs: Sequence[dict[str, Any]],
    *,
    dataset: str,
    command: str,
) -> str:
    """``results.md``: per paper table, the paper's value next to ours (mean ± std, min–max over seeds)."""
    grouped = _group(runs)
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
        lines += ["", f"## {table}: {task}, {variant}-task", ""]
        header = ["Model", "Metric", "Paper"] + [f"Ours, `{protocol}` protocol" for protocol in protocols]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for model in MODELS:
            for metric in metric_names(task):
                cells = []
                for protocol in protocols:
                    values = [
                        metrics[metric] for metrics in grouped.get((model, task, variant, protocol), [])
                    ]
                    cells.append(seed_summary(values, metric) if values else "–")
                if all(cell == "–" for cell in cells):
                    continue
                reference = paper_value(key, model, task, variant, metric)
                paper = "–" if reference is None else f"{reference:.2f}"
                lines.append(
                    f"| {MODEL_LABELS[model]} | {metric_label(metric)} | {paper} | "
                    + " | ".join(cells)
                    + " |"
                )
    return "\n".join(lines) + "\n"
