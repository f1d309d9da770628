"""SlowFast (random init, real 256x256 clips) and the extraction CLI end to end."""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from emomv_hf.data.build import SEGMENT_CSV_COLUMNS, _FeatureReader
from emomv_hf.features import (
    MissingWeightsError,
    SlowFastExtractor,
    discover_segments,
    preprocess_clip,
    read_video_frames,
    split_into_segments,
)

pytest.importorskip("pytorchvideo")

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def slowfast() -> SlowFastExtractor:
    torch.manual_seed(0)
    return SlowFastExtractor(random_init=True)


def test_preprocess_clip_layout():
    frames = np.random.default_rng(0).integers(0, 256, (32, 48, 64, 3), dtype=np.uint8)
    slow, fast = preprocess_clip(frames)
    assert fast.shape == (1, 3, 32, 256, 256) and slow.shape == (1, 3, 8, 256, 256)
    # Slow frames are fast frames linspace(0, 31, 8) -> 0, 4, 8, 13, 17, 22, 26, 31 (pytorchvideo PackPathway).
    assert torch.equal(slow[0, :, 1], fast[0, :, 4]) and torch.equal(slow[0, :, -1], fast[0, :, 31])
    grey = np.full((32, 48, 64, 3), 115, dtype=np.uint8)  # 115/255 ~ 0.45: normalises to ~0
    assert preprocess_clip(grey)[1].abs().max() < 0.01


def test_slowfast_features_and_round_trip(slowfast: SlowFastExtractor, clip: Path, tmp_path: Path):
    frames = read_video_frames(clip, 0.0, 3.5, num_frames=32)
    feature = slowfast(frames)
    assert feature.shape == (2304,) and feature.dtype == np.float32 and np.isfinite(feature).all()
    # Pooled post-ReLU features, like the release (non-negative).
    assert (feature >= 0).all()
    # A Kinetics-style checkpoint: {"model_state": ...} including the classifier, which is dropped.
    state = dict(slowfast.model.state_dict())
    state["blocks.6.proj.weight"] = torch.zeros(400, 2304)
    state["blocks.6.proj.bias"] = torch.zeros(400)
    path = tmp_path / "SLOWFAST_8x8_R50.pyth"
    torch.save({"model_state": state, "epoch": 196}, path)
    np.testing.assert_array_equal(SlowFastExtractor(path)(frames), feature)


def test_slowfast_without_weights_refuses():
    with pytest.raises(MissingWeightsError, match="SLOWFAST_8x8_R50"):
        SlowFastExtractor()


def test_split_into_segments():
    assert split_into_segments(3.5, 30) == [(0.0, 3.5)]
    assert split_into_segments(75, 30) == [(0, 30), (30, 60), (60, 75)]
    assert split_into_segments(70, 30) == [(0, 30), (30, 60)]  # 10 s tail < half a segment: dropped


def test_discover_segments_from_folder_and_csv(media_dir: Path, tmp_path: Path):
    segments = discover_segments(media_dir, 30)
    assert [(s.segment_id, s.emotion, s.source_id) for s in segments] == [
        ("clip_a_01", "fearful", "clip_a"),
        ("clip_b_01", "relaxing", "clip_b"),
    ]
    table = tmp_path / "media.csv"
    table.write_text(
        f"segment_id,path,start,end,emotion\nx_1,{media_dir / 'Fear' / 'clip_a.mp4'},0,1.5,Sad\n",
        encoding="utf-8",
    )
    (segment,) = discover_segments(table)
    assert (segment.segment_id, segment.start, segment.end, segment.emotion) == ("x_1", 0.0, 1.5, "sad")


def _run_cli(*args: str) -> int:
    sys.path.insert(0, str(REPO_ROOT / "dataset_scripts"))
    try:
        import extract_features
    finally:
        sys.path.pop(0)
    return extract_features.main(list(args))


def test_cli_end_to_end_resume_and_create_pairs_format(media_dir: Path, tmp_path: Path, capsys, monkeypatch):
    out = tmp_path / "features"
    # Without weights and without --random-init the CLI refuses before doing any work.
    assert _run_cli("--media", str(media_dir), "--output-dir", str(out), "--no-progress") == 1
    # ... naming its own flags, not the Python parameters (issue 8.5).
    assert "--slowfast-weights PATH" in capsys.readouterr().err

    torch.manual_seed(0)
    args = ("--media", str(media_dir), "--output-dir", str(out), "--random-init", "--no-progress")
    assert _run_cli(*args) == 0
    assert "2 segment(s) extracted, 0 already present" in capsys.readouterr().out

    with open(out / "segments.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert set(SEGMENT_CSV_COLUMNS) <= set(rows[0])
    assert [row["emotion"] for row in rows] == ["fearful", "relaxing"]
    reader = _FeatureReader(out)  # the reader create_pairs.py uses
    for row in rows:
        video = reader.read(row["video_features"], 2304, "video")
        music = reader.read(row["music_features"], 128, "music")
        assert np.isfinite(video).all() and (music >= 0).all()
    assert not list(out.rglob("*.tmp*"))  # atomic writes leave no temp files

    # Resume: nothing is recomputed, so no extractor is even built (it would refuse without weights).
    before = (out / "video" / "clip_a_01.npy").stat().st_mtime_ns
    assert _run_cli("--media", str(media_dir), "--output-dir", str(out), "--no-progress") == 0
    assert "0 segment(s) extracted, 2 already present" in capsys.readouterr().out
    assert (out / "video" / "clip_a_01.npy").stat().st_mtime_ns == before

    # A removed music file is recomputed alone (VGGish only), giving the same values.
    music = np.load(out / "music" / "clip_b_01.npy")
    (out / "music" / "clip_b_01.npy").unlink()
    assert _run_cli(*args[:4], "--no-progress", "--random-init") == 0
    assert "1 segment(s) extracted, 1 already present" in capsys.readouterr().out
    assert np.load(out / "music" / "clip_b_01.npy").shape == music.shape


def test_create_pairs_runs_on_extracted_features(media_dir: Path, tmp_path: Path):
    """Two clips cannot be paired meaningfully; label copies of the extracted files as 10 segments instead."""
    from emomv_hf.data import build_pairs_dataset

    out = tmp_path / "features"
    torch.manual_seed(0)
    assert (
        _run_cli("--media", str(media_dir), "--output-dir", str(out), "--random-init", "--no-progress") == 0
    )
    with open(out / "segments.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    emotions = ["exciting", "fearful", "tense", "sad", "relaxing"]
    copies = []
    for index in range(10):
        row = dict(rows[index % 2])
        segment_id = f"src{index // 2}_{index % 2 + 1:02d}"
        for column, kind in (("video_features", "video"), ("music_features", "music")):
            target = f"{kind}/{segment_id}.npy"
            shutil.copy(out / row[column], out / target)
            row[column] = target
        row.update(segment_id=segment_id, emotion=emotions[index % 5], source_id=f"src{index // 2}")
        copies.append(row)
    with open(out / "segments.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(copies[0]))
        writer.writeheader()
        writer.writerows(copies)
    folder = build_pairs_dataset(out / "segments.csv", tmp_path / "hub", name="byov")
    assert (folder / "README.md").is_file()


def test_non_finite_feature_is_an_error_naming_the_segment(media_dir: Path, tmp_path: Path):
    from emomv_hf.features import FeatureExtractionError, extract_features

    segments = discover_segments(media_dir, 30)[:1]

    def broken_slowfast(frames: np.ndarray) -> np.ndarray:
        return np.full(2304, np.nan, dtype=np.float32)

    with pytest.raises(FeatureExtractionError, match=r"clip_a_01.*NaN/inf"):
        extract_features(segments, tmp_path, slowfast=broken_slowfast, vggish=None, progress=False)
    assert not (tmp_path / "video").exists() or not list((tmp_path / "video").iterdir())
    summary = extract_features(segments, tmp_path, slowfast=broken_slowfast, on_error="skip", progress=False)
    assert summary.failed == ["clip_a_01"]
