"""Command-line arguments of ``examples/recommend.py``: one dataclass, parsed beside
:class:`QueryExtractorArguments` (the extractors of file queries; see :func:`emomv_hf.cli.run_script`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..cli import check_flags, flag
from ..features.arguments import ExtractorArguments

QUERY_FLAGS = ("video", "music", "segment")


@dataclass(kw_only=True)
class RecommendArguments:
    """A retrieval model, a library, and one query (or only ``--build-index``)."""

    model: str = flag("retrieval model: a folder written by train.py or a Hub model id")
    library: str = flag(
        "segments dataset to rank: a folder (extract_features.py output, build_emomv.py output) or a "
        "Hub dataset id"
    )
    video: str | None = flag("query video file: rank the library's music", default=None, metavar="FILE")
    music: str | None = flag("query music file: rank the library's videos", default=None, metavar="FILE")
    segment: str | None = flag(
        "query by a library segment id (see --query-stream)", default=None, metavar="ID"
    )
    query_stream: Literal["video", "music"] = flag(
        "which side of --segment is the query: video (rank music) or music (rank videos)", default="video"
    )
    top_k: int = flag("how many tracks (or segments) to list", default=10)
    per: Literal["track", "segment"] = flag(
        "rank whole tracks (best segment) or single segments", default="track"
    )
    json: bool = flag("print the result as JSON instead of a table", default=False)
    build_index: bool = flag(
        "(re)build the library's index for this model; alone, only build it. Without it an index is "
        "built when none exists",
        default=False,
    )
    index_dir: str | None = flag(
        "where the index lives; a stale one here is refused, not rebuilt (default: a folder per library and "
        "model in the Hugging Face cache, $HF_HOME/emomv_hf/retrieval-index)",
        default=None,
        metavar="DIR",
    )
    split: str | None = flag("the library split to index (default: all splits)", default=None)
    index_type: Literal["auto", "exact", "hnsw"] = flag(
        "exact or HNSW search (auto: by size)", default="auto"
    )
    progress: bool = flag("show progress bars while indexing", default=True)

    def __post_init__(self) -> None:
        if len(self.query) > 1:
            raise ValueError(f"give one query, not {' and '.join('--' + name for name in self.query)}")
        if not self.query and not self.build_index:
            raise ValueError("give a query (--video FILE, --music FILE or --segment ID) or --build-index")
        check_flags({"top_k": (self.top_k >= 1, ">= 1")}, self)

    @property
    def query(self) -> dict[str, str]:
        """The query as keyword arguments of :meth:`MusicRecommender.recommend` (empty: only build)."""
        return {name: getattr(self, name) for name in QUERY_FLAGS if getattr(self, name) is not None}


DEFAULT_SEGMENT_SECONDS = ExtractorArguments.__dataclass_fields__["segment_seconds"].default
"""The segment length of a query file when neither the user nor the library's extraction gives one."""


@dataclass(kw_only=True)
class QueryExtractorArguments(ExtractorArguments):
    """:class:`ExtractorArguments` of file queries, whose segment length is unset by default: a query is then cut
    as the library was (:meth:`for_library`)."""

    segment_seconds: float | None = flag(
        "length of the segments a query file is cut into (default: the length the library was "
        f"extracted with, else {DEFAULT_SEGMENT_SECONDS:g})",
        default=None,
    )


def query_extractors(extractors: ExtractorArguments | None, library: str | None) -> ExtractorArguments:
    """The extractors of file queries with the segment length settled: the one ``extractors`` sets, else the
    library's (recorded by the extraction that wrote the ``library`` folder; a built EmoMV dataset or a Hub id
    records none), else :data:`DEFAULT_SEGMENT_SECONDS`. A set length that differs from the library's is used,
    with a one-line warning (the rankings then compare unlike segments)."""
    import warnings
    from pathlib import Path

    from ..features.extract import recorded_extraction_settings

    recorded = recorded_extraction_settings(Path(library).expanduser()) if library else None
    library_seconds = (recorded or {}).get("segment_seconds")
    extractors = extractors or QueryExtractorArguments()
    chosen = extractors.segment_seconds
    if chosen is None:
        chosen = library_seconds or DEFAULT_SEGMENT_SECONDS
    elif library_seconds is not None and chosen != library_seconds:
        warnings.warn(
            f"--segment-seconds {chosen:g} differs from the {library_seconds:g} s segments the library was "
            f"extracted with: query files are cut into {chosen:g} s segments",
            stacklevel=2,
        )
    return dataclasses.replace(extractors, segment_seconds=chosen)
