#!/usr/bin/env python
"""Extract SlowFast (video, 2304-d) and VGGish (music, 128-d) features from your own music videos.

    python dataset_scripts/extract_features.py --media DIR_OR_CSV_OR_DATASET --output-dir OUT \\
        --extractor extractors [--segment-seconds 30] [--skip-errors] [--num-workers 2] [--device cuda]

--extractor: the folder written by ``dataset_scripts/convert_weights.py`` (``extractors/slowfast``,
``extractors/vggish``). DIR: every media file below it is cut into --segment-seconds segments; a parent folder
named after an emotion (``Fear/``, ``relax/``, ...) labels them. CSV: header with ``path`` and optionally
``segment_id, start, end, emotion, source_id, split``. A Hub dataset (folder or ORG/NAME) with a ``Video`` column
(and optionally ``emotion``/``label``). A video-only or audio-only file gives the feature of the stream it has.

Writes the Hub dataset folder OUT (``load_dataset(OUT, "segments")``; Parquet shards + README.md), the input of
``dataset_scripts/create_pairs.py --segments OUT``. Re-running resumes: finished shards are kept. With
--skip-errors, unreadable files and failing segments are logged, listed with their reasons in OUT/failures.csv
and left out; the exit status is 0 when at least one segment has its features. Many processes:
``torchrun --nproc_per_node 2 dataset_scripts/extract_features.py ...`` or ``accelerate launch`` split the
shards between them; the result is the same folder.
"""

from __future__ import annotations

import logging
import sys

from emomv_hf.cli import EXIT_ERROR, make_parser, run_script
from emomv_hf.features import FeatureExtractionError, MediaError, MissingWeightsError, extract_dataset
from emomv_hf.features.arguments import WEIGHT_FLAGS, FeatureExtractionArguments


def build_parser():
    """`HfArgumentParser` over :class:`FeatureExtractionArguments`."""
    parser = make_parser(FeatureExtractionArguments, description=__doc__.splitlines()[0])
    parser.prog = "extract_features.py"
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv, errors=(FeatureExtractionError, MediaError))


def _run(args: FeatureExtractionArguments) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    slowfast, vggish = args.weights()
    if args.random_init and (slowfast is None or vggish is None):
        logging.getLogger("extract_features").warning(
            "RANDOM WEIGHTS (--random-init): the extracted features are meaningless; for tests only"
        )
    try:
        summary = extract_dataset(
            args.media,
            args.output_dir,
            slowfast_weights=slowfast,
            vggish_weights=vggish,
            random_init=args.random_init,
            segment_seconds=args.segment_seconds,
            device=args.device,
            on_error=args.on_error,
            progress=args.progress,
            files_per_shard=args.files_per_shard,
            num_workers=args.num_workers,
            batch_size=args.batch_size,
            dataset_split=args.dataset_split,
        )
    except MissingWeightsError as error:
        raise error.for_command_line(WEIGHT_FLAGS.get(error.model, "--<model>-weights")) from None
    from accelerate import PartialState

    if not PartialState().is_main_process:  # the state extract_dataset set up
        return 0
    print(
        f"{summary.output_dir}: {summary.rows} segment(s), {summary.extracted} extracted now, "
        f"{summary.skipped} already present"
        + (
            f", {len(summary.all_failures)} left out (see {summary.output_dir / 'failures.csv'})"
            if summary.all_failures
            else ""
        )
    )
    if not summary.rows:
        print("error: no segment could be extracted", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
