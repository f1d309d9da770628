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
``dataset_scripts/create_pairs.py --segments OUT``. Re-running resumes and is never stale: the rows of files
whose bytes, listing, segment length and extractors are unchanged are kept; new and changed files are
extracted, shards made with other extractors or settings are redone (a line says why), removed files are
dropped. Segment ids come from the path below the media folder (``Fear/video1.mp4`` -> ``Fear-video1_01``). With
--skip-errors, unreadable files and failing segments are logged, listed with their reasons in OUT/failures.csv
and left out; the exit status is 0 when at least one segment has its features. Many processes:
``torchrun --nproc_per_node 2 dataset_scripts/extract_features.py ...`` or ``accelerate launch`` split the
shards between them; the result is the same folder. A second extraction into a folder being written is refused
(OUT/.extraction.lock, an OS lock: a killed run's lock goes with its process).
"""

from __future__ import annotations

import logging
import sys

from emomv_hf.cli import EXIT_ERROR, make_parser, run_script
from emomv_hf.features.arguments import ExtractorArguments, FeatureExtractionArguments
from emomv_hf.features.extract import FeatureExtractionError, extract_dataset
from emomv_hf.features.media import MediaError


def build_parser():
    """`HfArgumentParser` over :class:`FeatureExtractionArguments` and :class:`ExtractorArguments`."""
    arguments = (FeatureExtractionArguments, ExtractorArguments)
    return make_parser(*arguments, prog="extract_features.py", description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv, errors=(FeatureExtractionError, MediaError))


def _run(args: FeatureExtractionArguments, extractor: ExtractorArguments) -> int:
    # load_extractor warns when an extractor gets random weights (--random-init).
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = extract_dataset(args.media, args.output_dir, **args.extraction_options(extractor))
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
