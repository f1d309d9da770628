"""A batch extraction with bad inputs: each bad item is reported and skipped, nothing orphaned (issue 8.5)."""

from __future__ import annotations

import csv
import logging
import sys
from pathlib import Path

import pytest
import torch

from .synthetic_media import write_clip
from .test_slowfast_and_extract import _run_cli

pytest.importorskip("pytorchvideo")

REPO_ROOT = Path(__file__).resolve().parents[2]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def mixed_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``good.mp4`` (2.5 s), ``corrupt.mp4`` (random bytes), ``silent.mp4`` (no audio stream) and ``blank.mp4``
    (no video stream)."""
    root = tmp_path_factory.mktemp("mixed")
    (root / "sad").mkdir()
    write_clip(root / "sad" / "good.mp4", 2.5)
    (root / "sad" / "corrupt.mp4").write_bytes(
        torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes()
    )
    write_clip(root / "sad" / "silent.mp4", 2.5, with_audio=False)
    write_clip(root / "sad" / "blank.mp4", 2.5, with_video=False)
    return root


def _segments(folder: Path) -> dict[str, dict]:
    import datasets

    return {
        row["segment_id"]: row
        for row in datasets.load_dataset(
            str(folder), "segments", split="train", download_mode="force_redownload"
        )
    }


def test_skip_errors_reports_each_bad_file_and_goes_on(mixed_media: Path, tmp_path: Path, caplog, capsys):
    out = tmp_path / "features"
    args = ("--media", str(mixed_media), "--output-dir", str(out), "--random-init", "--no-progress")
    with caplog.at_level(logging.ERROR):
        assert _run_cli(*args, "--skip-errors") == 0
    rows = _segments(out)
    assert sorted(rows) == ["sad-blank_01", "sad-good_01", "sad-silent_01"]
    # A file with one stream gives the feature of that stream; the other is null.
    assert (
        rows["sad-silent_01"]["music_features"] is None
        and len(rows["sad-silent_01"]["video_features"]) == 2304
    )
    assert (
        rows["sad-blank_01"]["video_features"] is None and len(rows["sad-blank_01"]["music_features"]) == 128
    )
    assert (
        rows["sad-good_01"]["video_features"] is not None
        and rows["sad-good_01"]["music_features"] is not None
    )
    report = {Path(row["media"]).name: row["reason"] for row in _rows(out / "failures.csv")}
    assert set(report) == {"corrupt.mp4"}
    assert "cannot open media file" in report["corrupt.mp4"]
    assert "corrupt.mp4" in caplog.text and "cannot open media file" in caplog.text
    assert "1 left out" in capsys.readouterr().out
    assert "1 media files or segments were left out" in (out / "README.md").read_text(encoding="utf-8")

    # Without --skip-errors the first bad file stops the run, in one line.
    assert _run_cli(*args[:4], "--random-init", "--no-progress", "--output-dir", str(tmp_path / "o2")) == 1
    assert capsys.readouterr().err.startswith("error: ")

    # Pairing needs both streams and an emotion: the folder is refused, naming the segments.
    sys.path.insert(0, str(REPO_ROOT / "dataset_scripts"))
    try:
        import create_pairs
    finally:
        sys.path.pop(0)
    assert create_pairs.main(["--segments", str(out), "--output-dir", str(tmp_path / "hub")]) == 1
    err = capsys.readouterr().err
    assert "sad-silent_01 (no music_features)" in err and "sad-blank_01 (no video_features)" in err


def test_skip_errors_with_a_csv_window_too_short_for_music(mixed_media: Path, tmp_path: Path):
    # The window of "s" is too short for one 0.96 s VGGish example: only its music feature is null (23.10). "t" (20 ms)
    # holds no video frame and less audio than one 25 ms STFT frame (an MKL FFT error that ended the run): it is
    # left out, its reasons in failures.csv.
    table = tmp_path / "media.csv"
    table.write_text(
        "path,segment_id,start,end,emotion\n"
        f"{mixed_media / 'sad' / 'good.mp4'},g,0,2,sad\n"
        f"{mixed_media / 'sad' / 'good.mp4'},s,2,2.5,sad\n"
        f"{mixed_media / 'sad' / 'good.mp4'},t,2.5,2.52,sad\n",
        encoding="utf-8",
    )
    out = tmp_path / "features"
    argv = (
        "--media",
        str(table),
        "--output-dir",
        str(out),
        "--random-init",
        "--no-progress",
        "--skip-errors",
    )
    assert _run_cli(*argv) == 0
    rows = _segments(out)
    assert sorted(rows) == ["g", "s"]
    assert rows["s"]["music_features"] is None and len(rows["s"]["video_features"]) == 2304
    (failure,) = list(csv.DictReader((out / "failures.csv").open(encoding="utf-8")))
    assert "'t'" in str(failure) and "audio too short for VGGish" in str(failure), failure
    assert rows["g"]["music_features"] is not None


def test_nothing_extracted_is_a_failure(mixed_media: Path, tmp_path: Path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.mp4").write_bytes((mixed_media / "sad" / "corrupt.mp4").read_bytes())
    out = tmp_path / "features"
    assert (
        _run_cli(
            "--media", str(bad), "--output-dir", str(out), "--random-init", "--no-progress", "--skip-errors"
        )
        == 1
    )
    assert "no segment could be extracted" in capsys.readouterr().err
    import pyarrow.parquet as pq

    (shard,) = (out / "data" / "segments").iterdir()
    assert pq.read_metadata(shard).num_rows == 0


def test_missing_weights_message_names_the_flags(mixed_media: Path, tmp_path: Path, capsys):
    out = tmp_path / "features"
    assert (
        _run_cli(
            "--media",
            str(mixed_media / "sad"),
            "--output-dir",
            str(out),
            "--no-progress",
            "--skip-errors",
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "--slowfast-weights PATH" in err and "--random-init" in err and "--extractor DIR" in err
    assert "weights=PATH" not in err and "random_init=True" not in err


def test_unreadable_media_csv_is_one_line(tmp_path: Path, capsys):
    table = tmp_path / "media.csv"
    table.write_bytes(b"\xff\xfe\x00\x81binary\x00")
    assert _run_cli("--media", str(table), "--output-dir", str(tmp_path / "o"), "--random-init") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {table}: not a UTF-8 text CSV file") and "Traceback" not in err
