#!/usr/bin/env python
"""Evaluate a saved or Hub EmoMV model on an EmoMV dataset the paper's way.

    python examples/evaluate.py --model OUT --dataset ./datasets/emomv-c --output-dir EVAL

Correspondence models are scored on a `pairs` split (accuracy, F1, ROC-AUC, emotion metrics); retrieval models on
the `segments` retrieval set (top-K, mAP, Recall@K, median rank, both directions). Writes eval_results.json,
report.md and PNG plots.
"""

from __future__ import annotations

import sys

from emomv_hf.cli import make_parser, parse_or_exit
from emomv_hf.evaluation import EmoMVEvaluationArguments, run_evaluation


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(EmoMVEvaluationArguments, description=__doc__.split("\n\n")[0])
    (args,) = parse_or_exit(parser, argv)
    try:
        print(run_evaluation(args))
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
