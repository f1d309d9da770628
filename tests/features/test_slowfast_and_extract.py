"""SlowFast (random init, real 256x256 clips) and the extraction CLI end to end."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.features.convert import load_extractor, slowfast_from_zoo
from emomv_hf.features.extract import FeatureExtractionError, extract_dataset, list_media, split_into_segments
from emomv_hf.features.media import read_video_frames
from emomv_hf.features.modeling_slowfast import SlowFastModel, SlowFastModelOutput
from emomv_hf.features.video_processing_slowfast import SlowFastVideoProcessor

pytest.importorskip("pytorchvideo")

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_video_processor_layout():
    frames = np.random.default_rng(0).integers(0, 256, (32, 48, 64, 3), dtype=np.uint8)
    inputs = SlowFastVideoProcessor()(frames, return_tensors="pt")
    slow, fast = inputs["pixel_values_slow"], inputs["pixel_values_fast"]
    assert fast.shape == (1, 3, 32, 256, 256) and slow.shape == (1, 3, 8, 256, 256)
    # Slow frames are fast frames linspace(0, 31, 8) -> 0, 4, 8, 13, 17, 22, 26, 31 (pytorchvideo PackPathway).
    assert torch.equal(slow[0, :, 1], fast[0, :, 4]) and torch.equal(slow[0, :, -1], fast[0, :, 31])
    grey = np.full((32, 48, 64, 3), 115, dtype=np.uint8)  # 115/255 ~ 0.45: normalises to ~0
    assert SlowFastVideoProcessor()(grey, return_tensors="pt")["pixel_values_fast"].abs().max() < 0.01


def test_slowfast_features_and_round_trip(clip: Path, tmp_path: Path):
    torch.manual_seed(0)
    processor, model = load_extractor("slowfast")
    inputs = processor(videos=read_video_frames(clip, 0.0, 3.5, num_frames=32))
    with torch.no_grad():
        feature = model(**inputs).pooler_output[0]
    assert feature.shape == (2304,) and feature.dtype == torch.float32 and torch.isfinite(feature).all()
    # Pooled post-ReLU features, like the release (non-negative).
    assert (feature >= 0).all()
    # A Kinetics-style checkpoint: {"model_state": ...} including the classifier, which is dropped.
    state = dict(model.state_dict())
    state["blocks.6.proj.weight"] = torch.zeros(400, 2304)
    state["blocks.6.proj.bias"] = torch.zeros(400)
    path = tmp_path / "SLOWFAST_8x8_R50.pyth"
    torch.save({"model_state": state, "epoch": 196}, path)
    with torch.no_grad():
        assert torch.equal(slowfast_from_zoo(path)(**inputs).pooler_output[0], feature)


def test_split_into_segments():
    assert split_into_segments(3.5, 30) == [(0.0, 3.5)]
    assert split_into_segments(75, 30) == [(0, 30), (30, 60), (60, 75)]
    assert split_into_segments(70, 30) == [(0, 30), (30, 60)]  # 10 s tail < half a segment: dropped


def test_list_media_from_folder_and_csv(media_dir: Path, tmp_path: Path):
    items = list_media(media_dir).items
    assert [(Path(item.name).name, item.emotion, item.source_id) for item in items] == [
        ("clip_a.mp4", "fearful", "Fear-clip_a"),
        ("clip_b.mp4", "relaxing", "relax-clip_b"),
    ]
    table = tmp_path / "media.csv"
    table.write_text(
        f"segment_id,path,start,end,emotion\nx_1,{media_dir / 'Fear' / 'clip_a.mp4'},0,1.5,Sad\n",
        encoding="utf-8",
    )
    (item,) = list_media(table).items
    assert (item.window, item.emotion) == (("x_1", 0.0, 1.5), "sad")


def _run_cli(*args: str) -> int:
    sys.path.insert(0, str(REPO_ROOT / "dataset_scripts"))
    try:
        import extract_features
    finally:
        sys.path.pop(0)
    return extract_features.main(list(args))


def _rows(folder: Path) -> list[dict]:
    import datasets

    return list(
        datasets.load_dataset(str(folder), "segments", split="train", download_mode="force_redownload")
    )


def test_cli_end_to_end_resume_and_dataset_format(media_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / "features"
    # Without weights and without --random-init the CLI refuses before doing any work.
    assert _run_cli("--media", str(media_dir), "--output-dir", str(out), "--no-progress") == 1
    # ... naming its own flags, not the Python parameters (issue 8.5).
    err = capsys.readouterr().err
    assert "--slowfast-weights PATH" in err and "--extractor DIR" in err

    args = ("--media", str(media_dir), "--output-dir", str(out), "--random-init", "--no-progress")
    assert _run_cli(*args, "--files-per-shard", "1") == 0
    assert "2 segment(s), 2 extracted now, 0 already present" in capsys.readouterr().out

    rows = _rows(out)
    assert [row["segment_id"] for row in rows] == ["Fear-clip_a_01", "relax-clip_b_01"]
    assert [row["source"] for row in rows] == ["Fear-clip_a", "relax-clip_b"]  # ids of the relative paths
    assert [(row["start"], round(row["end"], 1)) for row in rows] == [(0.0, 3.5), (0.0, 2.5)]
    assert [row["emotion"] for row in rows] == [1, 4]  # fearful, relaxing (emotion-named folders)
    for row in rows:
        video, music = np.asarray(row["video_features"]), np.asarray(row["music_features"])
        assert video.shape == (2304,) and music.shape == (128,)
        assert np.isfinite(video).all() and (video >= 0).all() and (music >= 0).all()
    assert (out / "README.md").is_file() and not (out / "failures.csv").exists()
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # atomic writes leave no temp files

    # Resume: nothing is recomputed, so no extractor is even built and no shard rewritten.
    shard = out / "data" / "segments" / "train-00001-of-00002.parquet"
    before = shard.stat().st_mtime_ns
    with mock.patch("emomv_hf.features.convert.load_extractor", side_effect=AssertionError("built")):
        assert _run_cli(*args, "--files-per-shard", "1") == 0
    assert "2 segment(s), 0 extracted now, 2 already present" in capsys.readouterr().out
    assert shard.stat().st_mtime_ns == before

    # A removed shard is recomputed alone, giving the same values (random weights come from a fixed seed).
    shard.unlink()
    assert _run_cli(*args, "--files-per-shard", "1") == 0
    assert "1 extracted now, 1 already present" in capsys.readouterr().out
    again = _rows(out)
    assert again[1]["video_features"] == rows[1]["video_features"]
    assert again[1]["music_features"] == rows[1]["music_features"]

    # Other sharding regroups the same rows (nothing extracted) and removes the shards of the old layout.
    assert _run_cli(*args, "--files-per-shard", "2") == 0
    assert "2 segment(s), 0 extracted now, 2 already present" in capsys.readouterr().out
    assert [p.name for p in (out / "data" / "segments").iterdir()] == ["train-00000-of-00001.parquet"]
    assert _rows(out) == again


def test_create_pairs_reads_the_extracted_folder(media_dir: Path, tmp_path: Path):
    """Two clips cannot be paired meaningfully; relabel copies of the extracted rows as 10 segments instead."""
    from emomv_hf.data.card import make_extraction_card
    from emomv_hf.data.hub_folder import write_hub_folder
    from emomv_hf.data.schema import EXTRACTED_SEGMENT_FEATURES, schema_table

    out = tmp_path / "features"
    assert (
        _run_cli("--media", str(media_dir), "--output-dir", str(out), "--random-init", "--no-progress") == 0
    )
    rows = _rows(out)
    emotions = [0, 1, 2, 3, 4]
    table = schema_table(
        {
            "segment_id": [f"src{i // 2}_{i % 2 + 1:02d}" for i in range(10)],
            "emotion": [emotions[i % 5] for i in range(10)],
            "video_features": [np.asarray(rows[i % 2]["video_features"], np.float32) for i in range(10)],
            "music_features": [np.asarray(rows[i % 2]["music_features"], np.float32) for i in range(10)],
            "source": [f"src{i // 2}" for i in range(10)],
            "start": [0.0] * 10,
            "end": [2.5] * 10,
            "media": [f"media/src{i // 2}.mp4" for i in range(10)],
        },
        EXTRACTED_SEGMENT_FEATURES,
    )
    relabelled = tmp_path / "relabelled"
    card = make_extraction_card(name="relabelled", tables={"train": table}, settings={}, media="test")
    write_hub_folder(relabelled, {"segments": {"train": table}}, card)

    sys.path.insert(0, str(REPO_ROOT / "dataset_scripts"))
    try:
        import create_pairs
    finally:
        sys.path.pop(0)
    assert (
        create_pairs.main(
            ["--segments", str(relabelled), "--output-dir", str(tmp_path / "hub"), "--name", "byov"]
        )
        == 0
    )
    folder = tmp_path / "hub" / "byov"
    assert (folder / "README.md").is_file()
    import datasets

    pairs = datasets.load_dataset(str(folder), "pairs", split="train")
    assert pairs.num_rows > 0 and set(pairs["label"]) == {0, 1}


def test_non_finite_feature_is_an_error_naming_the_segment(media_dir: Path, tmp_path: Path, monkeypatch):
    def broken_forward(self, pixel_values_slow, pixel_values_fast, **kwargs):
        return SlowFastModelOutput(pooler_output=torch.full((pixel_values_fast.shape[0], 2304), float("nan")))

    monkeypatch.setattr(SlowFastModel, "forward", broken_forward)
    only_a = tmp_path / "media"
    (only_a / "Fear").mkdir(parents=True)
    shutil.copy(media_dir / "Fear" / "clip_a.mp4", only_a / "Fear" / "clip_a.mp4")
    with pytest.raises(FeatureExtractionError, match=r"Fear-clip_a_01.*NaN/inf"):
        extract_dataset(only_a, tmp_path / "out", ExtractorArguments(random_init=True), progress=False)
    assert not list((tmp_path / "out").rglob("*.parquet"))
    random = ExtractorArguments(random_init=True)
    summary = extract_dataset(only_a, tmp_path / "out", random, on_error="skip", progress=False)
    assert [failure.segment_id for failure in summary.all_failures] == [
        "Fear-clip_a_01"
    ] and summary.rows == 0
    assert "NaN/inf" in (tmp_path / "out" / "failures.csv").read_text(encoding="utf-8")
