#!/usr/bin/env python
"""Reproduce Tables 8-13 of the EmoMV paper on one dataset: every model variant, both protocols, many seeds.

    python examples/reproduce_paper.py --dataset ./datasets/emomv-c --seeds 10 --output-dir OUT

Every training flag of examples/train.py that changes a result (--max-epochs, --patience, --learning-rate,
...) is accepted, with the same default. Writes OUT/runs/<run>.json as each run finishes (a killed job
resumes where it stopped; a run is reused only when the dataset, settings and package version match), then
OUT/results.md and OUT/results.json, and prints the table.

    python examples/reproduce_paper.py --dataset ./datasets/emomv-c --seeds 10 --tasks correspondence \
        --models emomv --variants multi --protocols cv --nested ens5="--ensemble-size 5 --learning-rate 1e-3" \
        --output-dir OUT

--nested runs the nested selection of docs/nested-selection.md instead (the paper's configuration, which the
other flags describe, against each named candidate) and writes OUT/nested.md and OUT/nested.json.
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
    nested_candidates,
    nested_markdown,
    parse_reproduction_arguments,
    reproduction_grid,
    results_markdown,
    run_grid,
    run_nested_selection,
)

PROG = "reproduce_paper.py"


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    try:
        grid, base = parse_reproduction_arguments(arguments, prog=PROG, description=__doc__.split("\n\n")[0])
        candidates = nested_candidates(arguments, grid, base) if grid.nested else None
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
        if candidates is not None:
            selection = run_nested_selection(
                candidates,
                grid.tasks[0],
                range(grid.seeds),
                grid.inner_folds,
                output_dir,
                grid.workers,
                base.progress,
            )
        else:
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
        kept = runs_dir if candidates is None else output_dir
        print(
            f"{PROG}: interrupted; finished runs are kept in {kept}, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    if candidates is not None:
        return _write_nested(selection, grid, output_dir, command)
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


def _write_nested(selection, grid, output_dir: Path, command: str) -> int:
    """--nested: writes OUT/nested.md and OUT/nested.json of the nested selection (docs/nested-selection.md)."""
    markdown = nested_markdown(selection, command=command, inner_folds=grid.inner_folds)
    atomic_write_json(
        output_dir / "nested.json",
        {
            "task": selection.task,
            "inner_folds": grid.inner_folds,
            "inner_scores": {str(seed): scores for seed, scores in selection.inner_scores.items()},
            "selected": {str(seed): name for seed, name in selection.selected.items()},
            "outer_runs": selection.outer_runs,
        },
    )
    atomic_write_text(output_dir / "nested.md", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
