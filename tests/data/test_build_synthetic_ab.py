"""EmoMV-A and EmoMV-B: real annotations and VGGish files with synthetic SlowFast files; partial releases."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

from emomv_hf.data.build import build_hub_dataset, describe_hub_folder
from emomv_hf.data.release import (
    RELEASE_LAYOUTS,
    MissingReleaseFilesError,
    MissingReleaseFileWarning,
    read_features,
)

from .helpers import load_script


def _rows(path: Path) -> int:
    with h5py.File(path, "r") as handle:
        (name,) = list(handle)
        return handle[name].shape[0]


def stage_release(release_dir: Path, destination: Path, dataset: str, skip: tuple[str, ...] = ()) -> Path:
    """Copy a dataset's annotation and VGGish files; write synthetic SlowFast files where the release lacks them."""
    rng = np.random.default_rng(0)
    for relative in RELEASE_LAYOUTS[dataset].files:
        if relative in skip:
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if (release_dir / relative).is_file():
            shutil.copyfile(release_dir / relative, target)
        else:
            assert Path(relative).name.startswith("SlowFast_")
            vggish = (release_dir / relative).with_name(Path(relative).name.replace("SlowFast_", "VGGish_"))
            features = rng.random((_rows(vggish), 2304), dtype=np.float32) * 28
            with h5py.File(target, "w") as handle:
                handle.create_dataset("default", data=features)
    return destination


@pytest.fixture(scope="module")
def synthetic_release(release_dir, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("release")
    stage_release(release_dir, root, "emomv-a")
    stage_release(release_dir, root, "emomv-b")
    return root


@pytest.fixture(scope="module")
def built(synthetic_release, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("hub")
    return {
        name: build_hub_dataset(synthetic_release, name, out, strict=True) for name in ("emomv-a", "emomv-b")
    }


def test_emomv_a_counts(built):
    # Paper 3.1: 4,110 / 556 / 248 pairs; the test split balanced (124 + 124); 250 MVED test segments.
    assert describe_hub_folder(built["emomv-a"]) == {
        "pairs": {
            "test": {"rows": 248, "matched": 124, "mismatched": 124},
            "train": {"rows": 4110, "matched": 2208, "mismatched": 1902},
            "validation": {"rows": 556, "matched": 310, "mismatched": 246},
        },
        "segments": {"test": {"rows": 250}},
    }


def test_emomv_b_counts(built):
    assert describe_hub_folder(built["emomv-b"]) == {
        "pairs": {
            "train": {"rows": 496, "matched": 248, "mismatched": 248},
            "validation": {"rows": 120, "matched": 60, "mismatched": 60},
        },
        "segments": {"validation": {"rows": 120}},
    }


@pytest.mark.parametrize("dataset", ["emomv-a", "emomv-b"])
def test_features_round_trip(built, synthetic_release, dataset):
    layout = RELEASE_LAYOUTS[dataset]
    for config, files in [*(("pairs", f) for f in layout.pair_splits), ("segments", layout.segment_split)]:
        table = pq.read_table(built[dataset] / "data" / config / f"{files.split}-00000-of-00001.parquet")
        video = np.stack(table.column("video_features").to_numpy(zero_copy_only=False))
        music = np.stack(table.column("music_features").to_numpy(zero_copy_only=False))
        assert video.dtype == music.dtype == np.float32
        assert np.array_equal(video, read_features(synthetic_release / files.video_h5, 2304))
        with h5py.File(synthetic_release / files.music_h5, "r") as handle:
            raw = handle["data"][()]
        # float64 VGGish (the EmoMV-A retrieval file) is converted to float32, nothing else changes.
        assert np.array_equal(music, raw.astype(np.float32))


def test_emomv_a_retrieval_ids_join_with_test_pairs(built):
    segments = pq.read_table(built["emomv-a"] / "data" / "segments" / "test-00000-of-00001.parquet")
    test = pq.read_table(built["emomv-a"] / "data" / "pairs" / "test-00000-of-00001.parquet")
    ids = segments.column("segment_id").to_pylist()
    assert ids[0] == "exciting_ORG_EXT(154)"
    assert Counter(segments.column("emotion").to_pylist()) == {i: 50 for i in range(5)}
    used = set(test.column("video_segment_id").to_pylist())
    # Two matched test pairs were dropped by the authors to balance the split.
    assert len(used) == 248 and used <= set(ids)


def test_emomv_a_card_mentions_float64_conversion(built):
    text = (built["emomv-a"] / "README.md").read_text()
    assert "float64 (converted to float32)" in text
    assert "| pairs | test | 248 | 124 | 124 |" in text


def test_partial_release_builds_complete_splits(release_dir, tmp_path):
    b = RELEASE_LAYOUTS["emomv-b"]
    skip = (b.pair_splits[0].video_h5, b.segment_split.video_h5)
    root = stage_release(release_dir, tmp_path / "release", "emomv-b", skip=skip)
    with pytest.warns(MissingReleaseFileWarning) as record:
        folder = build_hub_dataset(root, "emomv-b", tmp_path / "out")
    messages = [str(w.message) for w in record if w.category is MissingReleaseFileWarning]
    assert len(messages) == 2
    for path, message in zip(skip, messages, strict=True):
        assert path in message
    assert describe_hub_folder(folder) == {
        "pairs": {"validation": {"rows": 120, "matched": 60, "mismatched": 60}}
    }
    text = (folder / "README.md").read_text()
    assert "config_name: segments" not in text and skip[0] in text

    message = f"emomv-b: 2 release file(s) missing under {root.resolve()}: {', '.join(skip)}"
    with pytest.raises(MissingReleaseFilesError, match=re.escape(message)):
        build_hub_dataset(root, "emomv-b", tmp_path / "strict", strict=True)
    assert not (tmp_path / "strict" / "emomv-b").exists()


def test_nothing_buildable(release_dir, tmp_path):
    with pytest.warns(MissingReleaseFileWarning), pytest.raises(MissingReleaseFilesError, match="no split"):
        build_hub_dataset(release_dir, "emomv-a", tmp_path)
    assert not (tmp_path / "emomv-a").exists()


def test_cli_partial_release(release_dir, tmp_path, capsys):
    cli = load_script("build_emomv")
    assert cli.main(["--release-dir", str(release_dir), "--output-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "pairs/train: 360 rows (180 matched, 180 mismatched)" in out
    assert "SlowFast_DS1_TRAIN_MATCH_MISMATCH.h5" in err and "skipped emomv-b: no split can be built" in err
    assert "emomv-a: emomv-a" not in err and "emomv-b: emomv-b" not in err  # issue 26.8: the name once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emomv-c"]
    assert (
        cli.main(["--release-dir", str(release_dir), "--output-dir", str(tmp_path), "--dataset", "emomv-a"])
        == 1
    )
    assert cli.main(["--release-dir", str(release_dir), "--output-dir", str(tmp_path), "--strict"]) == 1
    assert "SlowFast_DS1_TEST_MATCH_MISMATCH.h5" in capsys.readouterr().err
