"""The transformers interface of the recommender: ``pipeline("music-video-retrieval", model=M, library=L)``.

    from transformers import pipeline
    import emomv_hf  # registers the task

    finder = pipeline("music-video-retrieval", model="outputs/retrieval", library="datasets/emomv-c")
    finder("my_clip.mp4", top_k=5)                  # a video file: the library's best tracks
    finder({"music": "track.mp3"})                  # a music file: the library's best videos
    finder({"segment": "C_0001_1", "query_stream": "music"})
    finder({"video_features": array})              # raw (S, 2304) SlowFast features

Made with ``extractors=ExtractorArguments(...)`` (file queries) and the options of :meth:`LibraryIndex.open`
(``index_dir``, ``split``, ``index_type``, ``rebuild``, ``progress``), it wraps a
:class:`~.recommend.MusicRecommender` whose index is opened (built the first time) then. Call parameters:
``top_k`` (10), ``per`` (``"track"`` or ``"segment"``), ``query_stream`` (the stream of a segment id or a bare
file path: ``"video"``), ``return_recommendations``. Each call returns the ranked items as dicts of
:class:`~.recommend.RecommendedItem`'s fields, or with ``return_recommendations=True`` the
:class:`~.recommend.Recommendations` itself (its query, library and items).

This module imports only transformers at import time, so registering the task costs nothing; the recommender
(datasets, faiss) is imported when a pipeline is made.
"""

from __future__ import annotations

import os
from typing import Any

from transformers import AutoModel, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

TASK = "music-video-retrieval"
INDEX_OPTIONS = ("index_dir", "split", "index_type", "rebuild", "progress")
"""The keyword arguments of the pipeline that go to :meth:`~.index.LibraryIndex.open`."""


class MusicVideoRetrievalPipeline(Pipeline):
    """Rank a library's music for a video (or its videos for a music track) with an EmoMV retrieval model (its
    options and call parameters: the module's docstring)."""

    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, model, *, library: str | os.PathLike | None = None, extractors=None, **kwargs):
        if library is None:
            raise ValueError(
                f'pipeline("{TASK}") needs library=: a segments dataset folder or Hub id to rank'
            )
        # The rest of kwargs are the Pipeline's own (device, ...), and call parameters made defaults.
        index_options = {name: kwargs.pop(name) for name in INDEX_OPTIONS if name in kwargs}
        super().__init__(model, **kwargs)
        from .recommend import MusicRecommender

        self.recommender = MusicRecommender.from_pretrained(
            self.model, str(library), extractors=extractors, **index_options
        )

    def _sanitize_parameters(self, query_stream=None, return_recommendations=None, **forward: Any):
        if unknown := sorted(set(forward) - {"top_k", "per"}):
            raise TypeError(f"{TASK} pipeline: unknown parameter(s) {', '.join(unknown)}")
        preprocess = {} if query_stream is None else {"query_stream": query_stream}
        postprocess = (
            {} if return_recommendations is None else {"return_recommendations": return_recommendations}
        )
        return preprocess, {name: value for name, value in forward.items() if value is not None}, postprocess

    def preprocess(self, inputs: Any, query_stream: str = "video") -> dict[str, Any]:
        """A file path (of ``query_stream``) or a dict with one of :data:`~.recommend.QUERY_KEYS` → the resolved query (a
        media file is extracted here)."""
        from .recommend import QUERY_KEYS

        if isinstance(inputs, (str, os.PathLike)):
            inputs = {query_stream: inputs}
        if not isinstance(inputs, dict):
            raise TypeError(
                f"{TASK} pipeline: give a file path or a dict with one of {', '.join(QUERY_KEYS)}, "
                f"got {type(inputs).__name__}"
            )
        return {"query": self.recommender.resolve(**{"query_stream": query_stream, **inputs})}

    def _forward(self, model_inputs: dict[str, Any], top_k: int = 10, per: str = "track") -> dict[str, Any]:
        return {"recommendations": self.recommender.rank(model_inputs["query"], top_k=top_k, per=per)}

    def postprocess(self, model_outputs: dict[str, Any], return_recommendations: bool = False):
        recommendations = model_outputs["recommendations"]
        return recommendations if return_recommendations else recommendations.to_dict()["items"]


def register_pipeline() -> None:
    """Register :class:`MusicVideoRetrievalPipeline` as transformers' ``music-video-retrieval`` task."""
    if TASK not in PIPELINE_REGISTRY.get_supported_tasks():
        PIPELINE_REGISTRY.register_pipeline(
            TASK, pipeline_class=MusicVideoRetrievalPipeline, pt_model=AutoModel
        )
