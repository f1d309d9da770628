"""The label-validation survey of the paper (section 4): sampling, the web form, its SQLite store and the
analysis of Tables 5-7."""

from .sampling import (
    MediaError,
    SamplingError,
    SurveySample,
    draw_samples,
    find_media,
    load_manifest,
    read_pairs,
    resolve_media,
    write_manifest,
)
from .store import LIKERT_LABELS, QUESTIONS, Response, ResponseError, SurveyStore

__all__ = [
    "LIKERT_LABELS",
    "QUESTIONS",
    "MediaError",
    "Response",
    "ResponseError",
    "SamplingError",
    "SurveySample",
    "SurveyStore",
    "draw_samples",
    "find_media",
    "load_manifest",
    "read_pairs",
    "resolve_media",
    "write_manifest",
]
