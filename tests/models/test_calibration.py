"""Temperature scaling of the correspondence model: it repairs an over-confident model without changing its
decisions, and a saved model keeps its temperatures bit-exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError

from emomv_hf import EmoMVConfig, EmoMVForCorrespondence
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.metrics.functional import correspondence_metrics, expected_calibration_error
from emomv_hf.training.calibration import fit_temperature, fit_temperatures

OVERCONFIDENCE = 4.0


def _overconfident_model_and_pairs(rows: int, seed: int = 0):
    """A small random correspondence model whose scores are multiplied by OVERCONFIDENCE, and pairs whose labels
    are drawn from its probabilities before that sharpening: the model is over-confident by construction."""
    torch.manual_seed(seed)
    config = EmoMVConfig(video_feature_size=12, music_feature_size=6, projection_dropout=0.0)
    model = EmoMVForCorrespondence(config).eval()
    with torch.no_grad():
        model.classifier.out_proj.weight.mul_(8.0)  # spread the honest probabilities over (0, 1)
        model.classifier.out_proj.bias.zero_()
    generator = torch.Generator().manual_seed(seed)
    video = torch.randn(rows, 12, generator=generator)
    music = torch.randn(rows, 6, generator=generator)
    emotions = torch.randint(0, 5, (2, rows), generator=generator)
    with torch.no_grad():
        honest = model(video_features=video, music_features=music)
        labels = torch.bernoulli(honest.logits.softmax(-1)[:, 1], generator=generator).long()
        for stream, row in (("video", 0), ("music", 1)):
            emotions[row] = torch.multinomial(
                honest[f"{stream}_emotion_logits"].softmax(-1), 1, generator=generator
            )[:, 0]
        model.classifier.out_proj.weight.mul_(OVERCONFIDENCE)
        for encoder in (model.video_encoder, model.music_encoder):
            head = encoder.emotion_head.classifier
            head.weight.mul_(OVERCONFIDENCE)
            head.bias.mul_(OVERCONFIDENCE)
    pairs = TensorPairs(
        {
            "video_features": video,
            "music_features": music,
            "labels": labels,
            "video_emotion_labels": emotions[0],
            "music_emotion_labels": emotions[1],
        }
    )
    return model, pairs


@torch.no_grad()
def _scores(model, pairs):
    outputs = model(
        video_features=pairs.inputs["video_features"], music_features=pairs.inputs["music_features"]
    )
    return outputs


def test_temperature_repairs_an_overconfident_model_and_keeps_its_decisions():
    model, pairs = _overconfident_model_and_pairs(6000)
    fit, held = pairs.select(range(3000)), pairs.select(range(3000, 6000))
    before = _scores(model, held)
    p_before = before.logits.softmax(-1)[:, 1].numpy()
    labels = held.inputs["labels"].numpy()
    ece_before = expected_calibration_error(labels, p_before)

    model.config.update(fit_temperatures(model, fit))
    after = _scores(model, held)
    p_after = after.logits.softmax(-1)[:, 1].numpy()
    ece_after = expected_calibration_error(labels, p_after)

    assert model.config.match_temperature == pytest.approx(OVERCONFIDENCE, rel=0.15)
    assert ece_before > 0.1
    assert ece_after < ece_before / 3
    for stream in ("video", "music"):
        assert getattr(model.config, f"{stream}_emotion_temperature") == pytest.approx(
            OVERCONFIDENCE, rel=0.15
        )
        emotion_labels = held.inputs[f"{stream}_emotion_labels"].numpy()
        assert expected_calibration_error(
            emotion_labels, after[f"{stream}_emotion_logits"].softmax(-1).numpy()
        ) < expected_calibration_error(emotion_labels, before[f"{stream}_emotion_logits"].softmax(-1).numpy())
        assert torch.equal(
            after[f"{stream}_emotion_logits"].argmax(-1), before[f"{stream}_emotion_logits"].argmax(-1)
        )
    # A temperature changes neither the 0.5 decision nor the ranking of P(matched): accuracy and AUC stay.
    assert correspondence_metrics(labels, p_after) == correspondence_metrics(labels, p_before)
    assert np.array_equal(np.argsort(p_after, kind="stable"), np.argsort(p_before, kind="stable"))


def test_fit_temperature_recovers_a_known_temperature():
    generator = torch.Generator().manual_seed(1)
    honest = torch.randn(20000, 3, generator=generator) * 2
    labels = torch.multinomial(honest.softmax(-1), 1, generator=generator)[:, 0]
    assert fit_temperature(honest * 2.5, labels) == pytest.approx(2.5, rel=0.05)
    assert fit_temperature(honest / 2.0, labels) == pytest.approx(0.5, rel=0.05)


def test_refitting_a_calibrated_model_gives_the_same_temperatures():
    """`fit_temperatures` on a model that already has temperatures returns absolute ones (its own times the
    residual fit), not the residual alone: calibrating twice must not undo the first calibration."""
    model, pairs = _overconfident_model_and_pairs(3000)
    first = fit_temperatures(model, pairs)
    model.config.update({name: value * 2.0 for name, value in first.items()})  # deliberately off by 2
    again = fit_temperatures(model, pairs)
    for name, value in first.items():
        assert again[name] == pytest.approx(value, rel=1e-3), name


def test_saved_model_keeps_its_temperatures_bit_exact(tmp_path):
    model, pairs = _overconfident_model_and_pairs(64)
    temperatures = {
        "match_temperature": 1.4714989299747810,
        "video_emotion_temperature": 1 / 3,
        "music_emotion_temperature": 0.8700408834976399,
    }
    raw = _scores(model, pairs)
    model.config.update(temperatures)
    model.save_pretrained(tmp_path)
    loaded = EmoMVForCorrespondence.from_pretrained(tmp_path).eval()
    for name, value in temperatures.items():
        assert getattr(loaded.config, name) == value
    outputs = _scores(loaded, pairs)
    assert torch.equal(outputs.logits, raw.logits / temperatures["match_temperature"])
    for stream in ("video", "music"):
        assert torch.equal(
            outputs[f"{stream}_emotion_logits"],
            raw[f"{stream}_emotion_logits"] / temperatures[f"{stream}_emotion_temperature"],
        )


@pytest.mark.parametrize("value", [0.0, -1.0, float("inf"), float("nan")])
def test_temperature_must_be_positive_and_finite(value):
    with pytest.raises(StrictDataclassClassValidationError, match="match_temperature"):
        EmoMVConfig(match_temperature=value)
