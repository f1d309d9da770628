"""Extraction reruns are never stale (issue 23.2): shards are keyed by the extractors' fingerprints, each media
file's bytes and the segment length; a rerun extracts new and changed files only, redoes stale shards saying why,
drops removed files, and a lock keeps two extractions out of one folder. ``convert_weights.py --random-init``
makes offline extractor folders whose random weights every card names (issue 26.4)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.features.extract import (
    LOCK_FILE,
    _main_process_lock,
    extract_dataset,
    recorded_extraction_settings,
)

from .synthetic_media import write_clip
from .test_convert_weights import _run_cli as convert_cli
from .test_slowfast_and_extract import _run_cli

pytest.importorskip("pytorchvideo")

RANDOM = ExtractorArguments(random_init=True, segment_seconds=1.0)


def _rows(folder: Path) -> dict[str, dict]:
    # Read with pyarrow: load_dataset may serve a rerun's folder (same file names) from its cache.
    shards = sorted((folder / "data" / "segments").glob("*.parquet"))
    return {row["segment_id"]: row for shard in shards for row in pq.read_table(shard).to_pylist()}


def _extract(media: Path, out: Path, extractor: ExtractorArguments = RANDOM):
    return extract_dataset(media, out, extractor, files_per_shard=1, progress=False)


def test_rerun_extracts_new_and_changed_files_and_drops_removed_ones(tmp_path: Path, caplog):
    media = tmp_path / "media" / "sad"
    media.mkdir(parents=True)
    write_clip(media / "a.mp4", 1.0, tone_hz=300.0)
    write_clip(media / "b.mp4", 1.0, tone_hz=500.0)
    out = tmp_path / "features"
    assert (_extract(media.parent, out).extracted, recorded_extraction_settings(out)["segment_seconds"]) == (
        2,
        1.0,
    )
    before = _rows(out)

    # b replaced by another clip of the same name, c added.
    write_clip(media / "b.mp4", 1.0, tone_hz=900.0)
    write_clip(media / "c.mp4", 1.0, tone_hz=700.0)
    with caplog.at_level(logging.INFO, "emomv_hf.features.extract"):
        summary = _extract(media.parent, out)
    assert (summary.extracted, summary.skipped, summary.rows) == (2, 1, 3)
    after = _rows(out)
    assert after["sad-a_01"]["music_features"] == before["sad-a_01"]["music_features"]
    assert after["sad-b_01"]["music_features"] != before["sad-b_01"]["music_features"]
    assert "1 changed file(s)" in caplog.text and "1 new file(s)" in caplog.text

    # a removed: its rows go, nothing is extracted, the shards of the old layout are removed.
    (media / "a.mp4").unlink()
    os.utime(media / "c.mp4")  # touched: same bytes, so its features stay
    caplog.clear()
    with caplog.at_level(logging.INFO, "emomv_hf.features.extract"):
        summary = _extract(media.parent, out)
    assert (summary.extracted, summary.skipped) == (0, 2) and sorted(_rows(out)) == ["sad-b_01", "sad-c_01"]
    assert f"no longer in the media: {media / 'a.mp4'}" in caplog.text
    assert sorted(p.name for p in (out / "data" / "segments").iterdir()) == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]
    assert not (out / LOCK_FILE).exists()

    # c removed, a0 added before b: a0's shard takes the name of the shard that held b, so b, whose rows are
    # overwritten before its own shard is written, is extracted again (never given a0's rows).
    (media / "c.mp4").unlink()
    write_clip(media / "a0.mp4", 1.0, tone_hz=1100.0)
    summary = _extract(media.parent, out)
    rows = _rows(out)
    assert (summary.extracted, summary.skipped, sorted(rows)) == (2, 0, ["sad-a0_01", "sad-b_01"])
    assert rows["sad-b_01"]["music_features"] == after["sad-b_01"]["music_features"]


def test_other_extractors_or_segment_length_redo_the_shards(tmp_path: Path, capsys, caplog):
    media = tmp_path / "media"
    media.mkdir()
    write_clip(media / "a.mp4", 1.0)
    extractors = tmp_path / "extractors"
    assert convert_cli("--output-dir", str(extractors), "--random-init") == 0
    for kind in ("slowfast", "vggish"):
        assert json.loads((extractors / kind / "config.json").read_text())["random_weights"] is True
        assert {"processor_config.json", "model.safetensors"} <= {
            p.name for p in (extractors / kind).iterdir()
        }
        assert "RANDOM WEIGHTS" in (extractors / kind / "README.md").read_text(encoding="utf-8")

    out = tmp_path / "features"
    common = ["--media", str(media), "--output-dir", str(out), "--segment-seconds", "1", "--no-progress"]
    assert _run_cli(*common, "--random-init") == 0
    random_row = _rows(out)["a_01"]
    with caplog.at_level(logging.WARNING, "emomv_hf.features.extract"):
        assert _run_cli(*common, "--extractor", str(extractors)) == 0
    assert "1 extracted now, 0 already present" in capsys.readouterr().out
    assert (
        "redoing data/segments/train-00000-of-00001.parquet: 1 extracted with other settings" in caplog.text
    )
    assert "slowfast extractor random weights" in caplog.text
    # The folder's random weights are the seed's (the same features), but the run cannot know that unseen.
    assert _rows(out)["a_01"]["video_features"] == random_row["video_features"]
    card = (out / "README.md").read_text(encoding="utf-8")
    settings = recorded_extraction_settings(out)
    assert settings["extractors"]["slowfast"]["source"] == str(extractors / "slowfast")
    assert settings["extractors"]["slowfast"]["sha256"] in card and str(extractors / "vggish") in card
    assert "RANDOM WEIGHTS: THESE FEATURES MEAN NOTHING" in card and "`media`" in card

    assert _run_cli(*common, "--extractor", str(extractors)) == 0
    assert "0 extracted now, 1 already present" in capsys.readouterr().out
    caplog.clear()
    with caplog.at_level(logging.WARNING, "emomv_hf.features.extract"):
        assert (
            _run_cli(
                *common[:-3], "--segment-seconds", "0.5", "--no-progress", "--extractor", str(extractors)
            )
            == 0
        )
    assert "segment_seconds 1.0 -> 0.5" in caplog.text and "2 extracted now" in capsys.readouterr().out


def test_a_live_lock_refuses_a_second_extraction_and_a_dead_one_is_taken_over(tmp_path: Path, capsys):
    from accelerate import PartialState

    write_clip(tmp_path / "a.mp4", 1.0)
    out = tmp_path / "features"
    out.mkdir()
    lock = str(out / LOCK_FILE)
    hold = f"import filelock, time; held = filelock.FileLock({lock!r}); held.acquire(); print(1, flush=True)"
    owner = subprocess.Popen([sys.executable, "-c", hold + "; time.sleep(60)"], stdout=subprocess.PIPE)
    try:
        assert owner.stdout.readline()  # the lock is held
        code = _run_cli("--media", str(tmp_path), "--output-dir", str(out), "--random-init", "--no-progress")
        err = capsys.readouterr().err.strip()
        assert code == 1 and err == (
            f"error: {out}: another extraction is writing it (it holds {out / LOCK_FILE}); wait for it"
        )
    finally:
        owner.kill()
        owner.wait()
        owner.stdout.close()
    # Its owner is dead now (its lock file is still there): the lock is taken over, held while the block runs
    # and removed after.
    assert (out / LOCK_FILE).exists()
    state = PartialState(cpu=True)
    taken = _main_process_lock(state, out)
    with taken, pytest.raises(FileExistsError, match="another extraction"), _main_process_lock(state, out):
        pass
    assert not list(out.iterdir())
