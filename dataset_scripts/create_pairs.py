#!/usr/bin/env python
"""Make matched/mismatched music-video pairs from labelled segments (EmoMV paper, section 3.1).

    python dataset_scripts/create_pairs.py --segments segments.csv --output-dir OUT [--name NAME] [--seed 0]
                                           [--no-balance] [--group-by-source] [--allow-degenerate]
                                           [--overwrite] [--push-to-hub ORG]

segments.csv has a header with ``segment_id, emotion, video_features, music_features`` and optionally
``source_id`` and ``split``; feature columns name ``.npy``/``.h5`` files relative to the CSV
(``file.h5#ROW`` picks a row of a 2-D array). Writes OUT/NAME in the layout of the EmoMV Hub datasets.
A split that gets no matched or no mismatched pair is refused (the error says which emotions are missing)
unless --allow-degenerate.
"""

from __future__ import annotations

import argparse
import sys

from emomv_hf.cli import add_dataset_output_arguments, push_datasets, run_script
from emomv_hf.data import build_pairs_dataset, format_hub_folder_summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", required=True, help="CSV of labelled segments")
    parser.add_argument("--output-dir", required=True, help="parent folder of the dataset folder")
    parser.add_argument("--name", default="emomv-pairs", help="dataset folder / repository name")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-balance", action="store_true", help="keep every matched pair")
    parser.add_argument(
        "--group-by-source",
        action="store_true",
        help="without a split column: split train/validation grouped by source video (EmoMV-C)",
    )
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--max-per-source", type=int, default=2, help="0: no cap")
    parser.add_argument(
        "--allow-degenerate",
        action="store_true",
        help="write splits without matched or without mismatched pairs (with a warning) instead of refusing",
    )
    add_dataset_output_arguments(parser, "NAME")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv)


def _run(args: argparse.Namespace) -> int:
    folder = build_pairs_dataset(
        args.segments,
        args.output_dir,
        name=args.name,
        seed=args.seed,
        balance=not args.no_balance,
        group_by_source=args.group_by_source,
        validation_fraction=args.validation_fraction,
        max_per_source=args.max_per_source or None,
        allow_degenerate=args.allow_degenerate,
        overwrite=args.overwrite,
    )
    print(format_hub_folder_summary(folder))
    push_datasets(args, [folder])
    return 0


if __name__ == "__main__":
    sys.exit(main())
