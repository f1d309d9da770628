"""Command-line arguments of ``examples/recommend.py``: one dataclass, parsed by ``transformers.HfArgumentParser``
beside :class:`QueryExtractorArguments` (the extractors of file queries; see :func:`emomv_hf.cli.run_script`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from ..cli import check_flags
from ..features.arguments import ExtractorArguments

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
            "help": "where the index lives; a stale one here is refused, not rebuilt (default: a folder per "
            "library and model in the Hugging Face cache, $HF_HOME/emomv_hf/retrieval-index)",
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
        if len(self.query) > 1:
            raise ValueError(f"give one query, not {' and '.join('--' + flag for flag in self.query)}")
        if not self.query and not self.build_index:
            raise ValueError("give a query (--video FILE, --music FILE or --segment ID) or --build-index")
        check_flags({"top_k": (self.top_k >= 1, ">= 1")}, self)

    @property
    def query(self) -> dict[str, str]:
        """The query as keyword arguments of :meth:`MusicRecommender.recommend` (empty: only build)."""
        return {flag: getattr(self, flag) for flag in QUERY_FLAGS if getattr(self, flag) is not None}


DEFAULT_SEGMENT_SECONDS = ExtractorArguments.__dataclass_fields__["segment_seconds"].default
"""The segment length of a query file when neither the user nor the library's extraction gives one."""


@dataclass(kw_only=True)
class QueryExtractorArguments(ExtractorArguments):
    """:class:`ExtractorArguments` of file queries, whose segment length is unset by default: a query is then cut
    as the library was (:meth:`for_library`)."""

    segment_seconds: float | None = field(
        default=None,
        metadata={
            "help": "length of the segments a query file is cut into (default: the length the library was "
            f"extracted with, else {DEFAULT_SEGMENT_SECONDS:g})"
        },
    )

    def __post_init__(self) -> None:
        # The parent's checks (the length's only when one is given).
        given = self.segment_seconds
        self.segment_seconds = DEFAULT_SEGMENT_SECONDS if given is None else given
        super().__post_init__()
        self.segment_seconds = given


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
