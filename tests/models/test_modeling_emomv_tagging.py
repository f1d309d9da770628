"""EmoMVForEmotionTagging: config checks, any stream subset, input checks, save/load, training on EmoMV-C."""

from __future__ import annotations

import pytest
import torch
from huggingface_hub.errors import StrictDataclassError
from transformers import AutoConfig, AutoModel

import emomv_hf  # noqa: F401 - registers the Auto classes
from emomv_hf import EmoMVForEmotionTagging, EmoMVTaggingConfig
from emomv_hf.models_registry import build_model


def _matched_segments(split: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The matched pairs of an EmoMV-C split: one segment's video and music, and its emotion."""
    keep = split["labels"] == 1
    return {
        "video_features": split["video_features"][keep],
        "music_features": split["music_features"][keep],
        "labels": split["video_emotion_labels"][keep],
    }


def test_config_defaults_and_validation():
    config = EmoMVTaggingConfig()
    assert config.stream_names == ["video", "music"] and config.stream_feature_sizes == [2304, 128]
    assert config.num_labels == 5 and config.neutral_index is None
    # Default widths go by stream name, not position: a music-only or music-first tagger reads VGGish's 128.
    assert EmoMVTaggingConfig(stream_names=["music"]).stream_feature_sizes == [128]
    assert EmoMVTaggingConfig(stream_names=["music", "video"]).stream_feature_sizes == [128, 2304]
    neutral = EmoMVTaggingConfig(neutral_class=True)
    assert neutral.num_labels == 6 and neutral.id2label[5] == "neutral" and neutral.neutral_index == 5
    for bad, message in (
        ({"hidden_size": 30, "num_attention_heads": 4}, "must divide"),
        ({"stream_names": ["video", "video"]}, "distinct"),
        ({"stream_names": ["video"], "stream_feature_sizes": [2304, 128]}, "positive width"),
        ({"stream_names": ["video", "lyrics"]}, "positive width for each of"),
        ({"hidden_dropout": 1.0}, "hidden_dropout"),
        ({"layer_norm_eps": float("nan")}, "`layer_norm_eps` must be a positive finite number"),
        ({"standardization_eps": 0.0}, "`standardization_eps` must be a positive finite number"),
        ({"initializer_range": 0.0}, "`initializer_range` must be a positive finite number"),
        ({"hiden_size": 8}, "did you mean `hidden_size`"),
    ):
        with pytest.raises((ValueError, StrictDataclassError), match=message):
            EmoMVTaggingConfig(**bad)
    assert type(build_model("emomv", "tagging")) is EmoMVForEmotionTagging
    with pytest.raises(ValueError, match="no single-task variant"):
        build_model("emomv", "tagging", multi_task=False)


def test_any_stream_subset_and_a_third_stream():
    torch.manual_seed(0)
    model = EmoMVForEmotionTagging(EmoMVTaggingConfig()).eval()
    video, music = torch.randn(3, 2304), torch.randn(3, 128)
    for inputs in (
        {"video_features": video},
        {"music_features": music},
        {"video_features": video, "music_features": music},
    ):
        output = model(**inputs)
        assert output.logits.shape == (3, 5) and output.pooler_output.shape == (3, 64)
    both = model(video_features=video, music_features=music).logits
    assert not torch.allclose(both, model(video_features=video).logits)
    three = EmoMVForEmotionTagging(
        EmoMVTaggingConfig(stream_names=["video", "music", "lyrics"], stream_feature_sizes=[2304, 128, 16])
    ).eval()
    assert three(lyrics_features=torch.randn(2, 16)).logits.shape == (2, 5)
    with pytest.raises(TypeError, match="unknown input"):
        model(speech_features=torch.randn(2, 8))


def test_prepare_inputs_names_the_bad_argument():
    model = EmoMVForEmotionTagging(EmoMVTaggingConfig())
    with pytest.raises(ValueError, match="needs at least one of `video_features`, `music_features`"):
        model.prepare_inputs()
    with pytest.raises(ValueError, match=r"`music_features` must have shape \(batch, 128\)"):
        model.prepare_inputs(music_features=torch.zeros(2, 127))
    with pytest.raises(ValueError, match="`video_features` contains NaN"):
        model.prepare_inputs(video_features=torch.full((2, 2304), float("nan")))
    # A music-only tagger given both streams tagged from music alone, without a word.
    music_only = EmoMVForEmotionTagging(
        EmoMVTaggingConfig(stream_names=["music"], stream_feature_sizes=[128])
    )
    with pytest.raises(ValueError, match=r"has no `video_features` stream; its streams: `music_features`\."):
        music_only.prepare_inputs(video_features=torch.zeros(2, 2304), music_features=torch.zeros(2, 128))
    with pytest.raises(ValueError, match="same batch size"):
        model.prepare_inputs(video_features=torch.zeros(2, 2304), music_features=torch.zeros(3, 128))
    with pytest.raises(ValueError, match=r"`labels` must be in 0..4"):
        model.prepare_inputs(music_features=torch.zeros(2, 128), labels=[0, 5])
    inputs = model.prepare_inputs(music_features=[[0.0] * 128, [1.0] * 128], labels=[0, 4])
    assert inputs["music_features"].dtype == torch.float32 and inputs["labels"].tolist() == [0, 4]


def test_loss_drops_in_a_few_steps_on_emomv_c(emomv_c_train):
    data = _matched_segments(emomv_c_train)
    torch.manual_seed(0)
    model = EmoMVForEmotionTagging(EmoMVTaggingConfig())
    model.fit_standardization(video_features=data["video_features"], music_features=data["music_features"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for _ in range(15):
        loss = model(**data).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses
    model.eval()
    for stream in ("video_features", "music_features"):
        predictions = model(**{stream: data[stream]}).logits.argmax(-1)
        assert len(predictions.unique()) > 1  # not one class for every segment


def test_save_load_round_trip_is_bit_exact(tmp_path, emomv_c_train, emomv_c_val):
    data = _matched_segments(emomv_c_train)
    torch.manual_seed(1)
    model = EmoMVForEmotionTagging(EmoMVTaggingConfig(neutral_class=True))
    model.fit_standardization(video_features=data["video_features"], music_features=data["music_features"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        model(**data).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert type(loaded) is EmoMVForEmotionTagging and not loaded.training
    assert type(AutoConfig.from_pretrained(tmp_path)) is EmoMVTaggingConfig
    assert loaded.config.id2label == model.config.id2label
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    validation = _matched_segments(emomv_c_val)
    with torch.no_grad():
        for inputs in (
            {"video_features": validation["video_features"]},
            {"music_features": validation["music_features"]},
            {"video_features": validation["video_features"], "music_features": validation["music_features"]},
        ):
            assert torch.equal(model(**inputs).logits, loaded(**inputs).logits)


def test_class_weight_options_are_validated():
    for bad, message in (
        ({"class_weighting": "inverse"}, "class_weighting"),
        ({"class_weights": [1.0, 2.0]}, "positive weight for each of the 5"),
        ({"class_weights": [1.0, 1.0, 0.0, 1.0, 1.0]}, "positive weight"),
    ):
        with pytest.raises((ValueError, StrictDataclassError), match=message):
            EmoMVTaggingConfig(**bad)
    assert EmoMVTaggingConfig().class_weighting == "none" and not EmoMVTaggingConfig().stream_heads


def test_balanced_loss_equals_an_independent_weighted_cross_entropy():
    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 0, 0, 1, 2, 2, 3, 4, 4])
    model = EmoMVForEmotionTagging(EmoMVTaggingConfig(class_weighting="balanced")).eval()
    model.fit_class_weights(labels)
    counts = torch.tensor([4.0, 1.0, 2.0, 1.0, 2.0])
    expected_weights = 10 / (5 * counts)  # scikit-learn's "balanced"
    assert model.config.class_weights == pytest.approx(expected_weights.tolist())
    video, music = torch.randn(10, 2304), torch.randn(10, 128)

    def weighted_ce(logits: torch.Tensor) -> torch.Tensor:
        per_row = -logits.log_softmax(-1)[torch.arange(10), labels]
        row_weights = expected_weights[labels]
        return (row_weights * per_row).sum() / row_weights.sum()

    with torch.no_grad():
        output = model(video_features=video, music_features=music, labels=labels)
        subsets = [
            model(video_features=video, music_features=music).logits,
            model(video_features=video).logits,
            model(music_features=music).logits,
        ]
        expected = torch.stack([weighted_ce(logits) for logits in subsets]).mean()
        assert torch.allclose(output.loss, expected, atol=1e-6)
        unweighted = torch.stack(
            [torch.nn.functional.cross_entropy(logits, labels) for logits in subsets]
        ).mean()
        assert not torch.allclose(output.loss, unweighted, atol=1e-3)
        # Weights stored but weighting off: the plain (default) loss.
        model.config.class_weighting = "none"
        assert torch.allclose(
            model(video_features=video, music_features=music, labels=labels).loss, unweighted
        )


def test_stream_heads_classify_each_stream_alone_with_its_own_head(tmp_path):
    torch.manual_seed(0)
    model = EmoMVForEmotionTagging(
        EmoMVTaggingConfig(stream_heads=True, class_weights=[1.0, 2.0, 3.0, 4.0, 5.0])
    ).eval()
    assert set(model.stream_classifiers) == {"video", "music"}
    video, music = torch.randn(3, 2304), torch.randn(3, 128)
    with torch.no_grad():
        for name, inputs in (("video", {"video_features": video}), ("music", {"music_features": music})):
            output = model(**inputs)
            assert torch.allclose(output.logits, model.stream_classifiers[name](output.pooler_output))
            assert not torch.allclose(output.logits, model.classifier(output.pooler_output))
        both = model(video_features=video, music_features=music)
        assert torch.allclose(both.logits, model.classifier(both.pooler_output))
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert loaded.config.stream_heads and loaded.config.class_weights == [1.0, 2.0, 3.0, 4.0, 5.0]
    with torch.no_grad():
        assert torch.equal(loaded(video_features=video).logits, model(video_features=video).logits)
    # The default keeps one shared classifier.
    assert not hasattr(EmoMVForEmotionTagging(EmoMVTaggingConfig()), "stream_classifiers")


def _logistic_regression_script(name: str = "logistic_regression"):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "tagging" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_logistic_regression_reference_reads_extra_music_and_scores_its_fit(release_dir, emomv_c_dir, capsys):
    """The linear reference's extra music is EmoMV-B's distinct music segments with their music labels (read
    here from the CSVs with the csv module), and its printed score equals an independent fit on train + extra."""
    import csv
    import json

    import h5py
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from emomv_hf.data.loading import load_emomv
    from emomv_hf.data.schema import segments_from_pairs

    script = _logistic_regression_script()
    features, labels = script.release_music_segments(str(release_dir), ["emomv-b"])
    expected: dict[str, tuple[np.ndarray, int]] = {}
    for split in ("TRAIN", "VAL"):
        folder = release_dir / "DS2_EmoMV_B"
        with open(folder / "annotation" / f"DS2_{split}_MATCH_MISMATCH_labels.csv", newline="") as handle:
            rows = list(csv.reader(handle))
        with h5py.File(folder / "extracted_features" / f"VGGish_DS2_{split}_MATCH_MISMATCH.h5") as h5:
            music = np.asarray(h5[next(iter(h5))])
        for row, vector in zip(rows, music, strict=True):
            expected.setdefault(row[1].split("_PAIR_")[-1], (vector, int(row[6])))
    assert len(labels) == len(expected) == 616
    np.testing.assert_array_equal(labels, [label for _, label in expected.values()])
    np.testing.assert_allclose(features, np.stack([vector for vector, _ in expected.values()]), rtol=1e-6)

    arguments = ["--dataset", str(emomv_c_dir), "--inputs", "music", "--c-grid", "0.003"]
    assert script.main([*arguments, "--extra-music", "emomv-b", "--release-dir", str(release_dir)]) == 0
    printed = capsys.readouterr().out
    final = json.loads(printed[printed.index("{\n") :])
    pairs = load_emomv(str(emomv_c_dir), "pairs")
    train = segments_from_pairs(pairs["train"]).with_format("numpy")[:]
    validation = segments_from_pairs(pairs["validation"]).with_format("numpy")[:]
    x = np.concatenate([train["music_features"], features])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=0.003, max_iter=5000).fit(
        scaler.transform(x), np.concatenate([train["emotion"], labels])
    )
    predicted = model.predict(scaler.transform(validation["music_features"]))
    assert final["music_C"] == 0.003
    assert final["music_emotion_accuracy"] == round(float((predicted == validation["emotion"]).mean()), 4)


@pytest.mark.parametrize("split", ["train", "validation"])
def test_logistic_regression_refuses_unlabelled_segments(unlabelled_copy, capsys, split):
    """datasets' 'no label' (-1, a Hub dataset's unlabelled split) in the fitted or the reported split is one
    error line naming the row, not a class fitted and scored (train) nor a traceback after every fit."""
    folder = unlabelled_copy(split, "video_emotion")
    script = _logistic_regression_script()
    assert script.main(["--dataset", str(folder), "--inputs", "music", "--c-grid", "0.003"]) == 2
    out, err = capsys.readouterr()
    assert "cv_accuracy" not in out
    assert err.strip().splitlines()[-1] == f"error: {folder}: pairs {split}[7] has no video_emotion (-1)"


@pytest.mark.parametrize("column", ["video_emotion", "music_emotion"])
def test_hyperparameter_selection_refuses_unlabelled_training_pairs(unlabelled_copy, capsys, column):
    """-1 in the training pairs (the tagger's segment emotions; the correspondence candidates' pair emotions) is
    one error line naming the row, before any training, not an IndexError traceback from the loss."""
    folder = unlabelled_copy("train", column)
    script = _logistic_regression_script("select_hyperparameters")
    assert script.main(["--dataset", str(folder), "--candidates", "correspondence-projections"]) == 2
    assert (
        capsys.readouterr().err.strip().splitlines()[-1]
        == f"error: {folder}: pairs train[7] has no {column} (-1)"
    )


def test_seed_runs_refuses_a_single_seed_flag(tmp_path, capsys):
    """`--seed 3` was read, by argparse's prefix matching, as `--seeds 3`: three runs of seeds 0-2."""
    script = _logistic_regression_script("seed_runs")
    for flag in (["--seed", "3"], ["--seed=3"]):
        with pytest.raises(SystemExit) as exited:
            script.main([*flag, "--output", str(tmp_path / "runs.json"), "--dataset", "unused"])
        assert exited.value.code == 2 and "give --seeds N, not --seed" in capsys.readouterr().err
    assert not (tmp_path / "runs.json").exists()
