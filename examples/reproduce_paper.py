#!/usr/bin/env python
"""Reproduce Tables 8-13 of the EmoMV paper on one dataset: every model variant, both protocols, many seeds.

    python examples/reproduce_paper.py --dataset ./datasets/emomv-c --seeds 10 --output-dir OUT

Writes OUT/runs/<run>.json as each run finishes (a killed job resumes where it stopped), then OUT/results.md
and OUT/results.json, and prints the table.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from emomv_hf.io_utils import atomic_write_json, atomic_write_text
from emomv_hf.reproduction import VARIANTS, reproduction_grid, results_markdown, run_grid
from emomv_hf.training.arguments import MODELS, PROTOCOLS, TASKS, EmoMVTrainingArguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", required=True, help="Hub dataset id or local folder built by build_emomv.py."
    )
    parser.add_argument("--output-dir", required=True, help="Where runs/, results.md and results.json go.")
    parser.add_argument("--seeds", type=int, default=10, help="Number of seeds per row (seeds 0..N-1).")
    parser.add_argument(
        "--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS, help="Protocols to run."
    )
    parser.add_argument(
        "--models", nargs="+", default=list(MODELS), choices=MODELS, help="Model families to run."
    )
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, help="Tasks to run.")
    parser.add_argument(
        "--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS, help="multi and/or single."
    )
    parser.add_argument("--max-epochs", type=int, default=1000, help="Upper bound on epochs per run.")
    parser.add_argument("--patience", type=int, default=20, help="Early-stopping patience.")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="Parallel training processes (one thread each).",
    )
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python examples/reproduce_paper.py " + " ".join(
        shlex.quote(arg) for arg in (argv or sys.argv[1:])
    )
    base = EmoMVTrainingArguments(dataset=args.dataset, max_epochs=args.max_epochs, patience=args.patience)
    specs = reproduction_grid(range(args.seeds), args.protocols, args.models, args.tasks, args.variants)
    output_dir = Path(args.output_dir)
    started = time.perf_counter()
    runs = run_grid(specs, base, output_dir / "runs", workers=args.workers, progress=not args.no_progress)
    wall = time.perf_counter() - started
    markdown = results_markdown(runs, dataset=args.dataset, command=command)
    atomic_write_json(output_dir / "results.json", runs)
    atomic_write_text(output_dir / "results.md", markdown)
    print(markdown)
    print(f"{len(specs)} runs done in {wall:.1f} s wall time ({args.workers} workers).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
