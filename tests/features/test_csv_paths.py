"""A media CSV's ``split`` names the shard files: a split that is not a split name (``../../../escaped``) is
refused when the CSV is read, before anything is extracted, with one line naming the file, row and field
(issue 24.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .synthetic_media import write_clip
from .test_slowfast_and_extract import _run_cli

pytest.importorskip("pytorchvideo")


@pytest.mark.parametrize("split", ["../../../escaped", "a/b", "..", "dev..1", "/tmp/abs"])
def test_a_split_that_is_not_a_name_is_refused_before_extraction(tmp_path: Path, capsys, split: str):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    write_clip(work / "a.mp4", 1.5)
    table = work / "rows.csv"
    table.write_text(f"path,split\na.mp4,train\na.mp4,{split}\n", encoding="utf-8")
    before = {path for path in tmp_path.rglob("*")}
    out = work / "out" / "x"
    code = _run_cli("--media", str(table), "--output-dir", str(out), "--random-init", "--no-progress")
    err = capsys.readouterr().err
    assert code != 0
    assert (
        err.strip()
        == f"error: {table}, line 3, field split: {split!r} is not a split name (letters, digits, _ and .)"
    )
    # Nothing was written, inside the output folder or beside it.
    assert {path for path in tmp_path.rglob("*")} == before


def test_split_names_the_hub_accepts_are_kept(tmp_path: Path):
    from emomv_hf.features.extract import list_media

    table = tmp_path / "rows.csv"
    table.write_text("path,split\na.mp4,\nb.mp4,validation\nc.mp4,test.v2\nd.mp4,dev_1\n", encoding="utf-8")
    assert [item.split for item in list_media(table).items] == ["train", "validation", "test.v2", "dev_1"]
