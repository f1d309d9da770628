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

from emomv_hf.features import extract as extract_module
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


def test_a_file_replaced_by_one_of_the_same_size_and_mtime_is_extracted_again(
    tmp_path: Path, caplog, monkeypatch
):
    """``cp -p``, ``rsync -t`` or ``os.utime`` keep a replaced file's mtime: its ctime (or inode) tells the change.
    A file whose ctime alone changed is hashed again and keeps its features; records without inode and ctime
    (an older emomv-hf) are hashed again too."""
    from emomv_hf.features import extract as extract_module
    from emomv_hf.io_utils import file_sha256

    hashed = []  # the media files read to hash them
    monkeypatch.setattr(
        extract_module, "file_sha256", lambda path: hashed.append(path.name) or file_sha256(path)
    )
    media = tmp_path / "media"
    media.mkdir()
    write_clip(media / "a.mp4", 1.0, tone_hz=300.0)
    replaced = write_clip(media / "b.mp4", 1.0, tone_hz=500.0)
    other = write_clip(tmp_path / "other.mp4", 1.0, tone_hz=900.0)
    size = max(replaced.stat().st_size, other.stat().st_size) + 8
    for path in (replaced, other):  # padded to one size with an mp4 "free" box, which demuxers skip
        pad = size - path.stat().st_size
        path.write_bytes(path.read_bytes() + pad.to_bytes(4, "big") + b"free" + bytes(pad - 8))
    out = tmp_path / "features"
    _extract(media, out)
    before = _rows(out)

    stat = replaced.stat()
    replaced.write_bytes(other.read_bytes())  # in place: the same inode and size
    os.utime(replaced, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.chmod(media / "a.mp4", 0o600)  # only its ctime changes
    hashed.clear()
    with caplog.at_level(logging.INFO, "emomv_hf.features.extract"):
        summary = _extract(media, out)
    assert (summary.extracted, summary.skipped, sorted(hashed)) == (1, 1, ["a.mp4", "b.mp4"])
    after = _rows(out)
    assert (
        after["b_01"]["music_features"] != before["b_01"]["music_features"]
        and after["a_01"] == before["a_01"]
    )
    assert "1 changed file(s)" in caplog.text

    hashed.clear()
    assert (_extract(media, out).extracted, hashed) == (0, [])  # nothing changed: no media read
    for shard in (out / "data" / "segments").glob("*.parquet"):  # records of an older emomv-hf
        table = pq.read_table(shard)
        metadata = dict(table.schema.metadata)
        inputs = json.loads(metadata[b"emomv_inputs"])
        for entry in inputs:
            del entry["file"]["inode"], entry["file"]["ctime_ns"]
        metadata[b"emomv_inputs"] = json.dumps(inputs).encode()
        pq.write_table(table.replace_schema_metadata(metadata), shard)
    summary = _extract(media, out)
    assert (summary.extracted, summary.skipped, sorted(hashed)) == (0, 2, ["a.mp4", "b.mp4"])
    assert _rows(out) == after


def test_other_extractors_or_segment_length_redo_the_shards(tmp_path: Path, capsys, caplog, monkeypatch):
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

    # Shards of an older preprocessing (decoding, timing, cropping) are redone too.
    rerun = [*common[:-3], "--segment-seconds", "0.5", "--no-progress", "--extractor", str(extractors)]
    caplog.clear()
    with caplog.at_level(logging.WARNING, "emomv_hf.features.extract"):
        monkeypatch.setattr(
            extract_module, "PREPROCESSING_REVISION", extract_module.PREPROCESSING_REVISION + 1
        )
        assert _run_cli(*rerun) == 0
    assert f"preprocessing {extract_module.PREPROCESSING_REVISION - 1} -> " in caplog.text
    assert "2 extracted now" in capsys.readouterr().out


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
