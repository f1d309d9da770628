"""Music for a video: a retrieval model ranks a user's own library (or videos for a track), indexed with faiss.

Needs the ``recommend`` extra (faiss-cpu): ``pip install 'emomv-hf[recommend]'``; file queries also need the
``extract`` extra. ``examples/recommend.py`` is the command line; ``pipeline("music-video-retrieval", ...)``
(:mod:`emomv_hf.recommendation.pipeline`) the transformers interface. :class:`PairMatcher`
(:mod:`emomv_hf.recommendation.match`) scores one video-music pair with a correspondence model (the Space's
"Do these match?", ``examples/space/app.py``).

The names below are imported on first use, so that registering the pipeline task (on ``import emomv_hf``)
does not import datasets and faiss.
"""

from __future__ import annotations

from emomv_hf.lazy_imports import lazy_namespace

_EXPORTS = {
    "index": (
        "EXACT_SEARCH_MAX_VECTORS",
        "INDEX_TYPES",
        "IndexMismatchError",
        "LibraryIndex",
        "StreamIndex",
        "default_index_dir",
        "model_fingerprint",
        "model_similarity",
    ),
    "recommend": (
        "GROUPINGS",
        "ExtractorSettings",
        "MusicRecommender",
        "Query",
        "QuerySegment",
        "Recommendations",
        "RecommendedItem",
        "UnknownSegmentError",
        "extract_query",
        "features_query",
        "segment_query",
    ),
    "match": ("LibrarySegments", "MatchResult", "PairMatcher", "PairScore", "check_correspondence_model"),
    "pipeline": ("TASK", "MusicVideoRetrievalPipeline", "register_pipeline"),
}

__getattr__, __dir__, __all__ = lazy_namespace(__name__, globals(), _EXPORTS)
