#!/usr/bin/env python
"""Find music for a video (or videos for a track) in your own library with an EmoMV retrieval model.

    python examples/recommend.py --model OUT --library my_features --video my_clip.mp4 --extractor extractors
    python examples/recommend.py --model OUT --library datasets/emomv-c --segment ID [--query-stream music]
    python examples/recommend.py --model OUT --library my_features --build-index

--library: a ``segments`` dataset (extract_features.py's output folder, an EmoMV dataset folder, or a Hub id).
The first query (or --build-index) encodes the library with the model and saves a faiss index in the Hugging Face
cache ($HF_HOME/emomv_hf/retrieval-index/<library>-<key>/<model fingerprint>; --index-dir chooses another folder);
later queries load it. When the library's content changes, its cached index is rebuilt (with a warning); a stale
--index-dir, or an index built by another model, is refused. A query file is cut into segments as long as the
library's extraction recorded (--segment-seconds overrides it, with a warning).
Prints the ranked tracks (score, best segment and its time range, predicted emotions, file) as a table, or
with --json as JSON (the schema of ``Recommendations.to_dict``).
"""

from __future__ import annotations

import json
import sys

from emomv_hf.cli import make_parser, run_script
from emomv_hf.features.extract import FeatureExtractionError
from emomv_hf.features.media import MediaError
from emomv_hf.recommendation.arguments import QueryExtractorArguments, RecommendArguments


def build_parser():
    """`HfArgumentParser` over :class:`RecommendArguments` and :class:`QueryExtractorArguments` (file queries)."""
    arguments = (RecommendArguments, QueryExtractorArguments)
    return make_parser(*arguments, prog="recommend.py", description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv, errors=(FeatureExtractionError, MediaError))


def _run(args: RecommendArguments, extractor: QueryExtractorArguments) -> int:
    from emomv_hf.recommendation.recommend import MusicRecommender

    recommender = MusicRecommender.from_pretrained(
        args.model,
        args.library,
        index_dir=args.index_dir,
        split=args.split,
        index_type=args.index_type,
        rebuild=args.build_index,
        extractors=extractor,
        progress=args.progress,
    )
    if not args.query:
        index = recommender.index
        print(json.dumps({"index_dir": str(index.path), **index.info}, indent=2) if args.json else index)
        return 0
    result = recommender.recommend(
        top_k=args.top_k, per=args.per, query_stream=args.query_stream, **args.query
    )
    print(result.to_json() if args.json else result.to_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
