#!/usr/bin/env python
"""Extract SlowFast (video, 2304-d) and VGGish (music, 128-d) features from your own music videos.

    python dataset_scripts/extract_features.py --media DIR_OR_CSV --output-dir OUT \\
        --slowfast-weights SLOWFAST_8x8_R50.pyth --vggish-weights vggish-10086976.pth \\
        [--segment-seconds 30] [--device cpu] [--skip-errors]

DIR: every video below it is cut into --segment-seconds segments; a parent folder named after an emotion
(``Fear/``, ``relax/``, ...) labels them. CSV: header with ``path`` and optionally ``segment_id, start, end,
emotion, source_id, split``. Writes OUT/video/*.npy, OUT/music/*.npy and OUT/segments.csv, the input of
``dataset_scripts/create_pairs.py --segments OUT/segments.csv``. Re-running resumes: existing outputs are kept.
With --skip-errors, unreadable files and failing segments are logged, listed with their reasons in
OUT/failures.csv and left out; the exit status is 0 when at least one segment has its features.
"""

from __future__ import annotations

import logging
import sys

from emomv_hf.cli import EXIT_ERROR, make_parser, run_script
from emomv_hf.features import FeatureExtractionError, MediaError, MissingWeightsError, extract_folder
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
    try:
        summary = extract_folder(
            args.media,
            args.output_dir,
            slowfast_weights=args.slowfast_weights,
            vggish_weights=args.vggish_weights,
            random_init=args.random_init,
            segment_seconds=args.segment_seconds,
            device=args.device,
            on_error=args.on_error,
            progress=args.progress,
        )
    except MissingWeightsError as error:
        raise error.for_command_line(WEIGHT_FLAGS.get(error.model, "--<model>-weights")) from None
    print(
        f"{summary.csv_path}: {summary.extracted} segment(s) extracted, {summary.skipped} already present"
        + (
            f", {len(summary.failures)} left out (see {summary.csv_path.parent / 'failures.csv'})"
            if summary.failures
            else ""
        )
    )
    if not summary.succeeded:
        print("error: no segment could be extracted", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
