"""One rule turns P(matched) into a predicted class everywhere: a pair whose two logits tie exactly
(P(matched) = 0.5) is predicted the same way by the evaluation, the metric function, the `evaluate` module, the
ECE and the pair matcher."""

from __future__ import annotations

import numpy as np
import torch

from emomv_hf.configuration_emomv import EmoMVConfig
from emomv_hf.data.loading import load_emomv
from emomv_hf.evaluation import evaluate_correspondence
from emomv_hf.metrics import load_metric
from emomv_hf.metrics.functional import correspondence_metrics, expected_calibration_error, predict_matched
from emomv_hf.modeling_emomv import EmoMVForCorrespondence
from emomv_hf.recommendation.match import MatchResult


def test_tied_logits_are_predicted_matched_by_every_consumer(emomv_c_dir):
    torch.manual_seed(0)
    model = EmoMVForCorrespondence(EmoMVConfig())
    with torch.no_grad():  # the last layer outputs (0, 0) for every pair: every pair ties exactly
        model.classifier.out_proj.weight.zero_()
        model.classifier.out_proj.bias.zero_()
    pairs = load_emomv(str(emomv_c_dir))["validation"]
    report = evaluate_correspondence(model, pairs)
    labels, scores = report.predictions["labels"], report.predictions["match_scores"]
    assert np.all(scores == 0.5) and 0 < labels.sum() < len(labels)

    assert report.predictions["predictions"].tolist() == [1] * len(labels) == predict_matched(scores).tolist()
    plain = correspondence_metrics(labels, scores)
    assert report.metrics["accuracy"] == plain["accuracy"] == labels.mean()
    assert report.metrics["f1"] == plain["f1"]
    module = load_metric("correspondence").compute(
        references=labels.tolist(), prediction_scores=scores.tolist()
    )
    assert module["accuracy"] == plain["accuracy"] and module["f1"] == plain["f1"]
    assert report.metrics["ece"] == expected_calibration_error(labels, scores)
    assert MatchResult(probability=0.5, video={}, music={}).matched
    # a near tie that float32 rounds to 0.5 follows the saved P(matched), not the logits' order
    assert predict_matched(np.float32(0.5)) == 1 and predict_matched(np.nextafter(0.5, 0)) == 0
