#!/usr/bin/env python
"""Make matched/mismatched music-video pairs from labelled segments (EmoMV paper, section 3.1).

    python dataset_scripts/create_pairs.py --segments SEGMENTS --output-dir OUT [--name NAME] [--seed 0]
                                           [--no-balance] [--group-by-source] [--allow-degenerate]
                                           [--license ID] [--overwrite] [--push-to-hub ORG]

SEGMENTS is a folder written by ``dataset_scripts/extract_features.py`` (its splits are kept when it has more
than ``train``; every segment needs an emotion and both streams), or a CSV with a header with ``segment_id,
emotion, video_features, music_features`` and optionally ``source_id`` and ``split``; feature columns name
``.npy``/``.h5`` files relative to the CSV (``file.h5#ROW`` picks a row of a 2-D array). Writes OUT/NAME in the layout of the EmoMV Hub datasets.
A split that gets no matched or no mismatched pair is refused (the error says which emotions are missing)
unless --allow-degenerate. The dataset card states --license (a Hub licence id; default other: unknown) and
loads the dataset from the Hub id of --push-to-hub, else from OUT/NAME as given.
"""

from __future__ import annotations

import dataclasses
import sys

from emomv_hf.cli import make_parser, run_script
from emomv_hf.data.arguments import CreatePairsArguments, DatasetLicenseArguments, DatasetOutputArguments
from emomv_hf.data.build import build_pairs_dataset, format_hub_folder_summary
from emomv_hf.hub import push_datasets


def build_parser():
    arguments = (CreatePairsArguments, DatasetOutputArguments, DatasetLicenseArguments)
    return make_parser(*arguments, prog="create_pairs.py", description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv)


def _run(args: CreatePairsArguments, output: DatasetOutputArguments, card: DatasetLicenseArguments) -> int:
    folder = build_pairs_dataset(
        **dataclasses.asdict(args),
        overwrite=output.overwrite,
        license=card.license,
        repo_id=f"{output.push_to_hub}/{args.name}" if output.push_to_hub else None,
    )
    print(format_hub_folder_summary(folder))
    push_datasets(output, [folder])
    return 0


if __name__ == "__main__":
    sys.exit(main())
