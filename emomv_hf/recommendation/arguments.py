"""Command-line arguments of ``examples/recommend.py``: one dataclass, parsed by ``transformers.HfArgumentParser``
beside :class:`~emomv_hf.features.arguments.ExtractorArguments` (the extractors of file queries; see
:func:`emomv_hf.cli.run_script`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..cli import check_flags

QUERY_FLAGS = ("video", "music", "segment")


@dataclass(kw_only=True)
class RecommendArguments:
    """A retrieval model, a library, and one query (or only ``--build-index``)."""

    model: str = field(metadata={"help": "retrieval model: a folder written by train.py or a Hub model id"})
    library: str = field(
        metadata={
            "help": "segments dataset to rank: a folder (extract_features.py output, build_emomv.py output) or a "
            "Hub dataset id"
        }
    )
    video: str | None = field(
        default=None, metadata={"metavar": "FILE", "help": "query video file: rank the library's music"}
    )
    music: str | None = field(
        default=None, metadata={"metavar": "FILE", "help": "query music file: rank the library's videos"}
    )
    segment: str | None = field(
        default=None, metadata={"metavar": "ID", "help": "query by a library segment id (see --query-stream)"}
    )
    query_stream: Literal["video", "music"] = field(
        default="video",
        metadata={"help": "which side of --segment is the query: video (rank music) or music (rank videos)"},
    )
    top_k: int = field(default=10, metadata={"help": "how many tracks (or segments) to list"})
    per: Literal["track", "segment"] = field(
        default="track", metadata={"help": "rank whole tracks (best segment) or single segments"}
    )
    json: bool = field(default=False, metadata={"help": "print the result as JSON instead of a table"})
    build_index: bool = field(
        default=False,
        metadata={
            "help": "(re)build the library's index for this model; alone, only build it. Without it an index is "
            "built when none exists"
        },
    )
    index_dir: str | None = field(
        default=None,
        metadata={
            "metavar": "DIR",
            "help": "where the index lives (default: LIBRARY/retrieval-index/<model>)",
        },
    )
    split: str | None = field(
        default=None, metadata={"help": "the library split to index (default: all splits)"}
    )
    index_type: Literal["auto", "exact", "hnsw"] = field(
        default="auto", metadata={"help": "exact or HNSW search (auto: by size)"}
    )
    progress: bool = field(default=True, metadata={"help": "show progress bars while indexing"})

    def __post_init__(self) -> None:
        queries = [flag for flag in QUERY_FLAGS if getattr(self, flag) is not None]
        if len(queries) > 1:
            raise ValueError(f"give one query, not {' and '.join('--' + flag for flag in queries)}")
        if not queries and not self.build_index:
            raise ValueError("give a query (--video FILE, --music FILE or --segment ID) or --build-index")
        check_flags({"top_k": (self.top_k >= 1, ">= 1")}, self)

    @property
    def query(self) -> dict[str, str]:
        """The query as keyword arguments of :meth:`MusicRecommender.recommend` (empty: only build)."""
        return {flag: getattr(self, flag) for flag in QUERY_FLAGS if getattr(self, flag) is not None}


__all__ = ["RecommendArguments"]
