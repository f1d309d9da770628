"""create_dataset on raw synthetic media, end to end: extraction (random-weight extractors), tagging three ways,
filters, pairing, the written folder, and a rerun that resumes the extraction."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import datasets
import pytest
import torch

from emomv_hf import EmoMVForEmotionTagging, EmoMVTaggingConfig
from emomv_hf.data.create import create_dataset, read_unlabelled_segments
from emomv_hf.emotions import is_allowed_mismatch
from emomv_hf.features.arguments import ExtractorArguments

from .synthetic_media import write_clip

pytest.importorskip("pytorchvideo")

OPTIONS = {"extractor": ExtractorArguments(random_init=True), "files_per_shard": 2, "progress": False}


def _train_tagger(features: Path) -> EmoMVForEmotionTagging:
    """A tagger trained for a few steps on the extracted segments, with their emotion folders as labels."""
    segments = read_unlabelled_segments(features)
    video, music = torch.from_numpy(segments.video), torch.from_numpy(segments.music)
    labels = torch.tensor(segments.given_emotions)
    torch.manual_seed(0)
    config = EmoMVTaggingConfig(
        hidden_size=16,
        num_attention_heads=2,
        intermediate_size=32,
        projection_dropout=0.0,
        hidden_dropout=0.0,
    )
    tagger = EmoMVForEmotionTagging(config)
    tagger.fit_standardization(video_features=video, music_features=music)
    optimizer = torch.optim.Adam(tagger.parameters(), lr=1e-2)
    for _ in range(30):
        tagger(video_features=video, music_features=music, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return tagger.eval()


def test_raw_media_end_to_end(tmp_path):
    media = tmp_path / "videos"
    # The synthetic pictures depend on the frame index only: the clip length makes the two emotions' videos differ.
    for emotion, names, seconds, tone in (
        ("Fear", ("a", "b"), 1.2, 300.0),
        ("relax", ("c", "d"), 2.4, 900.0),
    ):
        (media / emotion).mkdir(parents=True)
        for name in names:
            write_clip(media / emotion / f"{name}.mp4", seconds, tone_hz=tone)
    out, work = tmp_path / "my-emomv", tmp_path / "my-emomv.work"

    # First run with an untrained tagger: the features are extracted, its tags are whatever they are.
    untrained = EmoMVForEmotionTagging(EmoMVTaggingConfig()).eval()
    try:
        create_dataset(media, untrained, out, extraction=OPTIONS, validation_fraction=0.1)
    except ValueError as error:  # too few segments agree, or a split without pairs: a clear error either way
        assert "three predictions agree" in str(error) or "mismatched pair" in str(error)
    assert len(list((work / "features" / "data" / "segments").glob("*.parquet"))) == 2

    # Second run with a tagger trained a few steps on those features: extraction resumes, the dataset is written.
    tagger = _train_tagger(work / "features")
    summary = create_dataset(media, tagger, out, extraction=OPTIONS, validation_fraction=0.1)
    assert summary.extraction.endswith("0 extracted now, 4 already present, 0 left out")
    assert not summary.tags_reused  # another tagger
    assert [stage.kept for stage in summary.stages] == [4, 4, 4, 4, 4]
    assert summary.agreement_with_given == (4, 4)
    pairs = datasets.load_dataset(str(out))
    assert list(pairs) == ["train"]  # a 10 % validation share of four sources is none of them
    train = pairs["train"]
    assert Counter(train["label"]) == {0: 2, 1: 2}
    for row in train:
        if row["label"] == 0:
            assert is_allowed_mismatch(row["video_emotion"], row["music_emotion"])
    assert "| three predictions agree | 4 |" in (out / "README.md").read_text()
