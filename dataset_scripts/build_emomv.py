#!/usr/bin/env python
"""Build the EmoMV Hub dataset folders from the authors' feature release.

    python dataset_scripts/build_emomv.py --release-dir DIR --output-dir OUT [--dataset emomv-c|...|all]
                                          [--push-to-hub ORG] [--strict] [--overwrite]

Writes OUT/emomv-a, OUT/emomv-b, OUT/emomv-c (Parquet + dataset card), loadable with
``datasets.load_dataset("OUT/emomv-c")``. Missing release files skip their split with a warning (an error
with --strict); the exit status is 0 when at least one split was built. A dataset folder holding files a build
does not write (yours) is not replaced without --overwrite.
"""

from __future__ import annotations

import argparse
import sys

from emomv_hf.cli import EXIT_ERROR, add_dataset_output_arguments, push_datasets, run_script
from emomv_hf.data import (
    DATASET_NAMES,
    MissingReleaseFilesError,
    build_hub_dataset,
    format_hub_folder_summary,
    resolve_release_dir,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release-dir", help="release root (default: $EMOMV_RELEASE_DIR, else download)")
    parser.add_argument("--output-dir", required=True, help="parent folder of the dataset folders")
    parser.add_argument("--dataset", choices=[*DATASET_NAMES, "all"], default="all")
    parser.add_argument("--strict", action="store_true", help="a missing release file is an error")
    add_dataset_output_arguments(parser, "<dataset>")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv)


def _run(args: argparse.Namespace) -> int:
    release_dir = resolve_release_dir(args.release_dir)
    names = DATASET_NAMES if args.dataset == "all" else (args.dataset,)
    built = []
    for name in names:
        try:
            folder = build_hub_dataset(
                release_dir, name, args.output_dir, strict=args.strict, overwrite=args.overwrite
            )
        except MissingReleaseFilesError as error:
            if args.strict:
                raise
            print(f"skipped {name}: {error}", file=sys.stderr)
            continue
        print(format_hub_folder_summary(folder))
        built.append((name, folder))
    if not built:
        print("error: no dataset could be built", file=sys.stderr)
        return EXIT_ERROR
    push_datasets(args, [folder for _, folder in built])
    return 0


if __name__ == "__main__":
    sys.exit(main())
