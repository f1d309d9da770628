"""EmoMV models and the baseline: architecture, configs, Auto classes, round trips, gradients, training, errors."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError, StrictDataclassFieldValidationError
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel

import emomv_hf
from emomv_hf import (
    EmoMVBaselineConfig,
    EmoMVBaselineForCorrespondence,
    EmoMVBaselineForRetrieval,
    EmoMVBaselineRetrievalConfig,
    EmoMVConfig,
    EmoMVEnsemble,
    EmoMVEnsembleConfig,
    EmoMVForCorrespondence,
    EmoMVForRetrieval,
    EmoMVRetrievalConfig,
    EmoMVTaggingConfig,
)
from emomv_hf.modeling_emomv import EmoMVProjectionHead, contrastive_loss
from emomv_hf.modeling_emomv_baseline import euclidean_distance, pairwise_euclidean_distance

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_CLASSES = [
    EmoMVForCorrespondence,
    EmoMVForRetrieval,
    EmoMVBaselineForCorrespondence,
    EmoMVBaselineForRetrieval,
]
CORRESPONDENCE = (EmoMVForCorrespondence, EmoMVBaselineForCorrespondence)
BASELINES = (EmoMVBaselineForCorrespondence, EmoMVBaselineForRetrieval)

# (model class, config overrides): every model in its multi-task and single-task form, plus the options.
VARIANTS = [(cls, overrides) for cls in MODEL_CLASSES for overrides in ({}, {"multi_task": False})] + [
    (EmoMVForCorrespondence, {"emotion_head_input": "embedding"}),
    (EmoMVForCorrespondence, {"projection_layer_norm": True}),
    (EmoMVForRetrieval, {"emotion_head_input": "embedding"}),
    (EmoMVForRetrieval, {"projection_layer_norm": False}),
    (EmoMVForRetrieval, {"similarity": "emotion"}),
    (EmoMVForRetrieval, {"similarity": "mix", "supervised_contrastive_weight": 1.0}),
]


def _variant_id(variant) -> str:
    cls, overrides = variant
    return cls.__name__ + "".join(f"-{k}={v}" for k, v in overrides.items())


def _build(cls, **overrides):
    torch.manual_seed(0)
    return cls(cls.config_class(**overrides))


def _tiny_config(cls, **overrides):
    if cls in BASELINES:
        sizes = {"video_hidden_sizes": [5], "music_hidden_sizes": [4, 3], "common_size": 3}
    else:
        sizes = {"reduced_size": 4, "projection_size": 4}
        if cls is EmoMVForCorrespondence:
            sizes.update(mcb_output_size=3, fusion_hidden_size=3)
    return cls.config_class(video_feature_size=7, music_feature_size=6, num_emotions=3, **sizes, **overrides)


def _batch(train: dict[str, torch.Tensor], size: int = 16) -> dict[str, torch.Tensor]:
    return {name: tensor[:size] for name, tensor in train.items()}


# ------------------------------------------------------------------------------------------------ architecture


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts():
    counts = {_variant_id(v): _count(_build(v[0], **v[1])) for v in VARIANTS}
    width = 64
    linear = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731
    towers = linear(2304, width) + linear(128, width) + 2 * 2 * linear(width, width)
    expected_multi_task = towers + linear(32, 32) + linear(32, 2) + 2 * linear(width, 5)
    print("\nparameter counts:")
    for name, count in counts.items():
        print(f"  {name:70s} {count:>9,d}")
    assert (
        counts["EmoMVForCorrespondence"] == expected_multi_task == 174_188
    )  # "about 174k" (paper section 5.1)
    assert counts["EmoMVForCorrespondence-multi_task=False"] == expected_multi_task - 2 * linear(width, 5)
    assert counts["EmoMVForRetrieval"] == towers + 2 * linear(width, 5) + 2 * 2 * width  # + two LayerNorms
    # baseline: two ReLU layers per tower and two into the common space, all 64 wide, plus the emotion heads
    baseline_towers = linear(2304, width) + linear(128, width) + 2 * 3 * linear(width, width)
    assert counts["EmoMVBaselineForCorrespondence"] == counts["EmoMVBaselineForRetrieval"]
    assert counts["EmoMVBaselineForCorrespondence"] == baseline_towers + 2 * linear(width, 5) == 181_386
    # Buffers (standardisation statistics, MCB hashes, stage-2 regression) are not trainable parameters.
    model = EmoMVForCorrespondence(EmoMVConfig())
    buffers = dict(model.named_buffers())
    assert {
        "standardizer.video_mean",
        "standardizer.music_std",
        "classifier.pooling.first_hash_index",
    } <= set(buffers)


def test_default_configs_are_the_paper_variants():
    config = EmoMVForCorrespondence.config_class()
    assert type(config) is EmoMVConfig and config.model_type == "emomv"
    assert (config.video_feature_size, config.music_feature_size, config.reduced_size) == (2304, 128, 64)
    assert (config.projection_size, config.projection_dropout, config.mcb_output_size) == (64, 0.5, 32)
    assert config.multi_task and config.emotion_head_input == "reduced" and not config.projection_layer_norm
    assert config.num_emotions == 5 and config.emotion_names == list(emomv_hf.emotions.EMOTIONS)
    assert config.id2label == {0: "mismatched", 1: "matched"}
    retrieval = EmoMVForRetrieval.config_class()
    # Both configs extend the towers: the retrieval config with its scoring, the correspondence one with the fusion.
    assert type(retrieval) is EmoMVRetrievalConfig and isinstance(config, emomv_hf.EmoMVTowersConfig)
    assert not isinstance(config, EmoMVRetrievalConfig) and not hasattr(config, "similarity")
    assert not hasattr(retrieval, "mcb_output_size") and not hasattr(retrieval, "fusion_hidden_size")
    assert (
        retrieval.model_type == "emomv_retrieval" and retrieval.projection_layer_norm and retrieval.multi_task
    )
    assert EmoMVBaselineForCorrespondence.config_class is EmoMVBaselineConfig
    assert EmoMVBaselineForRetrieval.config_class is EmoMVBaselineRetrievalConfig
    baseline = EmoMVBaselineConfig()
    assert baseline.multi_task and baseline.video_hidden_sizes == [64, 64] and baseline.common_size == 64
    assert len({c.model_type for c in (config, retrieval, baseline, EmoMVBaselineRetrievalConfig())}) == 4
    assert [(cls.config_class.family, cls.config_class.task) for cls in MODEL_CLASSES] == [
        ("emomv", "correspondence"),
        ("emomv", "retrieval"),
        ("baseline", "correspondence"),
        ("baseline", "retrieval"),
    ]
    assert {
        emomv_hf.model_class_for(c.config_class.family, c.config_class.task) for c in MODEL_CLASSES
    } == set(MODEL_CLASSES)


def test_config_validation():
    with pytest.raises(StrictDataclassFieldValidationError):
        EmoMVConfig(multi_task="yes")
    with pytest.raises(StrictDataclassFieldValidationError):
        EmoMVConfig(emotion_head_input="fused")
    with pytest.raises(StrictDataclassClassValidationError, match="projection_dropout"):
        EmoMVConfig(projection_dropout=1.0)
    with pytest.raises(StrictDataclassClassValidationError, match="reduced_size"):
        EmoMVConfig(reduced_size=32)
    with pytest.raises(StrictDataclassClassValidationError, match="video_hidden_sizes"):
        EmoMVBaselineConfig(video_hidden_sizes=[])
    # A seed torch's generator cannot take failed when the model was built ("Overflow when unpacking long long").
    for seed in (2**64, -(2**63) - 1):
        with pytest.raises(
            StrictDataclassClassValidationError, match="`mcb_seed` must be a seed torch takes"
        ):
            EmoMVConfig(mcb_seed=seed)
    for seed in (2**64 - 1, -(2**63)):
        EmoMVForCorrespondence(EmoMVConfig(mcb_seed=seed))
    assert EmoMVConfig(contrastive_margin=1).contrastive_margin == 1  # ints are fine for float fields


@pytest.mark.parametrize(
    ("config_class", "field", "value", "expected", "edge"),
    [
        (EmoMVConfig, "video_feature_size", 0, "a positive integer", 1),
        (EmoMVConfig, "contrastive_margin", 0.0, "a positive finite number", 1e-9),
        (EmoMVConfig, "music_emotion_loss_weight", -1.0, "a non-negative finite number", 0.0),
        # NaN fails every comparison: it passed `value <= 0` and `value < 0` (and inf passed both).
        (EmoMVConfig, "contrastive_margin", float("nan"), "a positive finite number", 1e-9),
        (
            EmoMVRetrievalConfig,
            "supervised_contrastive_weight",
            float("nan"),
            "a non-negative finite number",
            0.0,
        ),
        (EmoMVConfig, "match_loss_weight", float("inf"), "a non-negative finite number", 0.0),
        (EmoMVBaselineConfig, "similarity_eps", float("nan"), "a positive finite number", 1e-9),
        # Epsilons divide (a constant feature's std is replaced by 1 only below it) or sit under a square root.
        (EmoMVConfig, "standardization_eps", 0.0, "a positive finite number", 1e-12),
        (EmoMVRetrievalConfig, "layer_norm_eps", -1e-5, "a positive finite number", 1e-12),
        # transformers' `_init_weights` takes an initializer_range of 0 for 0.02; a negative one crashed the build.
        (EmoMVConfig, "initializer_range", 0.0, "a positive finite number", 1e-9),
        (EmoMVBaselineConfig, "initializer_range", -0.5, "a positive finite number", 1e-9),
        (EmoMVBaselineConfig, "dropout", 1.0, "in [0, 1)", 0.0),
        (EmoMVRetrievalConfig, "emotion_similarity_weight", 1.5, "in [0, 1]", 1.0),
        (EmoMVConfig, "match_temperature", float("inf"), "a positive finite number", 1e-9),
    ],
)
def test_each_config_range_names_the_field_and_value(config_class, field, value, expected, edge):
    with pytest.raises(StrictDataclassClassValidationError) as raised:
        config_class(**{field: value})
    assert f"`{field}` must be {expected}, got {value}." in str(raised.value)
    assert getattr(config_class(**{field: edge}), field) == edge  # a value at the edge of the range is in it


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_unknown_config_fields_are_refused_with_their_name(cls, tmp_path):
    """A typo in config.json (`multi_taks`) must not load a single-task checkpoint as multi-task."""
    with pytest.raises(ValueError, match=r"`multi_taks` \(did you mean `multi_task`\?\)"):
        cls.config_class(multi_taks=True)
    _build(cls, multi_task=False).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**saved, "multi_taks": True}))
    for loader in (cls.from_pretrained, AutoModel.from_pretrained, AutoConfig.from_pretrained):
        with pytest.raises(ValueError, match="multi_taks"):
            loader(tmp_path)


@pytest.mark.parametrize(
    "config_class", [*(cls.config_class for cls in MODEL_CLASSES), EmoMVTaggingConfig, EmoMVEnsembleConfig]
)
def test_config_json_cannot_set_what_the_class_fixes(config_class, tmp_path):
    """`task` and `family` are the config class's (a correspondence config.json holding `"task": "retrieval"`
    was evaluated, indexed and carded as a retrieval model); the tagger's and the ensemble's properties
    (`class_names`, `task`, ...) crashed with an AttributeError; the ensemble took typos silently."""
    fixed = {name for name in ("task", "family", "class_names", "multi_task") if hasattr(config_class, name)}
    fixed -= set(config_class.__dataclass_fields__)
    for name in (*fixed, "ensemble_sise"):
        with pytest.raises(ValueError, match=rf"unknown field\(s\) `{name}`"):
            config_class(**{name: "retrieval"})
    config_class().save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**saved, "task": "retrieval"}))
    with pytest.raises(ValueError, match="`task`"):
        AutoConfig.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "config_class", [*(cls.config_class for cls in MODEL_CLASSES), EmoMVTaggingConfig, EmoMVEnsembleConfig]
)
def test_a_config_json_cannot_make_the_model_return_tuples(config_class, tmp_path):
    """The package reads outputs by name (`outputs.logits`): `"return_dict": false` in a config.json from
    someone else (or `--config-overrides return_dict=false`) loaded, and evaluate.py, training and the index
    then failed with an AttributeError traceback on a tuple. It is refused in one line naming the file; one
    call may still ask for a tuple."""
    from emomv_hf.models_registry import load_model

    with pytest.raises(StrictDataclassClassValidationError, match="`return_dict` must be true"):
        config_class(return_dict=False)
    torch.manual_seed(0)
    model = AutoModel.from_config(config_class()).eval()
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    edited = [{**saved, "return_dict": False}]
    if config_class is EmoMVEnsembleConfig:  # the members' config is read from the same file
        edited.append({**saved, "member_config": {**saved["member_config"], "return_dict": False}})
    for config in edited:
        (tmp_path / "config.json").write_text(json.dumps(config))
        with pytest.raises(
            ValueError, match=rf"^{re.escape(str(tmp_path / 'config.json'))}: .*`return_dict`"
        ):
            load_model(str(tmp_path))
    assert isinstance(
        model(torch.zeros(1, 2304), music_features=torch.zeros(1, 128), return_dict=False), tuple
    )


def test_a_typo_in_an_ensembles_member_config_names_the_config_file(tmp_path):
    """The member config's refusal is a plain ValueError, which `load_model` passed on without the file's name."""
    from emomv_hf.models_registry import load_model

    EmoMVEnsemble(EmoMVEnsembleConfig(member_config=EmoMVConfig(), ensemble_size=2)).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    saved["member_config"]["multi_taks"] = True
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(tmp_path / 'config.json'))}: .*`multi_taks`"):
        load_model(str(tmp_path))


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_forward_outputs(cls, emomv_c_train):
    model = _build(cls).eval()
    batch = _batch(emomv_c_train, 6)
    output = model(**batch)
    assert output.loss.ndim == 0 and torch.isfinite(output.loss)
    assert output.video_emotion_logits.shape == output.music_emotion_logits.shape == (6, 5)
    width = 64
    assert output.video_embeds.shape == output.music_embeds.shape == (6, width)
    torch.testing.assert_close(output.video_embeds.norm(dim=-1), torch.ones(6))
    if cls in CORRESPONDENCE:
        assert output.logits.shape == (6, 2)
    else:
        assert output.similarity.shape == (6,)
        assert output.logits_per_video.shape == (6, 6)
        assert torch.equal(output.logits_per_music, output.logits_per_video.t())
        torch.testing.assert_close(
            output.logits_per_video.diagonal(), output.similarity, rtol=1e-4, atol=1e-5
        )
        for stream in ("video", "music"):  # cosine similarity: the retrieval vectors are the embeddings
            vectors, _ = model.encode_stream(batch[f"{stream}_features"], stream)
            torch.testing.assert_close(vectors, output[f"{stream}_embeds"])
    if cls in BASELINES:
        torch.testing.assert_close(output.distance, (output.video_embeds - output.music_embeds).norm(dim=-1))
    if cls is EmoMVForRetrieval:
        cosine = torch.nn.functional.cosine_similarity(output.video_embeds, output.music_embeds)
        torch.testing.assert_close(output.similarity, cosine)
    if cls is EmoMVBaselineForRetrieval:
        torch.testing.assert_close(output.similarity, 1.0 / (output.distance + model.config.similarity_eps))
    # No labels: no loss; tuple output.
    assert model(batch["video_features"], batch["music_features"]).loss is None
    as_tuple = model(batch["video_features"], batch["music_features"], return_dict=False)
    assert isinstance(as_tuple, tuple) and all(isinstance(t, torch.Tensor) for t in as_tuple)


def test_only_retrieval_models_expose_the_retrieval_api():
    """A library index tells a retrieval model by `encode_stream`; correspondence models must not have it."""
    for cls in MODEL_CLASSES:
        retrieval = cls not in CORRESPONDENCE
        assert hasattr(cls, "encode_stream") == hasattr(cls, "pairwise_similarity") == retrieval, cls
    assert all(hasattr(cls, "fit_standardization") for cls in MODEL_CLASSES)
    assert [hasattr(cls, "fit_distance_classifier") for cls in MODEL_CLASSES] == [False, False, True, False]


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_single_task_has_no_emotion_heads_and_ignores_emotion_labels(cls, emomv_c_train):
    model = _build(cls, multi_task=False).eval()
    assert not any("emotion_head" in name for name, _ in model.named_parameters())
    batch = _batch(emomv_c_train, 4)
    output = model(batch["video_features"], batch["music_features"], labels=batch["labels"])
    assert output.video_emotion_logits is None and output.music_emotion_logits is None
    bogus = torch.full((4,), 99)
    again = model(**{**batch, "video_emotion_labels": bogus, "music_emotion_labels": bogus})
    assert torch.equal(output.loss, again.loss) and torch.equal(output.loss, output.match_loss)


def test_losses_follow_the_paper(emomv_c_train):
    batch = _batch(emomv_c_train, 8)
    model = _build(EmoMVForCorrespondence).eval()
    out = model(**batch)
    ce = torch.nn.functional.cross_entropy
    torch.testing.assert_close(out.match_loss, ce(out.logits, batch["labels"]))
    torch.testing.assert_close(
        out.loss,
        ce(out.logits, batch["labels"])
        + ce(out.video_emotion_logits, batch["video_emotion_labels"])
        + ce(out.music_emotion_logits, batch["music_emotion_labels"]),
    )
    weighted = EmoMVForCorrespondence(
        EmoMVConfig(video_emotion_loss_weight=0.0, music_emotion_loss_weight=2.0)
    )
    weighted.load_state_dict(model.state_dict())
    w_out = weighted.eval()(**batch)
    torch.testing.assert_close(w_out.loss, out.match_loss + 2.0 * out.music_emotion_loss)
    retrieval = _build(EmoMVForRetrieval).eval()
    r_out = retrieval(**batch)
    d = 1.0 - r_out.similarity
    y = batch["labels"].float()
    manual = 0.5 * (y * d**2 + (1 - y) * torch.clamp(1.0 - d, min=0) ** 2).mean()
    torch.testing.assert_close(r_out.match_loss, manual)


def test_emotion_head_attachment_point():
    x = torch.randn(3, 2304)
    model = _build(EmoMVForCorrespondence, emotion_head_input="embedding").eval()
    encoder = model.video_encoder
    embeds = encoder.projection_head(encoder.reduction(x))
    torch.testing.assert_close(encoder(x)[1], encoder.emotion_head(embeds))
    paper = _build(EmoMVForCorrespondence).eval().video_encoder
    torch.testing.assert_close(paper(x)[1], paper.emotion_head(paper.reduction(x)))


# ------------------------------------------------------------------------------------------------ standardisation


def test_fit_standardization(emomv_c_train):
    video, music = emomv_c_train["video_features"], emomv_c_train["music_features"]
    model = _build(EmoMVForRetrieval)
    model.fit_standardization(video.numpy(), music.numpy())
    standardized = model.standardizer(video, "video")
    torch.testing.assert_close(standardized.mean(0), torch.zeros(2304), atol=1e-4, rtol=0)
    std = model.standardizer.video_std
    constant = video.std(0) == 0  # SlowFast channels that are 0 in every segment keep std 1
    assert torch.all(std[constant] == 1)
    torch.testing.assert_close(
        standardized[:, ~constant].std(0, correction=0), torch.ones(int((~constant).sum()))
    )
    # Same statistics from tensors, numpy, row lists and a dataset column.
    other = _build(EmoMVForRetrieval)
    other.fit_standardization(video, music.tolist())
    for name, buffer in model.standardizer.named_buffers():
        torch.testing.assert_close(buffer, dict(other.standardizer.named_buffers())[name])
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_dict(
        {"video_features": video[:20].tolist(), "music_features": music[:20].tolist()}
    )
    other.fit_standardization(dataset["video_features"], dataset["music_features"])
    torch.testing.assert_close(other.standardizer.music_mean, music[:20].mean(0))
    with pytest.raises(ValueError, match="video_features"):
        other.fit_standardization(video[:, :100], music)
    with pytest.raises(ValueError, match="NaN"):
        other.fit_standardization(video, np.full((4, 128), np.nan))


# ------------------------------------------------------------------------------------------------ save / load


def _assert_same_outputs(first, second, batch):
    a, b = first(**batch), second(**batch)
    assert list(a.keys()) == list(b.keys())
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_save_and_load_round_trip_is_bit_exact(variant, tmp_path, emomv_c_train):
    cls, overrides = variant
    model = _build(cls, **overrides)
    model.fit_standardization(emomv_c_train["video_features"], emomv_c_train["music_features"])
    if cls is EmoMVBaselineForCorrespondence:
        model.fit_distance_classifier(
            emomv_c_train["video_features"], emomv_c_train["music_features"], emomv_c_train["labels"]
        )
    model.eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file() and not (tmp_path / "pytorch_model.bin").exists()
    saved = load_file(tmp_path / "model.safetensors")
    assert "standardizer.video_mean" in saved
    if cls is EmoMVForCorrespondence:
        assert torch.equal(
            saved["classifier.pooling.second_hash_index"], model.classifier.pooling.second_hash_index
        )
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"]["AutoModel"].endswith(cls.__name__)
    assert config["architectures"] == [cls.__name__]

    batch = _batch(emomv_c_train, 12)
    for loaded in (cls.from_pretrained(tmp_path), AutoModel.from_pretrained(tmp_path)):
        assert type(loaded) is cls and not loaded.training
        assert type(loaded.config) is cls.config_class
        for field in dataclasses.fields(cls.config_class):
            if field.name not in ("transformers_version", "architectures", "dtype"):
                assert getattr(loaded.config, field.name) == getattr(model.config, field.name), field.name
        for key, value in overrides.items():
            assert getattr(loaded.config, key) == value
        state, loaded_state = model.state_dict(), loaded.state_dict()
        assert state.keys() == loaded_state.keys()
        for key in state:
            assert torch.equal(state[key], loaded_state[key]), key
        _assert_same_outputs(model, loaded, batch)
    assert type(AutoConfig.from_pretrained(tmp_path)) is cls.config_class


def test_missing_hash_buffers_are_rebuilt_from_the_seed(tmp_path):
    model = _build(EmoMVForCorrespondence, mcb_seed=7).eval()
    model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    save_file({k: v for k, v in weights.items() if "hash" not in k}, tmp_path / "model.safetensors")
    loaded = EmoMVForCorrespondence.from_pretrained(tmp_path)
    for name, buffer in model.classifier.pooling.named_buffers():
        assert torch.equal(buffer, dict(loaded.classifier.pooling.named_buffers())[name])


class _CodeRunningPickle:
    """Unpickling this object runs code: `pickle` calls `__reduce__`'s callable."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("cls", [EmoMVForCorrespondence, EmoMVBaselineForRetrieval], ids=lambda c: c.__name__)
def test_pickled_checkpoints_that_run_code_are_refused(cls, tmp_path):
    """transformers loads `pytorch_model.bin` with `torch.load(weights_only=True)`: a pickle that would run
    code is refused before it runs; plain tensors in a trusted legacy file still load."""
    model = _build(cls)
    model.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    marker = tmp_path / "code-ran"
    torch.save({**model.state_dict(), "payload": _CodeRunningPickle(marker)}, tmp_path / "pytorch_model.bin")
    for loader in (cls.from_pretrained, AutoModel.from_pretrained):
        with pytest.raises(Exception, match="Weights only load failed|weights_only"):
            loader(tmp_path)
    assert not marker.exists(), "unpickling ran the payload"
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    loaded = cls.from_pretrained(tmp_path)
    assert torch.equal(loaded.standardizer.video_std, model.standardizer.video_std)


def test_trust_remote_code_without_the_package(tmp_path):
    """A saved checkpoint carries its code: it loads in a process where emomv_hf cannot be imported."""
    paths = {}
    torch.manual_seed(0)
    ensemble = EmoMVEnsemble(EmoMVEnsembleConfig(member_config=EmoMVRetrievalConfig(), ensemble_size=2))
    for model in (_build(EmoMVForRetrieval), _build(EmoMVBaselineForCorrespondence), ensemble):
        name = type(model).__name__
        paths[name] = tmp_path / name
        model.eval().save_pretrained(paths[name])
        torch.save(model(torch.ones(2, 2304), torch.ones(2, 128)).video_embeds, tmp_path / f"{name}.pt")
    script = f"""
import sys, torch
sys.modules["emomv_hf"] = None  # make the installed package unimportable
from transformers import AutoModel
for name in {list(paths)!r}:
    model = AutoModel.from_pretrained({str(tmp_path)!r} + "/" + name, trust_remote_code=True)
    assert type(model).__name__ == name and "transformers_modules" in type(model).__module__, type(model)
    expected = torch.load({str(tmp_path)!r} + "/" + name + ".pt")
    assert torch.equal(model(torch.ones(2, 2304), torch.ones(2, 128)).video_embeds, expected)
print("ok")
"""
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


# ------------------------------------------------------------------------------------------------ gradients


def test_gradcheck_pieces():
    config = EmoMVConfig(
        reduced_size=4, projection_size=4, projection_dropout=0.5, projection_layer_norm=True
    )
    head = EmoMVProjectionHead(config).double().eval()
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(head, (x,))
    distance = torch.rand(6, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    assert torch.autograd.gradcheck(lambda d: contrastive_loss(d, labels, 1.0), (distance,))
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(euclidean_distance, (a, b[:3]))
    assert torch.autograd.gradcheck(pairwise_euclidean_distance, (a, b))


@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_gradcheck_whole_model(variant):
    cls, overrides = variant
    torch.manual_seed(0)
    model = cls(_tiny_config(cls, **overrides)).double().eval()
    generator = torch.Generator().manual_seed(0)
    video = torch.rand(4, 7, dtype=torch.float64, generator=generator)
    music = torch.rand(4, 6, dtype=torch.float64, generator=generator)
    labels = dict(
        labels=torch.tensor([0, 1, 1, 0]),
        video_emotion_labels=torch.tensor([0, 1, 2, 0]),
        music_emotion_labels=torch.tensor([2, 1, 0, 0]),
    )
    video.requires_grad_(True)
    music.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v, m: model(v, m, **labels).loss, (video, music))
    # ... and with respect to the first weight matrix of the video stream.
    name = next(
        n for n, _ in model.named_parameters() if n.startswith("video_encoder.") and n.endswith("weight")
    )
    weight = model.get_parameter(name).detach().clone().requires_grad_(True)

    def loss_of_weight(w):
        return torch.func.functional_call(model, {name: w}, (video.detach(), music.detach()), labels).loss

    assert torch.autograd.gradcheck(loss_of_weight, (weight,))


# ------------------------------------------------------------------------------------------------ training


@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_adam_steps_on_real_emomv_c_lower_the_loss(variant, emomv_c_train):
    cls, overrides = variant
    model = _build(cls, **overrides)
    model.fit_standardization(emomv_c_train["video_features"], emomv_c_train["music_features"])

    def eval_loss() -> float:
        model.eval()
        with torch.no_grad():
            return float(model(**emomv_c_train).loss)

    before = eval_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(25):
        model.train()
        index = torch.randperm(360, generator=generator)[:128]
        loss = model(**{name: tensor[index] for name, tensor in emomv_c_train.items()}).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = eval_loss()
    print(f"\n{_variant_id(variant)}: train loss {before:.4f} -> {after:.4f}")
    assert after < before - 0.01


def test_baseline_stage_two_logistic_regression(emomv_c_train, emomv_c_val):
    model = _build(EmoMVBaselineForCorrespondence)
    model.fit_standardization(emomv_c_train["video_features"], emomv_c_train["music_features"])
    model.eval()
    # Before fitting: documented initial values, matched exactly when distance < margin / 2.
    assert model.distance_classifier.weight.item() == -1.0 and model.distance_classifier.bias.item() == 0.5
    out = model(emomv_c_val["video_features"], emomv_c_val["music_features"])
    assert torch.equal(out.logits.argmax(-1), (out.distance < 0.5).long())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(30):
        loss = model(**emomv_c_train).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    buffers_before = {n: b.clone() for n, b in model.named_buffers() if "distance" not in n}
    model.fit_distance_classifier(
        emomv_c_train["video_features"].numpy(),
        emomv_c_train["music_features"],
        emomv_c_train["labels"].tolist(),
    )
    assert model.training, "fit_distance_classifier restores the training mode"
    for name, buffer in model.named_buffers():
        if name in buffers_before:
            assert torch.equal(buffer, buffers_before[name])
    weight, bias = model.distance_classifier.weight.item(), model.distance_classifier.bias.item()
    model.eval()
    with torch.no_grad():
        out = model(emomv_c_train["video_features"], emomv_c_train["music_features"])
    # Optimality of the documented objective: C * sum(logloss) + 0.5 w², C = 1.
    d, y = out.distance.double(), emomv_c_train["labels"].double()
    p = torch.sigmoid(weight * d + bias)
    gradient = torch.stack([((p - y) * d).sum() + weight, (p - y).sum()])
    assert gradient.abs().max() < 1e-4  # float32 storage of (w, b) rounds the float64 optimum
    torch.testing.assert_close(out.logits.softmax(-1)[:, 1], p.float(), rtol=1e-5, atol=1e-6)
    assert weight < 0, "larger distance should mean less likely matched"
    sklearn = pytest.importorskip("sklearn.linear_model")
    reference = sklearn.LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(
        d.numpy()[:, None], y.numpy()
    )
    assert abs(reference.coef_[0, 0] - weight) < 1e-4 and abs(reference.intercept_[0] - bias) < 1e-4
    with pytest.raises(ValueError, match="both"):
        model.fit_distance_classifier(
            emomv_c_train["video_features"][:4], emomv_c_train["music_features"][:4], [1, 1, 1, 1]
        )
    with pytest.raises(ValueError, match="same batch size"):
        model.fit_distance_classifier(
            emomv_c_train["video_features"][:4], emomv_c_train["music_features"][:5], [1, 0, 1, 0]
        )
    with pytest.raises(ValueError, match=r"`labels` must be in 0\.\.1, got values from 0 to 2"):
        model.fit_distance_classifier(
            emomv_c_train["video_features"][:4], emomv_c_train["music_features"][:4], [1, 0, 2, 0]
        )


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_bad_input_gives_clear_errors(cls):
    """`forward` trusts its inputs (as transformers' models do); `prepare_inputs` checks raw ones where they enter."""
    model = _build(cls).eval()
    video, music = torch.rand(4, 2304), torch.rand(4, 128)
    labels = torch.tensor([0, 1, 1, 0])
    emotions = torch.tensor([0, 1, 2, 4])
    full = dict(labels=labels, video_emotion_labels=emotions, music_emotion_labels=emotions)
    cases = [
        (dict(video_features=torch.rand(4, 2048), music_features=music), r"video_features.*\(batch, 2304\)"),
        (dict(video_features=video, music_features=torch.rand(4, 129)), r"music_features.*\(batch, 128\)"),
        (dict(video_features=video[0], music_features=music), "unsqueeze"),
        (dict(video_features=video, music_features=music[:3]), "same batch size"),
        (
            dict(
                video_features=video.clone().index_fill_(1, torch.tensor([5]), float("nan")),
                music_features=music,
            ),
            "video_features.*NaN",
        ),
        (dict(video_features=video, music_features=music.clone().fill_(float("inf"))), "music_features.*NaN"),
        (
            dict(
                video_features=video, music_features=music, **{**full, "labels": torch.tensor([0, 1, 2, 0])}
            ),
            r"labels.*0\.\.1",
        ),
        (
            dict(video_features=video, music_features=music, **{**full, "labels": labels[:3]}),
            r"labels.*\(4,\)",
        ),
        (
            dict(video_features=video, music_features=music, **{**full, "labels": labels.float()}),
            "labels.*integer",
        ),
        (
            dict(
                video_features=video, music_features=music, **{**full, "video_emotion_labels": emotions + 1}
            ),
            r"video_emotion_labels.*0\.\.4",
        ),
        (
            dict(video_features=video, music_features=music, **{**full, "music_emotion_labels": -emotions}),
            "music_emotion_labels",
        ),
        (
            dict(video_features=video, music_features=music, labels=labels),
            "video_emotion_labels.*music_emotion_labels",
        ),
        (
            dict(video_features=video, music_features=music, labels=labels, music_emotion_labels=emotions),
            "video_emotion_labels",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            model.prepare_inputs(**kwargs)
    with pytest.raises(TypeError, match="video_features"):
        model.prepare_inputs(object(), music)
    with pytest.raises(ValueError, match="video_features"):
        model.prepare_inputs(torch.rand(2, 10))
    # Labels without features are checked against their own length.
    assert model.prepare_inputs(video_emotion_labels=[4, 0, 2])["video_emotion_labels"].tolist() == [4, 0, 2]
    # Mixed precision, numpy arrays and lists of rows are converted, not rejected.
    inputs = model.prepare_inputs(video.double(), music.half().numpy(), **{**full, "labels": labels.tolist()})
    assert inputs["video_features"].dtype == inputs["music_features"].dtype == torch.float32
    assert model(**inputs).video_embeds.dtype == torch.float32
    torch.testing.assert_close(model(**inputs).loss, model(video, music.half().float(), **full).loss)


def test_big_endian_arrays_are_read_as_native_ones(emomv_c_train, tmp_path):
    """An HDF5 file (or .npy) may store big-endian numbers, and h5py returns them so (`>f4`): they were refused
    as "must be ... a numpy array, got ndarray" by `prepare_inputs` and `fit_standardization`."""
    import h5py

    native = {name: tensor[:32].numpy() for name, tensor in emomv_c_train.items()}
    with h5py.File(tmp_path / "features.h5", "w") as handle:
        for name, array in native.items():
            handle.create_dataset(name, data=array.astype(array.dtype.newbyteorder(">")))
    with h5py.File(tmp_path / "features.h5", "r") as handle:
        stored = {name: handle[name][:] for name in native}
    assert stored["video_features"].dtype.str == ">f4" and stored["labels"].dtype.str == ">i8"
    models = [_build(EmoMVForCorrespondence).eval() for _ in range(2)]
    for model, arrays in zip(models, (native, stored), strict=True):
        model.fit_standardization(arrays["video_features"], arrays["music_features"])
    inputs = [model.prepare_inputs(**arrays) for model, arrays in zip(models, (native, stored), strict=True)]
    for name in native:
        assert torch.equal(inputs[0][name], inputs[1][name])
    assert torch.equal(models[0](**inputs[0]).loss, models[1](**inputs[1]).loss)


def test_feature_rows_of_a_pandas_or_arrow_column_are_read(emomv_c_train):
    """A pandas column of rows (`Dataset.to_pandas()`, `pd.read_parquet` of a Hub dataset's shards) and an
    Arrow column hold one array per row (numpy's object dtype): they were refused as "must be ... a numpy
    array or a sequence of numbers, got Series" (or "got ndarray" for `Series.values`)."""
    from datasets import Dataset

    batch = {name: tensor[:32] for name, tensor in emomv_c_train.items()}
    dataset = Dataset.from_dict({name: tensor.numpy() for name, tensor in batch.items()})
    frame = dataset.to_pandas()
    models = [_build(EmoMVForCorrespondence).eval() for _ in range(4)]
    columns = [
        batch,
        {name: frame[name] for name in batch},
        {name: frame[name].values for name in batch},
        {name: dataset.data.column(name) for name in batch},
    ]
    inputs = []
    for model, given in zip(models, columns, strict=True):
        model.fit_standardization(given["video_features"], given["music_features"])
        inputs.append(model.prepare_inputs(**given))
    for model, each in zip(models, inputs, strict=True):
        assert each.keys() == inputs[0].keys() and all(torch.equal(each[k], inputs[0][k]) for k in each)
        assert torch.equal(model(**each).loss, models[0](**inputs[0]).loss)
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.zeros(128), np.zeros(127)]
    with pytest.raises(TypeError, match="`music_features` must be a torch tensor"):
        models[0].prepare_inputs(music_features=ragged)


def test_float64_features_beyond_float32_are_refused(emomv_c_train):
    """Finite float64 values beyond float32's range become inf in the model's dtype (NaN logits, no error)."""
    model = _build(EmoMVForCorrespondence).eval()
    video = emomv_c_train["video_features"][:4].double().numpy()
    video[1, 3] = 1e39
    with pytest.raises(ValueError, match=r"`video_features` holds values beyond the range of torch.float32"):
        model.prepare_inputs(video, emomv_c_train["music_features"][:4])
    model.double()  # in float64 the same value is a number
    assert torch.isfinite(
        model.prepare_inputs(video, emomv_c_train["music_features"][:4])["video_features"]
    ).all()


def _independent_supervised_contrastive(video, music, video_emotions, music_emotions, temperature):
    """Khosla et al.'s loss written query by query with plain Python loops, both directions averaged."""
    directions = []
    for queries, keys, query_labels, key_labels in (
        (video, music, video_emotions, music_emotions),
        (music, video, music_emotions, video_emotions),
    ):
        losses = []
        for i in range(len(queries)):
            scores = [float(queries[i] @ keys[j]) / temperature for j in range(len(keys))]
            log_norm = float(torch.logsumexp(torch.tensor(scores, dtype=torch.float64), 0))
            positives = [j for j in range(len(keys)) if key_labels[j] == query_labels[i]]
            if positives:
                losses.append(-sum(scores[j] - log_norm for j in positives) / len(positives))
        directions.append(sum(losses) / len(losses))
    return 0.5 * sum(directions)


def test_supervised_contrastive_loss_matches_an_independent_computation(emomv_c_train):
    from emomv_hf.modeling_emomv import supervised_contrastive_loss

    model = _build(
        EmoMVForRetrieval, supervised_contrastive_weight=0.5, supervised_contrastive_temperature=0.3
    )
    model.fit_standardization(emomv_c_train["video_features"], emomv_c_train["music_features"])
    batch = {name: tensor[:24] for name, tensor in emomv_c_train.items()}
    batch["music_emotion_labels"][0] = 4 if int(batch["music_emotion_labels"][0]) != 4 else 3
    with torch.no_grad():
        output = model.eval()(**batch)
    loss = supervised_contrastive_loss(
        output.video_embeds.double(),
        output.music_embeds.double(),
        batch["video_emotion_labels"],
        batch["music_emotion_labels"],
        0.3,
    )
    expected = _independent_supervised_contrastive(
        output.video_embeds.double(),
        output.music_embeds.double(),
        batch["video_emotion_labels"].tolist(),
        batch["music_emotion_labels"].tolist(),
        0.3,
    )
    assert float(loss) == pytest.approx(expected, rel=1e-10)
    # The total adds the weighted term to the paper's loss, and the logged match loss stays the contrastive one.
    assert float(output.extra_loss) == pytest.approx(0.5 * expected, rel=1e-5)
    paper = contrastive_loss(1.0 - (output.video_embeds * output.music_embeds).sum(-1), batch["labels"], 1.0)
    torch.testing.assert_close(output.match_loss, paper)
    torch.testing.assert_close(
        output.loss,
        output.match_loss + output.extra_loss + output.video_emotion_loss + output.music_emotion_loss,
    )


@pytest.mark.parametrize("similarity", ["cosine", "emotion", "mix"])
def test_similarity_options_score_by_their_definition(similarity, emomv_c_train):
    model = _build(EmoMVForRetrieval, similarity=similarity, emotion_similarity_weight=0.3)
    model.fit_standardization(emomv_c_train["video_features"], emomv_c_train["music_features"])
    video, music = emomv_c_train["video_features"][:16], emomv_c_train["music_features"][:16]
    with torch.no_grad():
        output = model.eval()(video_features=video, music_features=music)
        cosine = output.video_embeds.double() @ output.music_embeds.double().t()
        emotion = (
            output.video_emotion_logits.double().softmax(-1)
            @ output.music_emotion_logits.double().softmax(-1).t()
        )
        expected = {"cosine": cosine, "emotion": emotion, "mix": 0.7 * cosine + 0.3 * emotion}[similarity]
        torch.testing.assert_close(output.logits_per_video.double(), expected, rtol=0, atol=1e-6)
        torch.testing.assert_close(output.similarity, output.logits_per_video.diagonal())
        # The encoded vectors give the same scores by their inner product (what a library index searches).
        video_vectors, music_vectors = (
            model.encode_stream(video, "video")[0],
            model.encode_stream(music, "music")[0],
        )
        torch.testing.assert_close(
            model.pairwise_similarity(video_vectors, music_vectors), output.logits_per_video
        )
    width = {"cosine": 64, "emotion": 5, "mix": 69}[similarity]
    assert video_vectors.shape == (16, width)


def test_emotion_options_need_the_emotion_heads():
    for overrides in (
        {"similarity": "emotion"},
        {"similarity": "mix"},
        {"supervised_contrastive_weight": 1.0},
    ):
        with pytest.raises(StrictDataclassClassValidationError, match="single-task"):
            EmoMVRetrievalConfig(multi_task=False, **overrides)
    with pytest.raises(StrictDataclassClassValidationError, match="emotion_similarity_weight"):
        EmoMVRetrievalConfig(similarity="mix", emotion_similarity_weight=1.5)
    with pytest.raises(StrictDataclassFieldValidationError):
        EmoMVRetrievalConfig(similarity="euclidean")


def test_load_model_refuses_weights_the_checkpoint_lacks(tmp_path):
    """A folder whose weights lack a tensor the configuration makes (a damaged file, or an edited
    `ensemble_size`) is refused in one line: transformers would initialise it at random and only log it. The
    MCB hashes alone may be missing: they are rebuilt exactly from `mcb_seed`."""
    from emomv_hf.models_registry import load_model

    _build(EmoMVForCorrespondence, mcb_seed=7).save_pretrained(tmp_path / "model")
    weights = load_file(tmp_path / "model" / "model.safetensors")
    save_file({k: v for k, v in weights.items() if "hash" not in k}, tmp_path / "model" / "model.safetensors")
    assert load_model(str(tmp_path / "model")).classifier.pooling.seed == 7
    # A hash index past the pooling's output loaded, then failed in forward (a device-side assert on a GPU).
    tampered = {
        **weights,
        "classifier.pooling.first_hash_index": weights["classifier.pooling.first_hash_index"].clone(),
    }
    tampered["classifier.pooling.first_hash_index"][0] = 999
    save_file(tampered, tmp_path / "model" / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(
        ValueError, match=r"model: weight classifier\.pooling\.first_hash_index holds indices outside"
    ):
        load_model(str(tmp_path / "model"))
    del weights["standardizer.video_mean"]
    save_file(weights, tmp_path / "model" / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"model: weight standardizer\.video_mean is missing .*1 tensor"):
        load_model(str(tmp_path / "model"))

    ensemble = EmoMVEnsemble(
        EmoMVEnsembleConfig(ensemble_size=2, member_config=_tiny_config(EmoMVForRetrieval))
    )
    ensemble.save_pretrained(tmp_path / "ensemble")
    config = json.loads((tmp_path / "ensemble" / "config.json").read_text())
    (tmp_path / "ensemble" / "config.json").write_text(json.dumps({**config, "ensemble_size": 3}))
    with pytest.raises(ValueError, match=r"ensemble: weight members\.2\..* is missing"):
        load_model(str(tmp_path / "ensemble"))
    # A standardiser divides by its std: 0 makes every output NaN or infinite (fitting never stores one below eps).
    weights = ensemble.state_dict()
    weights["members.1.standardizer.music_std"][5] = 0.0
    save_file(weights, tmp_path / "ensemble" / "model.safetensors", metadata={"format": "pt"})
    (tmp_path / "ensemble" / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match=r"ensemble: weight members\.1\.standardizer\.music_std holds values <= 0"
    ):
        load_model(str(tmp_path / "ensemble"))
    # Fewer members than the weights hold: the ensemble would silently predict without the others.
    (tmp_path / "ensemble" / "config.json").write_text(json.dumps({**config, "ensemble_size": 1}))
    with pytest.raises(
        ValueError, match=r"ensemble: weight members\.1\..* is not in the model .*config\.json"
    ):
        load_model(str(tmp_path / "ensemble"))


def test_load_model_refuses_a_folder_of_another_model(tmp_path):
    """`--model` given the package's own VGGish extractor folder, or any other transformers model, is refused
    in one line naming its config.json (the extractor's `from_pretrained` crashed with an AttributeError, and a
    BERT folder loaded as a BertModel that its caller then failed on)."""
    from transformers import BertConfig, BertModel

    from emomv_hf.features.configuration_vggish import VGGishConfig
    from emomv_hf.features.modeling_vggish import VGGishModel
    from emomv_hf.models_registry import load_model

    VGGishModel(VGGishConfig(hidden_size=8)).save_pretrained(tmp_path / "vggish")
    bert = BertConfig(
        vocab_size=8, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8
    )
    BertModel(bert).save_pretrained(tmp_path / "bert")
    for name, model_type in (("vggish", "vggish"), ("bert", "bert")):
        with pytest.raises(
            ValueError, match=rf"{name}/config\.json: model_type '{model_type}' is not an EmoMV model"
        ):
            load_model(str(tmp_path / name))


def test_the_retrieval_head_on_a_stage_one_keeps_its_dtype_and_embeddings():
    """`from_stage_one` kept the correspondence model's device but not its dtype: a bfloat16 stage one gave a
    float32 retrieval model."""
    torch.manual_seed(0)
    stage_one = EmoMVBaselineForCorrespondence(EmoMVBaselineConfig()).to(torch.bfloat16).eval()
    retrieval = EmoMVBaselineForRetrieval.from_stage_one(stage_one)
    assert retrieval.dtype == torch.bfloat16
    video, music = torch.randn(3, 2304, dtype=torch.bfloat16), torch.randn(3, 128, dtype=torch.bfloat16)
    with torch.no_grad():
        assert torch.equal(retrieval(video, music).video_embeds, stage_one(video, music).video_embeds)
