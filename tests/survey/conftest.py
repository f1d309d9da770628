"""Survey fixtures: the hand-made samples of ``helpers`` and a store holding them."""

from __future__ import annotations

from pathlib import Path

import pytest

from emomv_survey.sampling import SurveySample
from emomv_survey.store import SurveyStore

from .helpers import make_samples


@pytest.fixture
def samples() -> list[SurveySample]:
    return make_samples()


@pytest.fixture
def store(tmp_path: Path, samples: list[SurveySample]) -> SurveyStore:
    survey = SurveyStore(tmp_path / "responses.sqlite")
    survey.set_samples(samples)
    return survey
