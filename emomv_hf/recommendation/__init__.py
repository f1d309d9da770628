"""Music for a video: a retrieval model ranks a user's own library (or videos for a track), indexed with faiss.

Needs the ``recommend`` extra (faiss-cpu): ``pip install 'emomv-hf[recommend]'``; file queries also need the
``extract`` extra. ``examples/recommend.py`` is the command line; ``pipeline("music-video-retrieval", ...)``
(:mod:`emomv_hf.recommendation.pipeline`) the transformers interface.
"""

from .index import (
    EXACT_SEARCH_MAX_VECTORS,
    INDEX_TYPES,
    IndexMismatchError,
    LibraryIndex,
    StreamIndex,
    default_index_dir,
    model_fingerprint,
    model_similarity,
)
from .recommend import (
    GROUPINGS,
    ExtractorSettings,
    MusicRecommender,
    Query,
    QuerySegment,
    Recommendations,
    RecommendedItem,
    extract_query,
    features_query,
    segment_query,
)

__all__ = [
    "EXACT_SEARCH_MAX_VECTORS",
    "GROUPINGS",
    "INDEX_TYPES",
    "ExtractorSettings",
    "IndexMismatchError",
    "LibraryIndex",
    "MusicRecommender",
    "Query",
    "QuerySegment",
    "RecommendedItem",
    "Recommendations",
    "StreamIndex",
    "default_index_dir",
    "extract_query",
    "features_query",
    "model_fingerprint",
    "model_similarity",
    "segment_query",
]
