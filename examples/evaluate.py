#!/usr/bin/env python
"""Evaluate a saved or Hub EmoMV model on an EmoMV dataset the paper's way.

    python examples/evaluate.py --model OUT --dataset ./datasets/emomv-c --output-dir EVAL

Correspondence models are scored on a `pairs` split (accuracy, F1, ROC-AUC, emotion metrics); retrieval models on
the `segments` retrieval set (top-K, mAP, Recall@K, median rank, both directions). Writes eval_results.json,
report.md and PNG plots. Warns (and report.md says) when the model's training run used the scored split
(the `paper` protocol stops on validation; see emomv_hf.evaluation.training_caveat).
"""

from __future__ import annotations

import sys
import warnings

from emomv_hf.cli import make_parser, parse_or_exit
from emomv_hf.evaluation import EmoMVEvaluationArguments, run_evaluation


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(EmoMVEvaluationArguments, description=__doc__.split("\n\n")[0])
    (args,) = parse_or_exit(parser, argv)
    try:
        with warnings.catch_warnings():
            # One `warning:` line each (the scored split was seen in training), not Python's two lines.
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = lambda message, *_: print(f"warning: {message}", file=sys.stderr)
            print(run_evaluation(args))
    # OSError: a missing folder, and a Hub model transformers cannot fetch (a mistyped id, or offline).
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
