#!/usr/bin/env python
"""Compute of the paper reproduction, today's way against one training per baseline stage 1, in one run.

    python benchmarks/bench_reproduction.py --release-dir ../shared/emomv-release [--seeds 2]

Runs the whole `reproduce_paper.py` grid (every model, task, variant and protocol) for `--seeds` seeds twice in
this process with one torch thread, so wall time is compute: once training every run separately, once with
the baseline's correspondence and retrieval runs sharing their stage-1 training. Checks that every run's
metrics are identical both ways and prints the two times and their ratio.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from emomv_hf.cli import flag, make_parser, parse_or_exit
from emomv_hf.data.build import build_hub_dataset
from emomv_hf.data.release import resolve_release_dir
from emomv_hf.reproduction import reproduction_grid, run_grid
from emomv_hf.training import EmoMVTrainingArguments


@dataclass
class BenchmarkArguments:
    release_dir: str | None = flag("The EmoMV release (default: EMOMV_RELEASE_DIR).", default=None)
    seeds: int = flag("Seeds per row (the README's job uses 10).", default=2)


def main() -> None:
    parser = make_parser(BenchmarkArguments, description=__doc__.split("\n\n")[0])
    (options,) = parse_or_exit(parser)
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_hub_dataset(resolve_release_dir(options.release_dir), "emomv-c", Path(tmp) / "data")
        base = EmoMVTrainingArguments(dataset=str(folder), progress=False, plots=False)
        specs = reproduction_grid(range(options.seeds))
        seconds, runs = {}, {}
        for share in (False, True):
            started = time.perf_counter()
            grid = run_grid(specs, base, Path(tmp) / f"share-{share}", workers=1, share_stage_one=share)
            seconds[share], runs[share] = time.perf_counter() - started, grid.runs
        for separate, shared in zip(runs[False], runs[True], strict=True):
            if separate["metrics"] != shared["metrics"]:
                raise SystemExit(f"{separate['spec']}: metrics differ between the two ways")
    print(
        f"Reproduction grid on EmoMV-C, {len(specs)} runs ({options.seeds} seeds), one process, one thread; "
        "identical metrics both ways"
    )
    print("| way | trainings | compute s |")
    print("|---|---|---|")
    print(f"| every run trained separately | {len(specs)} | {seconds[False]:.1f} |")
    shared_trainings = len(specs) - len(
        [spec for spec in specs if spec.model == "baseline" and spec.task == "retrieval"]
    )
    print(f"| baseline stage 1 shared | {shared_trainings} | {seconds[True]:.1f} |")
    print(f"\nshared / separate: {seconds[True] / seconds[False]:.2f}")


if __name__ == "__main__":
    main()
