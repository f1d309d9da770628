#!/usr/bin/env python
"""Evaluate a saved or Hub EmoMV model on an EmoMV dataset the paper's way.

    python examples/evaluate.py --model OUT --dataset ./datasets/emomv-c --output-dir EVAL

Correspondence models are scored on a `pairs` split (accuracy, F1, ROC-AUC, emotion metrics); retrieval models on
the `segments` retrieval set (top-K, mAP, Recall@K, median rank, both directions). Writes eval_results.json,
report.md and PNG plots.
"""

from __future__ import annotations

import argparse
import sys

from emomv_hf.evaluation import run_evaluation


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="A folder written by train.py, or a Hub model id.")
    parser.add_argument(
        "--dataset", required=True, help="Hub dataset id or local folder built by build_emomv.py."
    )
    parser.add_argument(
        "--split",
        default=None,
        help="Pairs split for correspondence models (default: test if present, else validation).",
    )
    parser.add_argument(
        "--output-dir", required=True, help="Where eval_results.json, report.md and plots go."
    )
    parser.add_argument("--batch-size", type=int, default=1024, help="Evaluation batch size.")
    parser.add_argument("--no-plots", action="store_true", help="Skip the PNG plots.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary = run_evaluation(
        args.model,
        args.dataset,
        args.output_dir,
        split=args.split,
        batch_size=args.batch_size,
        plots=not args.no_plots,
    )
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
