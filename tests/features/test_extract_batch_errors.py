"""A batch extraction with bad inputs: each bad item is reported and skipped, nothing orphaned (issue 8.5)."""

from __future__ import annotations

import csv
import logging
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
    """``good.mp4`` (2.5 s), ``corrupt.mp4`` (random bytes) and ``silent.mp4`` (no audio stream)."""
    root = tmp_path_factory.mktemp("mixed")
    (root / "sad").mkdir()
    write_clip(root / "sad" / "good.mp4", 2.5)
    (root / "sad" / "corrupt.mp4").write_bytes(
        torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes()
    )
    write_clip(root / "sad" / "silent.mp4", 2.5, with_audio=False)
    return root


def test_skip_errors_reports_each_bad_file_and_goes_on(mixed_media: Path, tmp_path: Path, caplog, capsys):
    out = tmp_path / "features"
    torch.manual_seed(0)
    args = ("--media", str(mixed_media), "--output-dir", str(out), "--random-init", "--no-progress")
    with caplog.at_level(logging.ERROR):
        assert _run_cli(*args, "--skip-errors") == 0
    assert [row["segment_id"] for row in _rows(out / "segments.csv")] == ["good_01"]
    report = {Path(row["media"]).name: row["reason"] for row in _rows(out / "failures.csv")}
    assert set(report) == {"corrupt.mp4", "silent.mp4"}
    assert "cannot open media file" in report["corrupt.mp4"]
    assert "no audio stream" in report["silent.mp4"]
    logged = caplog.text
    assert "corrupt.mp4" in logged and "silent.mp4" in logged and "no audio stream" in logged
    assert "2 left out" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "video").iterdir()) == ["good_01.npy"]
    assert sorted(p.name for p in (out / "music").iterdir()) == ["good_01.npy"]

    # Without --skip-errors the first bad file stops the run, in one line.
    assert _run_cli(*args[:4], "--random-init", "--no-progress") == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_skip_errors_with_a_csv_leaves_no_orphan_feature_files(mixed_media: Path, tmp_path: Path):
    # With start/end given, the silent file is only found out when its music is decoded, after its video.
    table = tmp_path / "media.csv"
    table.write_text(
        "path,segment_id,start,end,emotion\n"
        f"{mixed_media / 'sad' / 'good.mp4'},g,0,2,sad\n"
        f"{mixed_media / 'sad' / 'silent.mp4'},s,0,2,sad\n",
        encoding="utf-8",
    )
    out = tmp_path / "features"
    torch.manual_seed(0)
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
    assert [row["segment_id"] for row in _rows(out / "segments.csv")] == ["g"]
    assert [row["segment_id"] for row in _rows(out / "failures.csv")] == ["s"]
    listed = {
        Path(row[column]).name
        for row in _rows(out / "segments.csv")
        for column in ("video_features", "music_features")
    }
    written = {p.name for p in out.rglob("*.npy")}
    assert written == listed == {"g.npy"}


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
    assert not list(out.rglob("*.npy"))


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
    assert "--slowfast-weights PATH" in err and "--random-init" in err
    assert "weights=PATH" not in err and "random_init=True" not in err


def test_unreadable_media_csv_is_one_line(tmp_path: Path, capsys):
    table = tmp_path / "media.csv"
    table.write_bytes(b"\xff\xfe\x00\x81binary\x00")
    assert _run_cli("--media", str(table), "--output-dir", str(tmp_path / "o"), "--random-init") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {table}: not a UTF-8 text CSV file") and "Traceback" not in err
