"""The baseline's two tasks train one stage-1 network: training it once gives both models."""

from __future__ import annotations

import pytest
import torch

from emomv_hf import EmoMVBaselineForRetrieval
from emomv_hf.data.loading import load_emomv
from emomv_hf.evaluation import evaluate
from emomv_hf.training import EmoMVTrainingArguments, make_accelerator, run_training


@pytest.mark.parametrize("protocol", ["paper", "held-out"])
def test_shared_stage_one_gives_the_separately_trained_retrieval_model(emomv_c_dir, protocol):
    common = dict(
        dataset=str(emomv_c_dir),
        model="baseline",
        protocol=protocol,
        seed=2,
        max_epochs=40,
        patience=5,
        learning_rate=1e-3,
        progress=False,
        plots=False,
    )
    results = {}
    for task in ("correspondence", "retrieval"):
        args = EmoMVTrainingArguments(task=task, **common)
        results[task] = run_training(args, make_accelerator(args, cpu=True), save=False)
    correspondence, retrieval = results["correspondence"], results["retrieval"]
    assert correspondence.outcome.history == retrieval.outcome.history
    derived = EmoMVBaselineForRetrieval.from_stage_one(correspondence.model)
    assert type(derived.config) is type(retrieval.model.config)
    expected = retrieval.model.state_dict()
    assert derived.state_dict().keys() == expected.keys()
    assert all(torch.equal(derived.state_dict()[name], expected[name]) for name in expected)
    segments = load_emomv(str(emomv_c_dir), "segments")["validation"]
    assert evaluate(derived, segments).metrics == retrieval.metrics
