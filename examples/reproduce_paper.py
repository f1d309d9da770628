#!/usr/bin/env python
"""Reproduce Tables 8-13 of the EmoMV paper on one dataset: every model variant, both protocols, many seeds.

    python examples/reproduce_paper.py --dataset ./datasets/emomv-c --seeds 10 --output-dir OUT

Every training flag of examples/train.py that changes a result (--max-epochs, --patience, --learning-rate,
...) is accepted, with the same default. Writes OUT/runs/<run>.json as each run finishes (a killed job
resumes where it stopped; a run is reused only when the dataset, settings and package version match), then
OUT/results.md and OUT/results.json, and prints the table.
"""

from __future__ import annotations

import shlex
import signal
import sys
import time
from pathlib import Path

from emomv_hf.io_utils import atomic_write_json, atomic_write_text
from emomv_hf.reproduction import (
    dataset_fingerprint,
    parse_reproduction_arguments,
    reproduction_grid,
    results_markdown,
    run_grid,
)

PROG = "reproduce_paper.py"


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    try:
        grid, base = parse_reproduction_arguments(arguments, prog=PROG, description=__doc__.split("\n\n")[0])
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    try:
        fingerprint = dataset_fingerprint(base.dataset)
    except (ValueError, OSError) as error:  # a folder without Parquet files, a Hub id that cannot be reached
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    command = "python examples/reproduce_paper.py " + " ".join(shlex.quote(arg) for arg in arguments)
    specs = reproduction_grid(range(grid.seeds), grid.protocols, grid.models, grid.tasks, grid.variants)
    output_dir = Path(base.output_dir)
    runs_dir = output_dir / "runs"

    def announce(reused: int, total: int) -> None:
        print(f"reused {reused} of {total} finished runs from {runs_dir}", file=sys.stderr)

    signal.signal(signal.SIGTERM, _interrupt)
    started = time.perf_counter()
    try:
        grid_runs = run_grid(
            specs,
            base,
            runs_dir,
            workers=grid.workers,
            progress=base.progress,
            on_start=announce,
            fingerprint=fingerprint,
        )
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; finished runs are kept in {runs_dir}, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    wall = time.perf_counter() - started
    markdown = results_markdown(grid_runs.runs, dataset=base.dataset, command=command)
    atomic_write_json(output_dir / "results.json", grid_runs.runs)
    atomic_write_text(output_dir / "results.md", markdown)
    print(markdown)
    print(
        f"{len(specs)} runs ({grid_runs.reused} reused, {len(specs) - grid_runs.reused} trained) done in "
        f"{wall:.1f} s wall time ({grid.workers} workers)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
