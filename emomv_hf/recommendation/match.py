"""Do a video and a music track match? A correspondence model scores one pair (files or library segments).

Each side is a media file (cut into segments and extracted as the library was, :func:`extract_query`) or a
segment of a library (its stored features). A pair of files is scored as the music laid under the video from
its start: each video segment with the music segment of the same time window (a window without one of the
streams, or dropped as too short for it, pairs with nothing), and the matched probability is the mean over
those aligned pairs. A library segment or raw features pair by position: segment ``i`` with segment ``i``. The emotion distributions are the model's predictions for
each side (mean over that side's aligned segments); a single-task model predicts none.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from itertools import compress
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel

from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.metrics.functional import predict_matched

from .arguments import query_extractors
from .index import STREAMS, library_metadata, read_library, task_model
from .recommend import Query, QuerySegment, UnknownSegmentError, emotion_dict, extract_query


class LibrarySegments:
    """The raw features and metadata of a ``segments`` library, looked up by segment id."""

    def __init__(self, library: str, split: str | None = None):
        self.library = str(library)
        segments = read_library(self.library, split)
        self.metadata = library_metadata(segments)
        self._ids = segments.segment_ids
        self._rows = {segment_id: row for row, segment_id in enumerate(self._ids)}
        self._features = {stream: segments.features(stream) for stream in STREAMS}

    def segment_ids(self, stream: str) -> list[str]:
        """Ids of the segments that have ``stream`` features, in library order."""
        return list(compress(self._ids, self._features[stream][1]))

    def query(self, segment_id: str, stream: str) -> Query:
        """A library segment's raw ``stream`` features as a one-segment query."""
        features, present = self._features[stream]
        row = self._rows.get(segment_id)
        if row is None or not present[row]:
            raise UnknownSegmentError(
                f"segment {segment_id!r} is not a {stream} segment of library {self.library!r} "
                f"({len(self._ids)} segments, e.g. {', '.join(self.segment_ids(stream)[:3])})"
            )
        start, end = self.metadata["start"][row].as_py(), self.metadata["end"][row].as_py()
        return Query(
            kind="segment",
            stream=stream,
            source=segment_id,
            segments=[QuerySegment(segment_id, start, end)],
            features=features[row : row + 1].copy(),  # a writable copy for torch
        )


@dataclass
class PairScore:
    """The matched probability of one aligned pair of segments."""

    video_segment: QuerySegment
    music_segment: QuerySegment
    probability: float


@dataclass
class MatchResult:
    """A pair's matched probability (mean over aligned segment pairs) and each side's predicted emotions."""

    probability: float
    video: dict[str, Any]
    music: dict[str, Any]
    pairs: list[PairScore] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return bool(predict_matched(self.probability))

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        return {"probability": fields.pop("probability"), "matched": self.matched, **fields}


class PairMatcher:
    """A correspondence model (and optionally a library for segment lookups): :meth:`match`. ``extractors``
    extract media files, cut as the library was unless they set a length (:func:`~.arguments.query_extractors`)."""

    def __init__(
        self,
        model: str | PreTrainedModel,
        library: LibrarySegments | None = None,
        extractors: ExtractorArguments | None = None,
    ):
        self.model, self.library = task_model(model, "correspondence"), library
        self.extractors = query_extractors(extractors, None if library is None else library.library)

    @classmethod
    def from_pretrained(
        cls,
        model: str | PreTrainedModel,
        library: str | None = None,
        *,
        split: str | None = None,
        extractors: ExtractorArguments | None = None,
    ) -> PairMatcher:
        """Load ``model`` (folder or Hub id), then, if given, the ``segments`` rows of ``library``."""
        model = task_model(model, "correspondence")
        return cls(model, None if library is None else LibrarySegments(library, split), extractors)

    def resolve(
        self, stream: str, file: str | os.PathLike | None = None, segment: str | None = None
    ) -> Query:
        """One side of the pair: a media ``file`` or a library ``segment`` id (exactly one)."""
        if (file is None) == (segment is None):
            raise ValueError(f"give the {stream} as a file or as a library segment id (exactly one)")
        if file is not None:
            return extract_query(file, stream, self.extractors)
        if self.library is None:
            raise ValueError(f"{stream} segment {segment!r}: no library was given to look segments up in")
        return self.library.query(str(segment), stream)

    @torch.no_grad()
    def score(self, video: Query, music: Query) -> MatchResult:
        """Score two resolved queries: aligned segment pairs, mean matched probability."""
        if video.kind == "video" and music.kind == "music":  # two files, cut from their starts alike
            by_start = {segment.start: row for row, segment in enumerate(music.segments)}
            rows = [(row, by_start[s.start]) for row, s in enumerate(video.segments) if s.start in by_start]
            if not rows:
                raise ValueError(f"no time window of {video.source} has video while {music.source} has music")
        else:
            rows = [(row, row) for row in range(min(len(video.segments), len(music.segments)))]
        video_rows, music_rows = map(list, zip(*rows, strict=True))
        inputs = self.model.prepare_inputs(
            video_features=video.features[video_rows], music_features=music.features[music_rows]
        )
        outputs = self.model(**inputs)
        probabilities = outputs.logits.float().softmax(dim=-1)[:, 1].cpu().numpy()
        sides = {}
        for query, aligned in ((video, video_rows), (music, music_rows)):
            logits = getattr(outputs, f"{query.stream}_emotion_logits", None)
            sides[query.stream] = {
                "kind": query.kind,
                "source": query.source,
                "segments": [asdict(query.segments[row]) for row in aligned],
                "predicted_emotions": None
                if logits is None
                else emotion_dict(logits.softmax(dim=-1).float().mean(dim=0).cpu().numpy()),
            }
        return MatchResult(
            probability=float(np.mean(probabilities, dtype=np.float64)),
            video=sides["video"],
            music=sides["music"],
            pairs=[
                PairScore(video.segments[v], music.segments[m], float(probability))
                for (v, m), probability in zip(rows, probabilities, strict=True)
            ],
        )

    def match(
        self,
        *,
        video: str | os.PathLike | None = None,
        music: str | os.PathLike | None = None,
        video_segment: str | None = None,
        music_segment: str | None = None,
    ) -> MatchResult:
        """The matched probability of a video (``video=`` file or ``video_segment=`` id) and a music track
        (``music=`` file or ``music_segment=`` id)."""
        return self.score(
            self.resolve("video", video, video_segment), self.resolve("music", music, music_segment)
        )
