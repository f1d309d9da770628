"""Ranking a library's tracks (or videos) for a query: a media file, a library segment or raw features.

A query has one stream (the video of a clip, or the music of a track) and ranks the library's other stream.
A long query is cut into segments as the library was (`extract_dataset`'s segmenting, with the segment length
its extraction recorded unless the user sets another: :func:`~.arguments.query_extractors`), and the score of a
library segment is the mean of the model's similarity with every query segment; a track scores as its best
segment, which is reported with the query segment that fits it best. For the inner-product similarities the
mean over query segments is the inner product with the mean query vector, which is what faiss searches; the
candidates it returns are re-scored with the model's own `pairwise_similarity`; the baseline's similarity of a
query of several segments has no such vector, so it scores the whole library. Equal scores keep the library's
order.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel

from emomv_hf.emotions import EMOTIONS
from emomv_hf.features.arguments import ExtractorArguments

from .arguments import query_extractors
from .index import OTHER_STREAM, STREAMS, LibraryIndex, StreamIndex, encode_features, task_model

GROUPINGS = ("track", "segment")
QUERY_KEYS = ("video", "music", "segment", "video_features", "music_features")
CANDIDATE_FACTOR = 4
"""Segments fetched per wanted track in a first search; widened until enough distinct tracks are found."""


class UnknownSegmentError(KeyError, ValueError):
    """A segment query names a segment the library's index does not hold."""

    def __str__(self) -> str:  # KeyError's str() would quote the message
        return str(self.args[0])


@dataclass
class QuerySegment:
    """One segment of a query: its id and time window (seconds; `None` for raw features)."""

    segment_id: str
    start: float | None = None
    end: float | None = None


@dataclass
class Query:
    """A resolved query: the stream it carries, its segments and their raw features `(S, feature_size)`."""

    kind: str
    stream: str
    source: str
    segments: list[QuerySegment]
    features: np.ndarray | None = None
    vectors: np.ndarray | None = None  # retrieval vectors `(S, D')` when already known (a library segment)
    emotion_probabilities: np.ndarray | None = None


@dataclass
class RecommendedItem:
    """One ranked library track (or segment) with the reasons for its place."""

    rank: int
    score: float
    track: str
    segment_id: str
    media: str | None
    start: float | None
    end: float | None
    emotion: str | None
    predicted_emotions: dict[str, float] | None
    query_segment: QuerySegment


@dataclass
class Recommendations:
    """The ranked items of one query. `to_dict()` is the `--json` schema; `to_table()` the terminal table."""

    query: dict[str, Any]
    library: dict[str, Any]
    items: list[RecommendedItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "library": self.library, "items": [asdict(item) for item in self.items]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_table(self) -> str:
        """A plain-text table: rank, score, track, best segment and its time range, predicted emotions, file."""
        query, predicted = self.query, self.query["predicted_emotions"]
        lines = [
            f"Query: {query['source']} ({query['stream']}, {len(query['segments'])} segment(s))"
            + (f", predicted {top_emotions(predicted)}" if predicted else ""),
            f"Library: {self.library['name']} ({self.library['stream']} of {self.library['segments']} segments, "
            f"ranked per {self.library['per']}, similarity {self.library['similarity']})",
        ]
        header = ("rank", "score", "track", "segment", "time", "predicted emotion", "label", "file")
        rows = [
            (
                str(item.rank),
                f"{item.score:.4f}",
                item.track,
                item.segment_id,
                time_range(item.start, item.end),
                top_emotions(item.predicted_emotions),
                item.emotion or "-",
                item.media or "-",
            )
            for item in self.items
        ]
        widths = [max(len(text) for text in column) for column in zip(header, *rows, strict=True)]
        for row in (header, *rows):
            lines.append(
                "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
            )
        return "\n".join(lines)


def time_range(start: float | None, end: float | None) -> str:
    """``"12.0-14.0 s"``, or ``"-"`` without a time range."""
    if start is None or end is None:
        return "-"
    return f"{start:.1f}-{end:.1f} s"


def top_emotions(probabilities: dict[str, float] | None, count: int = 2) -> str:
    """The ``count`` most probable emotions with their probabilities (``"-"`` for none)."""
    if not probabilities:
        return "-"
    best = sorted(probabilities.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {value:.2f}" for name, value in best)


def emotion_dict(probabilities: Sequence[float] | np.ndarray | None) -> dict[str, float] | None:
    """Probabilities `(5,)` in the taxonomy's order → ``{emotion: probability}`` (``None`` stays ``None``)."""
    if probabilities is None:
        return None
    return {name: float(value) for name, value in zip(EMOTIONS, probabilities, strict=True)}


def extract_query(path: str | os.PathLike, stream: str, extractor: ExtractorArguments) -> Query:
    """Cut a media file into segments and extract its features (the extraction of the library's own media)."""
    from emomv_hf.features.extract import CONFIG, extract_dataset

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"query file {path} does not exist")
    column = f"{stream}_features"
    with tempfile.TemporaryDirectory(prefix="emomv-query-") as scratch:
        listing = Path(scratch) / "query.csv"
        with open(listing, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["path", "source_id"], [str(path.resolve()), path.stem]])
        output = Path(scratch) / "features"
        extract_dataset(listing, output, extractor, progress=False)
        import pyarrow.parquet as pq

        table = pq.read_table(sorted((output / "data" / CONFIG).glob("*.parquet")))
    valid = [row for row in table.to_pylist() if row[column] is not None]
    if not valid:
        kind = "video" if stream == "video" else "audio"
        raise ValueError(f"query file {path}: no {kind} stream, so it cannot be a {stream} query")
    return Query(
        kind=stream,
        stream=stream,
        source=str(path),
        segments=[QuerySegment(row["segment_id"], row["start"], row["end"]) for row in valid],
        features=np.asarray([row[column] for row in valid], np.float32),
    )


def segment_query(index: LibraryIndex, segment_id: str, stream: str) -> Query:
    """A library segment as a query: its stored retrieval vector of ``stream``."""
    library = index.stream(stream)
    row = library.row_of(segment_id)
    if row is None:
        known = library.entries[:3]["segment_id"]
        raise UnknownSegmentError(
            f"segment {segment_id!r} is not a {stream} segment of library {index.info['library']!r} "
            f"({len(library)} {stream} segments, e.g. {', '.join(known)})"
        )
    entry = library.entries[row]
    probabilities = entry.get("emotion_probabilities")
    return Query(
        kind="segment",
        stream=stream,
        source=segment_id,
        segments=[QuerySegment(segment_id, entry["start"], entry["end"])],
        vectors=np.asarray([entry["vectors"]], np.float32),
        emotion_probabilities=None if probabilities is None else np.asarray([probabilities], np.float32),
    )


def features_query(features: Any, stream: str, source: str = "features") -> Query:
    """Raw features `(feature_size,)` or `(S, feature_size)` of one stream as a query of S segments."""
    array = np.asarray(features, np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or not len(array):
        raise ValueError(
            f"{stream}_features must be a vector or a (segments, size) matrix, got {array.shape}"
        )
    return Query(
        kind="features",
        stream=stream,
        source=source,
        segments=[QuerySegment(f"{source}[{i}]") for i in range(len(array))],
        features=array,
    )


class MusicRecommender:
    """A retrieval model and a library index it built (else :class:`~.index.IndexMismatchError`):
    `recommend(video=..., music=..., segment=..., *_features=...)`; ``extractors`` extract query files (see
    :attr:`extractors`)."""

    def __init__(
        self, model: PreTrainedModel, index: LibraryIndex, extractors: ExtractorArguments | None = None
    ):
        self.model, self.index, self._given_extractors = task_model(model, "retrieval"), index, extractors
        index.check_model(self.model)

    @functools.cached_property
    def extractors(self) -> ExtractorArguments:
        """The extractors of query files, their segment length settled (:func:`~.arguments.query_extractors`: one
        they leave unset is the library's) the first time a file query needs them."""
        return query_extractors(self._given_extractors, self.index.info["library"])

    @classmethod
    def from_pretrained(
        cls,
        model: str | PreTrainedModel,
        library: str,
        *,
        extractors: ExtractorArguments | None = None,
        **index_options: Any,
    ) -> MusicRecommender:
        """Load ``model`` (folder or Hub id) and open (or build) its index of ``library`` (``index_options``: those
        of :meth:`LibraryIndex.open`: ``index_dir``, ``split``, ``index_type``, ``rebuild``, ``progress``)."""
        model = task_model(model, "retrieval")
        return cls(model, LibraryIndex.open(model, library, **index_options), extractors)

    def resolve(self, *, query_stream: str = "video", **query: Any) -> Query:
        """Exactly one query → a :class:`Query`: ``video=`` / ``music=`` (a file), ``segment=`` (a library segment
        id, of ``query_stream``), ``video_features=`` / ``music_features=`` (raw features)."""
        given = {name: value for name, value in query.items() if value is not None}
        if len(given) != 1 or not set(given) <= set(QUERY_KEYS):
            raise ValueError(
                f"give exactly one query of {', '.join(QUERY_KEYS)} (got {', '.join(given) or 'none'})"
            )
        ((name, value),) = given.items()
        if name in STREAMS:
            return extract_query(value, name, self.extractors)
        if name == "segment":
            if query_stream not in STREAMS:
                raise ValueError(f"query_stream must be 'video' or 'music', got {query_stream!r}")
            return segment_query(self.index, str(value), query_stream)
        return features_query(value, name.removesuffix("_features"))

    def encode(self, query: Query) -> Query:
        """Fill in the query's retrieval vectors and emotion probabilities (no-op for a library segment)."""
        if query.vectors is None:
            query.vectors, query.emotion_probabilities = encode_features(
                self.model, query.features, query.stream
            )
        return query

    @torch.no_grad()
    def _scores(self, query_vectors: np.ndarray, library: StreamIndex, rows: np.ndarray) -> np.ndarray:
        """The model's similarity of every query segment with the library rows → `(S, len(rows))`."""
        parameter = next(self.model.parameters())
        first = torch.from_numpy(query_vectors).to(parameter.device)
        second = torch.from_numpy(library.vectors(rows)).to(parameter.device)
        video, music = (first, second) if library.stream == "music" else (second, first)
        similarity = self.model.pairwise_similarity(video, music)
        similarity = similarity if library.stream == "music" else similarity.t()
        return similarity.float().cpu().numpy()

    def rank(self, query: Query, *, top_k: int = 10, per: str = "track") -> Recommendations:
        """The ``top_k`` library tracks (``per="track"``) or segments (``per="segment"``) for an encoded query."""
        if per not in GROUPINGS:
            raise ValueError(f"per must be one of {GROUPINGS}, got {per!r}")
        if top_k < 1:
            raise ValueError(f"top_k must be positive, got {top_k}")
        query = self.encode(query)
        library = self.index.stream(OTHER_STREAM[query.stream])
        mean_vector = query.vectors.mean(axis=0)
        # The baseline's mean 1 / (distance + eps) over several query segments is no function of the mean vector's
        # inner product, so faiss cannot find its best: every library segment is a candidate.
        exhaustive = len(query.vectors) > 1 and self.index.info["similarity"] == "inverse-l2"
        fetch = min(len(library), top_k * (CANDIDATE_FACTOR if per == "track" else 1))
        fetch = len(library) if exhaustive else fetch
        while True:
            rows = np.arange(fetch) if exhaustive else library.search(mean_vector, fetch)
            per_segment = self._scores(query.vectors, library, rows)
            scores = per_segment.mean(axis=0)
            order = np.lexsort((rows, -scores))  # score descending, then library order
            chosen = order
            if per == "track":
                tracks = library.entries.select_columns(["track"])[[int(row) for row in rows]]["track"]
                seen: set[str] = set()
                chosen = [i for i in order if not (tracks[i] in seen or seen.add(tracks[i]))]
            if len(chosen) >= top_k or fetch >= len(library):
                break
            fetch = min(len(library), fetch * CANDIDATE_FACTOR)
        items = []
        for rank, position in enumerate(chosen[:top_k], start=1):
            entry = library.entries[int(rows[position])]
            items.append(
                RecommendedItem(
                    rank=rank,
                    score=float(scores[position]),
                    **{name: entry[name] for name in ("track", "segment_id", "media", "start", "end")},
                    emotion=None if entry["emotion"] is None else EMOTIONS[entry["emotion"]],
                    predicted_emotions=emotion_dict(entry.get("emotion_probabilities")),
                    query_segment=query.segments[int(np.argmax(per_segment[:, position]))],
                )
            )
        query_probabilities = (
            None if query.emotion_probabilities is None else query.emotion_probabilities.mean(axis=0)
        )
        return Recommendations(
            query={
                "kind": query.kind,
                "stream": query.stream,
                "source": query.source,
                "segments": [asdict(segment) for segment in query.segments],
                "predicted_emotions": emotion_dict(query_probabilities),
            },
            library={
                "name": self.index.info["library"],
                "stream": library.stream,
                "segments": len(library),
                "index": library.index_type,
                "per": per,
                "similarity": self.index.info["similarity"],
            },
            items=items,
        )

    def recommend(self, *, top_k: int = 10, per: str = "track", **query: Any) -> Recommendations:
        """Rank the library for one query (the arguments of :meth:`resolve`)."""
        return self.rank(self.resolve(**query), top_k=top_k, per=per)
