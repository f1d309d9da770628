#!/usr/bin/env python
"""Make an EmoMV-style dataset from unlabelled music videos with an emotion tagger (EmoMV paper, sections 3.2-3.3).

    python dataset_scripts/create_dataset.py --media DIR_OR_CSV_OR_HUB_ID --tagger M --output-dir OUT \\
        [--segment-seconds 30] [--max-segments-per-source 2] [--extractor extractors] [--license ID] \\
        [--push-to-hub ORG/NAME]

--media: an EmoMV dataset folder or a folder written by extract_features.py (its segments are read), else raw
media (extracted first into OUT.work/features with the flags of extract_features.py: --extractor, --segment-seconds,
...). --tagger: a folder written by ``examples/train.py --task tagging`` (or a Hub id). Each segment is tagged from
video only, music only and both; it is kept when the three agree and are not neutral; at most
--max-segments-per-source segments of a source are kept; the sources are split 80/20; each split is paired
(matched and mismatched pairs, balanced). Writes OUT (configs ``pairs`` and ``segments``, and a dataset card that
counts every filter) and prints what every stage kept and why the others went. Reruns resume: finished
extraction shards and the tags (OUT.work/tags.parquet) are reused. The card states --license (a Hub licence id;
default other: unknown) and loads the dataset from --push-to-hub's id, else from OUT as given.
"""

from __future__ import annotations

import logging
import sys

from emomv_hf.cli import make_parser, run_script
from emomv_hf.data.arguments import DatasetLicenseArguments
from emomv_hf.data.create import create_dataset
from emomv_hf.features.arguments import CreateDatasetArguments, ExtractorArguments
from emomv_hf.features.extract import FeatureExtractionError
from emomv_hf.features.media import MediaError
from emomv_hf.hub import push_to_hub
from emomv_hf.io_utils import progress_bars_off


def build_parser():
    arguments = (CreateDatasetArguments, ExtractorArguments, DatasetLicenseArguments)
    return make_parser(*arguments, prog="create_dataset.py", description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv, errors=(FeatureExtractionError, MediaError))


def _run(args: CreateDatasetArguments, extractor: ExtractorArguments, card: DatasetLicenseArguments) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Where stderr is not a terminal, the libraries' bars (the tagger's "Loading weights", datasets' "Generating ...
    # split", uploads) stay quiet: in a log, the extraction's own labelled bar is the one worth keeping.
    libraries = () if sys.stderr.isatty() else ("transformers", "datasets", "huggingface_hub")
    with progress_bars_off(*libraries):
        summary = create_dataset(
            args.media,
            args.tagger,
            args.output_dir,
            work_dir=args.work_dir,
            max_segments_per_source=args.max_segments_per_source or None,
            validation_fraction=args.validation_fraction,
            seed=args.seed,
            tagging_batch_size=args.tagging_batch_size,
            extraction=args.extraction_options(extractor),
            allow_degenerate=args.allow_degenerate,
            overwrite=args.overwrite,
            repo_id=args.push_to_hub,
            license=card.license,
        )
        print(summary.describe())
        if args.push_to_hub:  # huggingface_hub's upload bars nest too
            url = push_to_hub(summary.folder, args.push_to_hub, repo_type="dataset", private=args.private)
            print(f"pushed {summary.folder} to {args.push_to_hub}: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
