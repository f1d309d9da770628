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

import sys

from emomv_hf.cli import EXIT_ERROR, make_parser, run_script
from emomv_hf.data.arguments import BuildEmoMVArguments, DatasetOutputArguments
from emomv_hf.data.build import build_hub_dataset, format_hub_folder_summary
from emomv_hf.data.release import MissingReleaseFilesError, resolve_release_dir
from emomv_hf.hub import push_datasets


def build_parser():
    arguments = (BuildEmoMVArguments, DatasetOutputArguments)
    return make_parser(*arguments, prog="build_emomv.py", description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv)


def _run(args: BuildEmoMVArguments, output: DatasetOutputArguments) -> int:
    release_dir = resolve_release_dir(args.release_dir)
    built = []
    for name in args.dataset_names:
        try:
            folder = build_hub_dataset(
                release_dir,
                name,
                args.output_dir,
                strict=args.strict,
                overwrite=output.overwrite,
                repo_id=f"{output.push_to_hub}/{name}" if output.push_to_hub else None,
            )
        except MissingReleaseFilesError as error:
            if args.strict:
                raise
            print(f"skipped {error}", file=sys.stderr)  # the error starts with the dataset's name
            continue
        print(format_hub_folder_summary(folder))
        built.append(folder)
    if not built:
        print("error: no dataset could be built", file=sys.stderr)
        return EXIT_ERROR
    push_datasets(output, built)
    return 0


if __name__ == "__main__":
    sys.exit(main())
