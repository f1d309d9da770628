#!/usr/bin/env python
"""Build the EmoMV Hub dataset folders from the authors' feature release.

    python dataset_scripts/build_emomv.py --release-dir DIR --output-dir OUT [--dataset emomv-c|...|all]
                                          [--push-to-hub ORG] [--strict]

Writes OUT/emomv-a, OUT/emomv-b, OUT/emomv-c (Parquet + dataset card), loadable with
``datasets.load_dataset("OUT/emomv-c")``. Missing release files skip their split with a warning (an error
with --strict); the exit status is 0 when at least one split was built.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from emomv_hf.data import (
    DATASET_NAMES,
    MissingReleaseFilesError,
    ReleaseFormatError,
    ReleaseNotFoundError,
    build_hub_dataset,
    format_hub_folder_summary,
    push_to_hub,
    resolve_release_dir,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release-dir", help="release root (default: $EMOMV_RELEASE_DIR, else download)")
    parser.add_argument("--output-dir", required=True, help="parent folder of the dataset folders")
    parser.add_argument("--dataset", choices=[*DATASET_NAMES, "all"], default="all")
    parser.add_argument("--push-to-hub", metavar="ORG", help="upload each folder as ORG/<dataset>")
    parser.add_argument("--private", action="store_true", help="create private Hub repositories")
    parser.add_argument("--strict", action="store_true", help="a missing release file is an error")
    return parser.parse_args(argv)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One line per warning ("warning: release file missing ...") instead of Python's source-line format.
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        return _main(parse_args(argv))


def _main(args: argparse.Namespace) -> int:
    try:
        release_dir = resolve_release_dir(args.release_dir)
    except ReleaseNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = DATASET_NAMES if args.dataset == "all" else (args.dataset,)
    built = []
    for name in names:
        try:
            folder = build_hub_dataset(release_dir, name, args.output_dir, strict=args.strict)
        except MissingReleaseFilesError as error:
            if args.strict:
                print(f"error: {error}", file=sys.stderr)
                return 1
            print(f"skipped {name}: {error}", file=sys.stderr)
            continue
        except ReleaseFormatError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(format_hub_folder_summary(folder))
        built.append((name, folder))
    if not built:
        print("error: no dataset could be built", file=sys.stderr)
        return 1
    if args.push_to_hub:
        for name, folder in built:
            url = push_to_hub(folder, f"{args.push_to_hub}/{name}", private=args.private)
            print(f"pushed {folder} to {args.push_to_hub}/{name}: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
