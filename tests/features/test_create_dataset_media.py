"""create_dataset on raw synthetic media: the extraction stage (resumed from the shards the session's reference
extraction wrote), tagging by a tagger trained a few steps on those features, and the written folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from emomv_hf import EmoMVForEmotionTagging, EmoMVTaggingConfig
from emomv_hf.data import DegenerateDatasetError
from emomv_hf.data.create import create_dataset, read_unlabelled_segments
from emomv_hf.emotions import EMOTION_TO_INDEX

pytest.importorskip("pytorchvideo")


def test_raw_media_go_through_extraction_tagging_and_pairing(media_dir: Path, reference: Path, tmp_path):
    work = tmp_path / "out.work"
    shutil.copytree(reference, work / "features")  # what a killed earlier run of create_dataset left behind
    segments = read_unlabelled_segments(work / "features")
    assert len(segments) == 2 and segments.has_video.all() and segments.has_music.all()
    video, music = torch.from_numpy(segments.video), torch.from_numpy(segments.music)
    labels = torch.tensor([EMOTION_TO_INDEX["fearful"], EMOTION_TO_INDEX["relaxing"]])
    assert segments.given_emotions == labels.tolist()  # the emotion folders of the media
    torch.manual_seed(0)
    tagger = EmoMVForEmotionTagging(
        EmoMVTaggingConfig(
            hidden_size=16,
            num_attention_heads=2,
            intermediate_size=32,
            projection_dropout=0.0,
            hidden_dropout=0.0,
        )
    )
    tagger.fit_standardization(video_features=video, music_features=music)  # the two rows: each dim to +-1
    optimizer = torch.optim.Adam(tagger.parameters(), lr=1e-2)
    for _ in range(30):
        tagger(video_features=video, music_features=music, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    options = {"random_init": True, "files_per_shard": 1, "progress": False}
    # Two tagged segments of two emotions make no mismatched pair, so no balanced pair at all: a clear error
    # that names every stage (the extraction resumed, both segments tagged the same three ways).
    with pytest.raises(
        DegenerateDatasetError,
        match=r"get no pair at all.*0 extracted now, 2 already present.*three predictions agree: kept 2",
    ):
        create_dataset(media_dir, tagger, tmp_path / "out", extraction=options, allow_degenerate=True)
    assert (work / "tags.parquet").is_file()
    assert not (tmp_path / "out").exists()
    assert sorted(path.name for path in (work / "features" / "data" / "segments").iterdir()) == sorted(
        path.name for path in (reference / "data" / "segments").iterdir()
    )
