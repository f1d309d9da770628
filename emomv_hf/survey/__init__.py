"""The label-validation survey of the paper (section 4): sampling, the web form, its SQLite store and the
analysis of Tables 5-7."""

from .sampling import (
    SamplingError,
    SurveySample,
    draw_samples,
    find_media,
    load_manifest,
    read_pairs,
    write_manifest,
)
from .store import LIKERT_LABELS, QUESTIONS, Response, ResponseError, SurveyStore

__all__ = [
    "LIKERT_LABELS",
    "QUESTIONS",
    "Response",
    "ResponseError",
    "SamplingError",
    "SurveySample",
    "SurveyStore",
    "draw_samples",
    "find_media",
    "load_manifest",
    "read_pairs",
    "write_manifest",
]
