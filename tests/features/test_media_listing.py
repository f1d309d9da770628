"""Reading the media list: a CSV is checked completely before anything is extracted (issue 23.7-23.8), files
under an unreadable folder are reported (23.8), and segment ids come from the path relative to the media folder,
so that ``Fear/video1.mp4`` and ``Sad/video1.mp4`` do not collide and pairing still groups a file's segments
(23.9)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from .synthetic_media import write_clip
from .test_slowfast_and_extract import _run_cli

pytest.importorskip("pytorchvideo")


@pytest.mark.parametrize(
    ("last_row", "line_and_field"),
    [
        ("a.mp4,x,1,2", "line 3: its segment ids would repeat those of"),
        ("a.mp4,y,0,inf", "line 3, field end: 'inf' is not a number of seconds >= 0"),
        ("a.mp4,y,nan,1", "line 3, field start: 'nan' is not a number of seconds >= 0"),
        ("a.mp4,y,-5,1", "line 3, field start: '-5' is not a number of seconds >= 0"),
        ("a.mp4,y,1,1", "line 3, field end: 1.0 is not after start 1.0"),
        ("a.mp4,y,0,1,anger", "line 3, field emotion:"),
        ("a.mp4,,,\na.mp4,,,", "line 4: its segment ids would repeat those of"),  # one file twice, uncut
        ("a.mp4,,,\nb.mp4,a_01,0,1", "line 4: its segment id 'a_01' is one of those of"),
    ],
)
def test_a_bad_csv_row_is_one_line_and_nothing_is_written(tmp_path: Path, capsys, last_row, line_and_field):
    write_clip(tmp_path / "a.mp4", 1.5)
    table = tmp_path / "rows.csv"
    # Row 2 is good: it must not be extracted before row 3 is found bad.
    rows = ["path,segment_id,start,end,emotion", "a.mp4,x,0,1,sad"]
    table.write_text("\n".join([*rows, last_row]) + "\n", encoding="utf-8")
    before = set(tmp_path.rglob("*"))
    code = _run_cli("--media", str(table), "--output-dir", str(tmp_path / "out"), "--random-init")
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"error: {table}, {line_and_field}")
    assert set(tmp_path.rglob("*")) == before


def test_a_header_only_csv_is_refused(tmp_path: Path, capsys):
    table = tmp_path / "rows.csv"
    table.write_text("path,emotion\n", encoding="utf-8")
    assert _run_cli("--media", str(table), "--output-dir", str(tmp_path / "out"), "--random-init") == 1
    assert capsys.readouterr().err.strip() == f"error: {table}: no rows below the header"
    assert not (tmp_path / "out").exists()


def test_files_under_an_unreadable_folder_are_reported(tmp_path: Path, capsys, monkeypatch):
    media = tmp_path / "media"
    (media / "locked").mkdir(parents=True)
    write_clip(media / "open.mp4", 1.0)
    write_clip(media / "locked" / "hidden.mp4", 1.0)
    real_scandir = os.scandir

    def scandir(path="."):  # chmod 000 does not stop root (the tests may run as root)
        if isinstance(path, (str, os.PathLike)) and Path(path) == media / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    args = ["--media", str(media), "--random-init", "--segment-seconds", "1", "--no-progress"]
    assert _run_cli(*args, "--output-dir", str(tmp_path / "strict")) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {media / 'locked'}: cannot list the folder (Permission denied)")
    assert not (tmp_path / "strict").exists()

    out = tmp_path / "features"
    assert _run_cli(*args, "--output-dir", str(out), "--skip-errors") == 0
    report = (out / "failures.csv").read_text(encoding="utf-8")
    assert str(media / "locked") in report and "cannot list the folder" in report
    assert "1 left out" in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_with_a_media_name_is_reported_not_read(tmp_path: Path, capsys):
    media = tmp_path / "media"
    media.mkdir()
    write_clip(media / "open.mp4", 1.0)
    os.mkfifo(media / "pipe.mp4")  # opening it for reading would wait for a writer for ever

    def hang(signum, frame):
        raise TimeoutError("the extraction opened the FIFO")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(120)
    try:
        args = ["--media", str(media), "--random-init", "--segment-seconds", "1", "--no-progress"]
        assert _run_cli(*args, "--output-dir", str(tmp_path / "strict")) == 1
        err = capsys.readouterr().err.strip()
        assert (
            err
            == f"error: {media / 'pipe.mp4'}: not a regular file (a FIFO or a device) (--skip-errors goes on)"
        )
        assert not (tmp_path / "strict").exists()

        out = tmp_path / "features"
        assert _run_cli(*args, "--output-dir", str(out), "--skip-errors") == 0
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    report = (out / "failures.csv").read_text(encoding="utf-8")
    assert str(media / "pipe.mp4") in report and "not a regular file" in report
    assert "1 left out" in capsys.readouterr().out


def test_media_given_relatively_is_named_absolutely(tmp_path: Path, monkeypatch):
    """The ``media`` column names the files for whoever uses the library later (the Space plays them, a query of
    recommend.py shows them), whatever folder that is: a relative --media (folder or CSV) is made absolute."""
    from emomv_hf.features.extract import list_media

    (tmp_path / "project" / "media" / "Sad").mkdir(parents=True)
    write_clip(tmp_path / "project" / "media" / "Sad" / "a.mp4", 1.0)
    (tmp_path / "project" / "rows.csv").write_text("path\nmedia/Sad/a.mp4\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "project")
    listed = [list_media("media").items[0].name, list_media("rows.csv").items[0].name]
    assert listed == [str(tmp_path / "project" / "media" / "Sad" / "a.mp4")] * 2
    assert _run_cli("--media", "media", "--output-dir", "out", "--random-init", "--no-progress") == 0

    import datasets

    monkeypatch.chdir(tmp_path)  # another folder: the names still lead to the file
    rows = datasets.load_dataset("project/out", "segments", split="train", download_mode="force_redownload")
    assert set(rows["media"]) == {listed[0]} and Path(rows["media"][0]).is_file()


def test_same_file_name_in_two_emotion_folders(tmp_path: Path):
    import datasets

    from emomv_hf.data.build import read_extracted_segments
    from emomv_hf.data.pairing import split_by_source
    from emomv_hf.data.schema import source_video_id
    from emomv_hf.features.extract import list_media

    media = tmp_path / "media"
    for emotion, tone in (("Fear", 300.0), ("Sad", 700.0)):
        (media / emotion).mkdir(parents=True)
        write_clip(media / emotion / "video1.mp4", 2.0, tone_hz=tone)
    out = tmp_path / "features"
    args = ["--media", str(media), "--output-dir", str(out), "--random-init", "--segment-seconds", "1"]
    assert _run_cli(*args, "--no-progress") == 0
    rows = datasets.load_dataset(str(out), "segments", split="train", download_mode="force_redownload")
    ids = ["Fear-video1_01", "Fear-video1_02", "Sad-video1_01", "Sad-video1_02"]
    assert rows["segment_id"] == ids and rows["source"] == [source_video_id(i) for i in ids]
    # Stable: a file added later changes no other file's ids.
    write_clip(media / "Fear" / "a.mp4", 1.0)
    assert [item.prefix for item in list_media(media).items] == ["Fear-a", "Fear-video1", "Sad-video1"]

    # Pairing by source (create_pairs.py --group-by-source) keeps each file's two segments in one split.
    segments = read_extracted_segments(out)[0]
    grouped = split_by_source(segments, seed=0, validation_fraction=0.5, max_per_source=None)
    split_of = {s.segment_id: split for split in ("train", "validation") for s in getattr(grouped, split)}
    assert sorted(split_of) == ids
    assert split_of["Fear-video1_01"] == split_of["Fear-video1_02"] != split_of["Sad-video1_01"]
    assert split_of["Sad-video1_01"] == split_of["Sad-video1_02"]


def test_hub_rows_whose_segment_ids_would_collide_are_refused_before_extraction(tmp_path: Path):
    import datasets

    from emomv_hf.features.extract import list_media

    # Two rows named a.mp4 become a-row0 / a-row1; a third file a-row1.mp4 would repeat the second's ids.
    names = ["a.mp4", "a.mp4", "a-row1.mp4"]
    videos = [{"bytes": b"not decoded here", "path": name} for name in names]
    table = datasets.Dataset.from_dict(
        {"video": videos}, features=datasets.Features({"video": datasets.Video()})
    )
    (tmp_path / "hub" / "data").mkdir(parents=True)
    table.to_parquet(str(tmp_path / "hub" / "data" / "train-00000-of-00001.parquet"))
    with pytest.raises(ValueError, match=r"hub, row 2: its segment ids would repeat those of .*hub, row 1"):
        list_media(tmp_path / "hub")
