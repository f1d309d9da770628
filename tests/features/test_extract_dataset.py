"""Extraction into a Hub dataset folder: a killed run resumes to the same folder, DataLoader workers give the
same folder as none, a Hub dataset with a ``Video`` column is an input, and converted checkpoint folders
(``--extractor``) give the original modules' features."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from emomv_hf.features import extract as extract_module
from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.features.convert import convert_checkpoint
from emomv_hf.features.extract import extract_dataset
from emomv_hf.features.media import read_audio, read_video_frames

from . import frozen_reference as frozen
from .synthetic_media import assert_same_segments

pytest.importorskip("pytorchvideo")

RANDOM = ExtractorArguments(random_init=True)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARDS = ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]


def _shard_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / "data" / "segments" / name).read_bytes() for name in SHARDS}


def test_killed_run_resumes_to_the_same_folder_with_workers(
    media_dir: Path, reference: Path, tmp_path, monkeypatch
):
    out = tmp_path / "features"
    real_write = extract_module._write_shard
    written = []

    def write_then_die(path, *args, **kwargs):
        if written:
            raise KeyboardInterrupt  # killed while the second shard is being written
        real_write(path, *args, **kwargs)
        written.append(path)

    monkeypatch.setattr(extract_module, "_write_shard", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        extract_dataset(media_dir, out, RANDOM, files_per_shard=1, progress=False)
    assert sorted(p.name for p in (out / "data" / "segments").iterdir()) == SHARDS[:1]
    assert not [p for p in out.rglob("*") if p.name.startswith(".")] and not (out / "README.md").exists()

    monkeypatch.setattr(extract_module, "_write_shard", real_write)
    summary = extract_dataset(media_dir, out, RANDOM, files_per_shard=1, progress=False, num_workers=2)
    assert (summary.extracted, summary.skipped, summary.rows) == (1, 1, 2)
    assert _shard_bytes(out) == _shard_bytes(reference)
    assert (out / "README.md").read_text() == (reference / "README.md").read_text()


def test_hub_dataset_with_a_video_column(media_dir: Path, reference: Path, tmp_path: Path):
    import datasets

    from emomv_hf.emotions import EMOTIONS

    clips = [media_dir / "Fear" / "clip_a.mp4", media_dir / "relax" / "clip_b.mp4"]
    features = datasets.Features(
        {"video": datasets.Video(decode=False), "emotion": datasets.ClassLabel(names=EMOTIONS)}
    )
    table = datasets.Dataset.from_dict(
        {"video": [{"bytes": p.read_bytes(), "path": p.name} for p in clips], "emotion": [1, 4]},
        features=features,
    ).cast_column("video", datasets.Video())
    hub = tmp_path / "hub-videos"
    (hub / "data").mkdir(parents=True)
    table.to_parquet(str(hub / "data" / "train-00000-of-00001.parquet"))

    out = tmp_path / "features"
    summary = extract_dataset(hub, out, RANDOM, files_per_shard=1, progress=False)
    assert summary.rows == 2
    # A Hub row's id comes from its file name (the folder's from the path below the media folder).
    assert_same_segments(out, reference)


def test_extractor_folders_give_the_original_modules_features(
    clip: Path, vggish_port, slowfast_zoo, tmp_path: Path, capsys, real_slowfast
):
    extractors = tmp_path / "extractors"
    convert_checkpoint("vggish", vggish_port[1], extractors / "vggish")
    convert_checkpoint("slowfast", slowfast_zoo[1], extractors / "slowfast")
    media = tmp_path / "media"
    media.mkdir()
    (media / "clip_a.mp4").write_bytes(clip.read_bytes())
    sys.path.insert(0, str(REPO_ROOT / "dataset_scripts"))
    try:
        import extract_features
    finally:
        sys.path.pop(0)
    out = tmp_path / "features"
    code = extract_features.main(
        ["--media", str(media), "--output-dir", str(out), "--extractor", str(extractors), "--no-progress"]
    )
    assert code == 0, capsys.readouterr().err
    (row,) = pq.read_table(out / "data" / "segments" / "train-00000-of-00001.parquet").to_pylist()
    assert row["emotion"] is None  # no emotion-named folder: unlabelled

    # The original modules on the same decoded media, through the frozen pre-change preprocessing.
    frames = read_video_frames(clip, row["start"], row["end"], num_frames=32)
    audio = read_audio(clip)[: int(round(row["end"] * 16_000))]
    with torch.no_grad():
        video = slowfast_zoo[0](frozen.preprocess_clip(frames))[0].numpy()
        music = vggish_port[0](frozen.waveform_to_examples(audio)).mean(dim=0).numpy()
    np.testing.assert_array_equal(np.asarray(row["video_features"], np.float32), video)
    np.testing.assert_array_equal(np.asarray(row["music_features"], np.float32), music)

    missing = tmp_path / "nothing"
    missing.mkdir()
    assert (
        extract_features.main(["--media", str(media), "--output-dir", str(out), "--extractor", str(missing)])
        == 1
    )
    assert "convert_weights.py" in capsys.readouterr().err
