#!/usr/bin/env python
"""Compare two result folders of the cv protocol, fold by fold: mean difference, 95 % CI, verdict per metric.

    python examples/compare.py OUT_A OUT_B [--metrics accuracy roc_auc] [--config emomv-correspondence-multi]

A and B: folders written by examples/reproduce_paper.py --output-dir (their results.json), with cv runs
over the same dataset, folds and seeds. The configurations of the same name in A and B are compared (B
against A); --config picks one, --config-b names B's when it differs (two rows of one reproduction, e.g.
--config baseline-correspondence-multi --config-b emomv-correspondence-multi). For each, a Markdown table:
metric, mean A, mean B, mean per-fold difference B - A, its 95 % confidence interval (corrected resampled t,
Nadeau & Bengio 2003) and a verdict ("better"/"worse" only where the interval excludes 0, else "no
difference").

The correction needs each fold's numbers of training and test pairs: runs record them; for runs written before
they did, --dataset computes them from the fold assignment, and without it n_test/n_train = 1/(k-1) is assumed
(the method line says which).

Folds are paired only when they hold the same pairs: every run records which pairs its test fold holds
(test_pairs_sha256), and a fold whose pairs differ between A and B (another scikit-learn may draw other folds) is
refused in one line naming both. Runs recorded before they did so are paired unchecked, and the method line says
for how many folds.
"""

from __future__ import annotations

import argparse
import sys

from emomv_hf.comparison import (
    CONFIDENCE,
    ComparisonError,
    ConfigurationResults,
    Fold,
    comparison_markdown,
    paired_comparison,
    read_results,
)
from emomv_hf.io_utils import dataset_folder_sha256

PROG = "compare.py"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("a", metavar="A", help="The reference result folder (A).")
    parser.add_argument("b", metavar="B", help="The result folder compared against it (B).")
    parser.add_argument(
        "--metrics",
        nargs="+",
        default=None,
        help="Metrics to compare (default: the paper's metrics of the task).",
    )
    parser.add_argument(
        "--config", default=None, help="The configuration to compare, e.g. emomv-correspondence-multi."
    )
    parser.add_argument("--config-b", default=None, help="B's configuration when it differs from --config.")
    parser.add_argument(
        "--dataset",
        default=None,
        help="The local dataset folder the runs used, to compute fold sizes older runs did not record.",
    )
    parser.add_argument(
        "--confidence", type=float, default=CONFIDENCE, help="Two-sided confidence level (default 0.95)."
    )
    return parser.parse_args(argv)


def pairs_to_compare(
    a: dict[str, ConfigurationResults],
    b: dict[str, ConfigurationResults],
    config: str | None,
    config_b: str | None,
) -> list[tuple[ConfigurationResults, ConfigurationResults]]:
    if config_b is not None and config is None:
        raise ComparisonError("--config-b needs --config (A's configuration)")
    if config is not None:
        name_b = config_b or config
        for name, results in ((config, a), (name_b, b)):
            if name not in results:
                source = next(iter(results.values())).source
                raise ComparisonError(f"{source} holds no {name} (it holds {', '.join(sorted(results))})")
        return [(a[config], b[name_b])]
    common = [name for name in sorted(a) if name in b]
    if common:
        return [(a[name], b[name]) for name in common]
    raise ComparisonError(
        f"no configuration in both folders (A: {', '.join(sorted(a))}; B: {', '.join(sorted(b))}); pick them with "
        "--config and --config-b"
    )


def fold_sizes(dataset: str, folds: list[Fold], expected_fingerprint: str) -> dict[Fold, tuple[int, int]]:
    """(n_train, n_test) pairs of each outer cv fold, computed as the cv protocol draws them
    (emomv_hf.training.protocols.cv_folds, which the cv protocol's runs use)."""
    from emomv_hf.data.loading import load_emomv
    from emomv_hf.training.protocols import cv_folds

    fingerprint = dataset_folder_sha256(dataset)
    if fingerprint is None:
        raise ComparisonError(f"--dataset {dataset}: not a local dataset folder with Parquet files")
    if expected_fingerprint.startswith("sha256:") and fingerprint != expected_fingerprint:
        raise ComparisonError(
            f"--dataset {dataset}: its content ({fingerprint[:19]}...) is not the dataset the runs used "
            f"({expected_fingerprint[:19]}...)"
        )
    pairs = load_emomv(dataset, "pairs")
    sizes: dict[Fold, tuple[int, int]] = {}
    for repetition in sorted({fold.repetition for fold in folds}):
        k = folds[0].folds
        for index, (train_rows, test_rows) in enumerate(cv_folds(pairs, k, repetition)[1]):
            sizes[Fold(repetition, index, k)] = (len(train_rows), len(test_rows))
    return sizes


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        results_a, results_b = read_results(arguments.a), read_results(arguments.b)
        sections = []
        for a, b in pairs_to_compare(results_a, results_b, arguments.config, arguments.config_b):
            sizes = fold_sizes(arguments.dataset, a.folds, a.dataset) if arguments.dataset else None
            comparison = paired_comparison(
                a, b, arguments.metrics, confidence=arguments.confidence, fold_sizes=sizes
            )
            title = a.name if a.name == b.name else f"{a.name} (A) vs {b.name} (B)"
            sections.append(f"## {title}\n\n" + comparison_markdown(comparison))
    except ComparisonError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(sections), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
