"""The training loop's pieces on the real EmoMV-C features: batching, grouped hold-out, early stopping."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from emomv_hf.data.loading import load_emomv
from emomv_hf.data.schema import source_video_id
from emomv_hf.data.tensors import TensorPairs, tensor_loader
from emomv_hf.models_registry import build_model
from emomv_hf.training import EarlyStopping, EmoMVTrainingArguments, make_accelerator, train_model
from emomv_hf.training.protocols import grouped_holdout_indices


@pytest.fixture(scope="module")
def pairs(emomv_c_dir):
    return load_emomv(str(emomv_c_dir))


def test_tensor_pairs_batches_are_the_dataset_rows(pairs):
    data = TensorPairs.from_dataset(pairs["train"])
    assert len(data) == 360
    batch = data.__getitems__([5, 0, 359])
    rows = pairs["train"].select([5, 0, 359])
    assert torch.equal(batch["video_features"], torch.tensor(rows["video_features"], dtype=torch.float32))
    assert torch.equal(batch["music_features"], torch.tensor(rows["music_features"], dtype=torch.float32))
    assert batch["labels"].tolist() == rows["label"]
    assert batch["video_emotion_labels"].tolist() == rows["video_emotion"]
    assert batch["music_emotion_labels"].tolist() == rows["music_emotion"]


def _epoch_batches(seed: int, epoch: int) -> list[list[int]]:
    args = EmoMVTrainingArguments(seed=seed)
    data = TensorPairs({"index": torch.arange(10)})
    loader = make_accelerator(args, cpu=True).prepare(tensor_loader(data, 4, shuffle=True))
    loader.set_epoch(epoch)
    return [batch["index"].tolist() for batch in loader]


def test_shuffled_batches_depend_only_on_seed_and_epoch():
    """Accelerate's seedable sampler, seeded per run: a resumed process sees the uninterrupted run's batches."""
    first = _epoch_batches(seed=3, epoch=7)
    torch.manual_seed(12345)  # global state must not matter
    assert _epoch_batches(seed=3, epoch=7) == first
    assert sorted(index for batch in first for index in batch) == list(range(10))
    assert [len(batch) for batch in first] == [4, 4, 2]
    assert _epoch_batches(seed=3, epoch=8) != first
    # Seeds are spread apart: seed 3's epoch 8 is not seed 4's epoch 7 (accelerate adds the epoch to the seed).
    assert _epoch_batches(seed=4, epoch=7) != _epoch_batches(seed=3, epoch=8)
    # The same order as the package's earlier sampler: torch.randperm seeded with seed * 100003 + epoch.
    order = torch.randperm(10, generator=torch.Generator().manual_seed(3 * 100_003 + 7)).tolist()
    assert first == [order[0:4], order[4:8], order[8:]]


def test_tensor_loader_yields_whole_batches(pairs):
    data = TensorPairs.from_dataset(pairs["validation"])
    batches = list(tensor_loader(data, 64, shuffle=False))
    assert [len(batch["labels"]) for batch in batches] == [64, 32]
    assert torch.equal(torch.cat([batch["labels"] for batch in batches]), data.inputs["labels"])


def test_grouped_holdout_keeps_source_videos_apart(pairs):
    train = pairs["train"]
    videos, musics = train["video_segment_id"], train["music_segment_id"]
    fit, held_out = grouped_holdout_indices(videos, musics, 0.2, seed=0)
    assert len(fit) + len(held_out) == len(train)
    assert set(fit).isdisjoint(held_out)
    assert 0.15 <= len(held_out) / len(train) <= 0.3

    def sources(rows):
        return {source_video_id(videos[i]) for i in rows} | {source_video_id(musics[i]) for i in rows}

    assert sources(fit).isdisjoint(sources(held_out))
    again = grouped_holdout_indices(videos, musics, 0.2, seed=0)
    assert np.array_equal(again[1], held_out)
    other = grouped_holdout_indices(videos, musics, 0.2, seed=1)
    assert not np.array_equal(other[1], held_out)


def test_a_held_out_slice_of_no_pair_or_of_every_pair_is_refused_saying_which(pairs):
    train = pairs["train"]
    videos, musics = train["video_segment_id"], train["music_segment_id"]
    # 0.1 % of 360 pairs rounds to none: the fraction is what to change, not the groups.
    with pytest.raises(ValueError, match=r"--held-out-fraction 0\.001 holds out none of the 360 pairs"):
        grouped_holdout_indices(videos, musics, 0.001, seed=0)
    one_source = [f"song_{number:02d}" for number in range(1, 6)]
    with pytest.raises(ValueError, match=r"too few source-video groups \(1\)"):
        grouped_holdout_indices(one_source, one_source, 0.3, seed=0)


def test_early_stopping_restores_the_best_epoch_and_stops_after_patience(tmp_path):
    model = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=2)
    assert not stopper.update(0, 1.0, 0.9, model)
    best = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    assert not stopper.update(1, 0.8, 0.95, model)
    assert stopper.update(2, 0.7, 0.91, model)
    assert stopper.best_epoch == 0 and stopper.best_loss == 0.9
    assert all(torch.equal(stopper.best_state[name], best[name]) for name in best)
    # A checkpoint holds the state as JSON and the best weights as safetensors: both come back unchanged.
    state = stopper.save(tmp_path)
    restored = EarlyStopping(patience=2)
    restored.load(json.loads(json.dumps(state)), tmp_path, torch.device("cpu"))
    assert restored.save(tmp_path) == state and restored.history == stopper.history
    assert all(torch.equal(restored.best_state[name], best[name]) for name in best)


@pytest.mark.parametrize(
    ("model_name", "task", "single_task"),
    [("emomv", "correspondence", False), ("emomv", "retrieval", True), ("baseline", "correspondence", False)],
)
def test_train_model_lowers_the_loss_on_real_features(pairs, model_name, task, single_task):
    args = EmoMVTrainingArguments(
        dataset="unused",
        task=task,
        model=model_name,
        single_task=single_task,
        max_epochs=30,
        patience=100,
        progress=False,
        learning_rate=1e-3,
    )
    torch.manual_seed(0)
    train = TensorPairs.from_dataset(pairs["train"])
    validation = TensorPairs.from_dataset(pairs["validation"])
    model = build_model(model_name, task, multi_task=not single_task)
    model.fit_standardization(train.inputs["video_features"], train.inputs["music_features"])
    outcome = train_model(model, train, validation, args, make_accelerator(args, cpu=True))
    history = outcome.history
    assert len(history) == outcome.epochs_run == 30
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert all(math.isfinite(epoch["stopping_loss"]) for epoch in history)
    best = min(history, key=lambda epoch: epoch["stopping_loss"])
    assert outcome.best_epoch == best["epoch"]
    # the returned model carries the best epoch's weights
    from emomv_hf.training.loop import stopping_loss

    assert stopping_loss(model, validation) == pytest.approx(best["stopping_loss"], rel=1e-6)


def test_training_arguments_reject_bad_values():
    with pytest.raises(ValueError, match="--protocol"):
        EmoMVTrainingArguments(protocol="test-set")
    with pytest.raises(ValueError, match="--hub-model-id"):
        EmoMVTrainingArguments(push_to_hub=True)
    with pytest.raises(ValueError, match="--patience"):
        replace(EmoMVTrainingArguments(), patience=0)
    with pytest.raises(ValueError, match="--seed must be a non-negative integer"):
        EmoMVTrainingArguments(seed=-1)
    with pytest.raises(ValueError, match="--learning-rate must be positive"):
        EmoMVTrainingArguments(learning_rate=0)


def test_unreachable_dataset_says_how_to_build_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_emomv.py"):
        load_emomv(str(tmp_path / "no-such-emomv-c"))


def test_config_overrides_are_typed_checked_and_reach_the_model(emomv_c_dir):
    from emomv_hf.training.pipeline import run_training

    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        task="retrieval",
        config_overrides="similarity=mix,supervised_contrastive_weight=1,projection_dropout=0.25",
        max_epochs=2,
        progress=False,
        plots=False,
    )
    assert args.model_config_fields() == {
        "similarity": "mix",
        "supervised_contrastive_weight": 1.0,
        "projection_dropout": 0.25,
    }
    config = run_training(args, save=False).model.config
    assert (config.similarity, config.supervised_contrastive_weight, config.projection_dropout) == (
        "mix",
        1.0,
        0.25,
    )
    for overrides, message in [
        ("simlarity=mix", "simlarity"),
        ("similarity=dot", "similarity"),
        ("similarity", "not FIELD=VALUE"),
        ("task=correspondence", "chosen by --model"),
        ("reduced_size=many", "invalid literal"),
    ]:
        with pytest.raises(ValueError, match=message):
            EmoMVTrainingArguments(task="retrieval", config_overrides=overrides)
    # The baseline has no similarity option, and a single-task model has no emotions to rank by.
    with pytest.raises(ValueError, match="similarity"):
        EmoMVTrainingArguments(model="baseline", task="retrieval", config_overrides="similarity=mix")
    with pytest.raises(ValueError, match="single-task"):
        EmoMVTrainingArguments(task="retrieval", single_task=True, config_overrides="similarity=emotion")


def test_an_ensemble_of_k_seeds_is_k_separate_runs_in_one_checkpoint(emomv_c_dir, tmp_path):
    from transformers import AutoModel

    from emomv_hf import EmoMVEnsemble
    from emomv_hf.evaluation import evaluate
    from emomv_hf.training.pipeline import member_seeds, run_training

    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        protocol="paper",  # no temperature fit, which a single run of another protocol has and members lack
        ensemble_size=2,
        max_epochs=25,
        patience=5,
        progress=False,
        plots=False,
        output_dir=str(tmp_path / "ensemble"),
    )
    result = run_training(args)
    ensemble = result.model
    assert isinstance(ensemble, EmoMVEnsemble) and args.run_name.endswith("-ensemble2")
    validation = load_emomv(str(emomv_c_dir))["validation"]
    for member, seed in zip(ensemble.members, member_seeds(args), strict=True):
        alone = run_training(replace(args, ensemble_size=1, seed=seed, output_dir=None), save=False)
        expected = alone.model.state_dict()
        assert all(torch.equal(tensor, expected[name]) for name, tensor in member.state_dict().items())
        assert evaluate(member, validation).metrics == alone.metrics
    assert result.outcome.member_best_epochs is not None and len(result.outcome.member_best_epochs) == 2
    loaded = AutoModel.from_pretrained(tmp_path / "ensemble")
    assert evaluate(loaded, validation).metrics == result.metrics
    assert "members' best epochs" in (tmp_path / "ensemble" / "README.md").read_text()
    with pytest.raises(ValueError, match="--ensemble-size needs --model emomv"):
        EmoMVTrainingArguments(model="baseline", ensemble_size=3)
