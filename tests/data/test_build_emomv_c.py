"""EmoMV-C built from the real release, checked row by row against the release files and the paper."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from emomv_hf.data.build import describe_hub_folder
from emomv_hf.data.schema import PAIR_FEATURES, SEGMENT_FEATURES, source_video_id
from emomv_hf.emotions import ALLOWED_MISMATCH_PAIRS, EMOTIONS, MATCH_LABELS, emotion_index

C = "DS3_EmoMV_C"
SPLIT_FILES = {"train": "TRAIN", "validation": "VAL"}


def _h5(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as handle:
        (name,) = list(handle)
        return handle[name][()]


def _csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def pairs(emomv_c_dir, tmp_path_factory):
    return load_dataset(str(emomv_c_dir), cache_dir=str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def segments(emomv_c_dir, tmp_path_factory):
    return load_dataset(str(emomv_c_dir), "segments", cache_dir=str(tmp_path_factory.mktemp("cache")))


def test_layout(emomv_c_dir):
    assert emomv_c_dir.name == "emomv-c"
    assert (emomv_c_dir / "README.md").is_file()
    assert sorted(p.relative_to(emomv_c_dir).as_posix() for p in emomv_c_dir.rglob("*.parquet")) == [
        "data/pairs/train-00000-of-00001.parquet",
        "data/pairs/validation-00000-of-00001.parquet",
        "data/segments/validation-00000-of-00001.parquet",
    ]
    # No staging folder is left next to the result.
    assert [p.name for p in emomv_c_dir.parent.iterdir()] == ["emomv-c"]


def test_paper_counts(pairs):
    # Paper section 3.3.3: 360 train and 96 validation pairs, half of them matched.
    assert set(pairs) == {"train", "validation"}
    assert pairs["train"].num_rows == 360 and pairs["validation"].num_rows == 96
    assert Counter(list(pairs["train"]["label"])) == {0: 180, 1: 180}
    assert Counter(list(pairs["validation"]["label"])) == {0: 48, 1: 48}


def test_schema(pairs, segments):
    for split in pairs.values():
        assert split.features == PAIR_FEATURES
        assert split.features["label"].names == list(MATCH_LABELS)
        assert split.features["video_emotion"].names == list(EMOTIONS)
    assert list(segments) == ["validation"]
    assert segments["validation"].features == SEGMENT_FEATURES


@pytest.mark.parametrize("split", ["train", "validation"])
def test_pairs_match_release_row_by_row(pairs, release_dir, split):
    tag = SPLIT_FILES[split]
    rows = _csv(release_dir / C / "annotation" / f"DS3_{tag}_MATCH_MISMATCH_labels.csv")
    video = _h5(release_dir / C / "extracted_features" / f"SlowFast_DS3_{tag}_MATCH_MISMATCH.h5")
    music = _h5(release_dir / C / "extracted_features" / f"VGGish_DS3_{tag}_MATCH_MISMATCH.h5")
    data = pairs[split].with_format("numpy")[:]
    assert len(data["pair_id"]) == len(rows) == len(video) == len(music)
    # Bit-identical features, in release order.
    assert np.array_equal(data["video_features"].view(np.uint32), video.astype(np.float32).view(np.uint32))
    assert np.array_equal(data["music_features"].view(np.uint32), music.astype(np.float32).view(np.uint32))
    for row, example in zip(rows, pairs[split], strict=True):
        _, pair_id, match, video_name, music_name, video_label, music_label = row
        assert example["pair_id"] == pair_id
        assert example["label"] == int(match)
        assert example["video_emotion"] == int(video_label) == emotion_index(video_name)
        assert example["music_emotion"] == int(music_label) == emotion_index(music_name)
        if example["label"] == 1:
            assert example["video_segment_id"] == example["music_segment_id"] == pair_id
        else:
            assert pair_id == f"{example['video_segment_id']}_PAIR_{example['music_segment_id']}"
            pair = {EMOTIONS[example["video_emotion"]], EMOTIONS[example["music_emotion"]]}
            assert any(pair == set(allowed) for allowed in ALLOWED_MISMATCH_PAIRS)


def test_segments_match_release(segments, release_dir):
    rows = _csv(release_dir / C / "for_retrieval" / "DS3_VAL_labels_for_retrieval.csv")
    video = _h5(release_dir / C / "for_retrieval" / "SlowFast_DS3_VAL_for_retrieval.h5")
    music = _h5(release_dir / C / "for_retrieval" / "VGGish_DS3_VAL_for_retrieval.h5")
    data = segments["validation"]
    assert list(data["segment_id"]) == [row[1] for row in rows]
    assert list(data["emotion"]) == [int(row[3]) for row in rows]
    numpy = data.with_format("numpy")[:]
    assert np.array_equal(numpy["video_features"], video)
    assert np.array_equal(numpy["music_features"], music)


def test_validation_segments_and_sources(pairs, segments):
    # The 96 retrieval segments are the segments of the 96 validation pairs.
    used = set(list(pairs["validation"]["video_segment_id"])) | set(
        list(pairs["validation"]["music_segment_id"])
    )
    assert used == set(segments["validation"]["segment_id"])
    # Segments of one source video never cross splits (release README).
    sources = {
        split: {
            source_video_id(s) for s in [*pairs[split]["video_segment_id"], *pairs[split]["music_segment_id"]]
        }
        for split in pairs
    }
    assert not sources["train"] & sources["validation"]


def test_card(emomv_c_dir):
    card = DatasetCard.load(emomv_c_dir / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "mit"
    assert [c["config_name"] for c in data["configs"]] == ["pairs", "segments"]
    assert data["configs"][0]["default"] is True
    text = card.text
    assert "| pairs | train | 360 | 180 | 180 |" in text
    assert "| pairs | validation | 96 | 48 | 48 |" in text
    assert "| segments | validation | 96 |  |  |" in text
    # Mismatch matrix of the validation split (paper Figure 9, right), row "exciting" (video).
    assert "| exciting | 0 | 1 | 2 | 7 | 7 |" in text
    assert "| train | 67 | 14 | 21 | 36 | 42 |" in text  # matched pairs per emotion: 180 in all
    assert "| validation | 33 | 7 | 11 | 22 | 23 |" in text  # retrieval segments per emotion
    assert "EmoMV: Affective Music-Video Correspondence Learning Datasets" in text
    assert f'load_dataset("{emomv_c_dir}")' in text  # the folder it was built into, as given
    assert "ivyha010" in text  # the authors' licence: this folder is their release
    assert "**predicted** by an emotion classifier" in text
    assert "fewest swaps so far" in text  # the swap-allocation rule
    assert "sha256" in text and "SlowFast_DS3_TRAIN_MATCH_MISMATCH.h5" in text
    digests = re.findall(r"sha256 `([^`]*)`", text)
    assert len(digests) == 9 and all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in digests)


def test_describe(emomv_c_dir):
    assert describe_hub_folder(emomv_c_dir) == {
        "pairs": {
            "train": {"rows": 360, "matched": 180, "mismatched": 180},
            "validation": {"rows": 96, "matched": 48, "mismatched": 48},
        },
        "segments": {"validation": {"rows": 96}},
    }


def test_describe_sums_the_shards_of_a_split(emomv_c_dir, tmp_path):
    """A folder with 2 Parquet shards per split (a user's, or a future builder's): each split's counts are the sums
    over its shards (they were the last shard's)."""
    import shutil

    import pyarrow.parquet as pq

    from emomv_hf.data.build import format_hub_folder_summary
    from emomv_hf.data.hub_folder import shard_path, write_parquet

    folder = shutil.copytree(emomv_c_dir, tmp_path / "sharded")
    for path in sorted(folder.glob("data/*/*.parquet")):
        table, config, split = pq.read_table(path), path.parent.name, path.name.split("-")[0]
        path.unlink()
        third = table.num_rows // 3  # pairs/train: 120 then 240 rows
        for index, piece in enumerate((table.slice(0, third), table.slice(third))):
            write_parquet(folder / shard_path(config, split, index, 2), piece)
    assert len(list(folder.glob("data/*/*-of-00002.parquet"))) == 6
    assert describe_hub_folder(folder) == describe_hub_folder(emomv_c_dir)
    assert "pairs/train: 360 rows (180 matched, 180 mismatched)" in format_hub_folder_summary(folder)
