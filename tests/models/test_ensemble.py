"""EmoMVEnsemble: members as standalone models, averaged predictions, summed losses, round trips, training."""

from __future__ import annotations

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from transformers import AutoModel

from emomv_hf import (
    EmoMVConfig,
    EmoMVEnsemble,
    EmoMVEnsembleConfig,
    EmoMVForCorrespondence,
    EmoMVForRetrieval,
    EmoMVRetrievalConfig,
    build_config,
    build_model,
)
from emomv_hf.data.loading import load_emomv
from emomv_hf.evaluation import evaluate_retrieval
from emomv_hf.metrics.functional import emotion_metrics, retrieval_metrics_both_directions

TASKS = ["correspondence", "retrieval"]


def _ensemble(task: str, size: int = 3, **overrides) -> EmoMVEnsemble:
    return EmoMVEnsemble(
        EmoMVEnsembleConfig(member_config=build_config("emomv", task, **overrides), ensemble_size=size)
    )


def _fitted(task: str, train, size: int = 3, **overrides) -> EmoMVEnsemble:
    torch.manual_seed(0)
    model = _ensemble(task, size, **overrides)
    model.fit_standardization(train["video_features"], train["music_features"])
    return model


@pytest.mark.parametrize("task", TASKS)
def test_members_are_the_standalone_models_drawn_one_after_the_other(task):
    torch.manual_seed(7)
    expected = [build_model("emomv", task) for _ in range(3)]
    torch.manual_seed(7)
    ensemble = _ensemble(task)
    assert isinstance(ensemble, EmoMVEnsemble) and ensemble.config.task == task
    for member, model in zip(ensemble.members, expected, strict=True):
        assert type(member) is type(model)
        reference = model.state_dict()
        assert all(torch.equal(tensor, reference[name]) for name, tensor in member.state_dict().items())
    weights = [member.video_encoder.reduction.weight for member in ensemble.members]
    assert not torch.equal(weights[0], weights[1])


@pytest.mark.parametrize("task", TASKS)
def test_save_and_load_round_trip_is_bit_exact(task, tmp_path, emomv_c_train):
    overrides = {"similarity": "mix"} if task == "retrieval" else {}
    ensemble = _fitted(task, emomv_c_train, **overrides).eval()
    ensemble.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is EmoMVEnsemble
    # `from_pretrained` records the loaded dtype on every sub-config; the members' fields are unchanged.
    saved, reloaded = ensemble.config.member_config.to_dict(), loaded.config.member_config.to_dict()
    assert reloaded.pop("dtype") == "float32" and {**saved, "dtype": None} == {**reloaded, "dtype": None}
    reference = ensemble.state_dict()
    assert reference.keys() == loaded.state_dict().keys()
    assert all(torch.equal(tensor, reference[name]) for name, tensor in loaded.state_dict().items())
    batch = {name: emomv_c_train[name][:16] for name in ("video_features", "music_features")}
    with torch.no_grad():
        for name, value in ensemble(**batch).items():
            assert torch.equal(value, loaded(**batch)[name]), name


def test_correspondence_averages_the_members_probabilities_and_sums_their_losses(emomv_c_train):
    ensemble = _fitted("correspondence", emomv_c_train, projection_dropout=0.0)
    batch = {name: tensor[:32] for name, tensor in emomv_c_train.items()}
    with torch.no_grad():
        output = ensemble.eval()(**batch)
        members = [member(**batch) for member in ensemble.members]
    for field in ("logits", "video_emotion_logits", "music_emotion_logits"):
        mean = torch.stack([getattr(m, field).double().softmax(-1) for m in members]).mean(0)
        torch.testing.assert_close(getattr(output, field).double().softmax(-1), mean, rtol=0, atol=1e-6)
    for field in ("loss", "match_loss", "video_emotion_loss", "music_emotion_loss"):
        expected = sum(getattr(m, field).double() for m in members)
        torch.testing.assert_close(getattr(output, field).double(), expected, rtol=1e-6, atol=0)


def test_members_get_the_gradients_they_would_get_alone(emomv_c_train):
    ensemble = _fitted("retrieval", emomv_c_train, projection_dropout=0.0, supervised_contrastive_weight=1.0)
    batch = {name: tensor[:32] for name, tensor in emomv_c_train.items()}
    ensemble.train()(**batch).loss.backward()
    for member in ensemble.members:
        alone = EmoMVForRetrieval(member.config)
        alone.load_state_dict(member.state_dict())
        alone.train()(**batch).loss.backward()
        for (name, parameter), twin in zip(member.named_parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(parameter.grad, twin.grad, rtol=1e-5, atol=1e-7, msg=name)


@pytest.mark.parametrize("similarity", ["cosine", "emotion", "mix"])
def test_retrieval_ranks_by_the_mean_member_similarity(similarity, emomv_c_dir, emomv_c_train):
    segments = load_emomv(str(emomv_c_dir), "segments")["validation"]
    ensemble = _fitted("retrieval", emomv_c_train, similarity=similarity)
    report = evaluate_retrieval(ensemble, segments)
    video = torch.tensor(segments["video_features"])
    music = torch.tensor(segments["music_features"])
    with torch.no_grad():
        mean = torch.stack(
            [
                member.encode_stream(video, "video")[0].double()
                @ member.encode_stream(music, "music")[0].double().t()
                for member in ensemble.eval().members
            ]
        ).mean(0)
    similarity_matrix = torch.from_numpy(report.predictions["similarity"]).double()
    torch.testing.assert_close(similarity_matrix, mean, atol=1e-6, rtol=0)
    labels = report.predictions["labels"]
    assert list(labels) == list(segments["emotion"])
    # Ranked on the float32 scores the report holds (a float64 mean orders near-ties differently).
    independent = retrieval_metrics_both_directions(report.predictions["similarity"], labels, labels)
    for name in ("video_to_music/map", "music_to_video/map"):
        assert report.metrics[name] == pytest.approx(independent[name], abs=1e-9)
    for stream in ("video", "music"):  # each stream's emotion predictions scored against the set's labels
        expected = emotion_metrics(stream, labels, report.predictions[f"{stream}_emotion_predictions"])
        assert {name: report.metrics[name] for name in expected} == expected


def test_from_members_copies_separately_trained_models_and_refuses_mixed_ones():
    torch.manual_seed(1)
    models = [EmoMVForCorrespondence(EmoMVConfig()) for _ in range(2)]
    ensemble = EmoMVEnsemble.from_members(models)
    for member, model in zip(ensemble.members, models, strict=True):
        assert all(
            torch.equal(a, b)
            for a, b in zip(member.state_dict().values(), model.state_dict().values(), strict=True)
        )
    with pytest.raises(ValueError, match=r"members\[1\]"):
        EmoMVEnsemble.from_members([models[0], EmoMVForCorrespondence(EmoMVConfig(fusion_hidden_size=16))])
    with pytest.raises(ValueError, match=r"members\[1\]"):
        EmoMVEnsemble.from_members([models[0], EmoMVForRetrieval(EmoMVRetrievalConfig())])


def test_an_ensemble_of_members_loaded_from_folders_does_not_record_their_paths(tmp_path):
    """The ensemble's config is what a push publishes: the first member's folder (a local path, a user name in it)
    was saved as its `member_config`'s `_name_or_path`."""
    folder = tmp_path / "home-of-alice" / "member"
    EmoMVForRetrieval(EmoMVRetrievalConfig()).save_pretrained(folder)
    member = EmoMVForRetrieval.from_pretrained(folder)
    EmoMVEnsemble.from_members([member, member]).save_pretrained(tmp_path / "ensemble")
    assert "home-of-alice" not in (tmp_path / "ensemble" / "config.json").read_text()


def test_from_members_copies_the_members_dtype_and_mode():
    """A copy of evaluating bfloat16 members predicts as they do: it was float32 and in training mode (dropout)."""
    torch.manual_seed(1)
    models = [EmoMVForRetrieval(EmoMVRetrievalConfig()).to(torch.bfloat16).eval() for _ in range(2)]
    ensemble = EmoMVEnsemble.from_members(models)
    assert ensemble.dtype == torch.bfloat16 and not ensemble.training
    video, music = torch.randn(4, 2304, dtype=torch.bfloat16), torch.randn(4, 128, dtype=torch.bfloat16)
    assert torch.equal(ensemble.members[0](video, music).video_embeds, models[0](video, music).video_embeds)


def test_ensemble_config_validation():
    with pytest.raises(StrictDataclassClassValidationError, match="ensemble_size"):
        EmoMVEnsembleConfig(ensemble_size=0)
    with pytest.raises(ValueError, match="model_type"):  # raised while the sub-config is built
        EmoMVEnsembleConfig(member_config={"model_type": "emomv_baseline"})
    with pytest.raises(StrictDataclassClassValidationError, match="reduced_size"):
        EmoMVEnsembleConfig(member_config={**EmoMVConfig().to_dict(), "reduced_size": 0})
