"""A Hub dataset's ``Video`` rows holding paths (issue 24): a dataset is someone else's data, so a row's path may
only lead into the dataset's folder, or into the Hugging Face caches for a Hub id; a row leading out is refused
before anything is extracted, and a legitimate dataset's files are read where they are (and never deleted).

A local folder holding media files is listed as a media folder, so the local datasets here name their files
without a media extension (PyAV reads them by their contents)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.features.extract import extract_dataset, list_media

from .synthetic_media import assert_same_segments, write_clip

pytest.importorskip("pytorchvideo")

RANDOM = ExtractorArguments(random_init=True)


def _parquet_dataset(folder: Path, paths: list[str]) -> Path:
    """A local Hub dataset folder whose ``video`` rows hold ``paths`` and no bytes (``datasets`` gives them back
    as they are written)."""
    import datasets

    (folder / "data").mkdir(parents=True, exist_ok=True)
    schema = datasets.Features({"video": datasets.Video()}).arrow_schema
    rows = [{"video": {"bytes": None, "path": path}} for path in paths]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=schema), folder / "data" / "train-00000-of-00001.parquet"
    )
    return folder


def _clip(path: Path) -> Path:
    """A clip at ``path``, which has no media extension."""
    return write_clip(path.with_suffix(".mp4"), 1.0).rename(path)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


@pytest.mark.parametrize("kind", ["absolute path", "'..' path", "symlink inside the folder"])
def test_a_row_path_leading_out_of_the_dataset_folder_is_refused(kind: str, tmp_path: Path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    private = write_clip(tmp_path / "elsewhere" / "private.mp4", 1.0)
    hub = tmp_path / "hub"
    (hub / "videos").mkdir(parents=True)
    _clip(hub / "videos" / "ok")
    (hub / "videos" / "link").symlink_to(private)
    path = {"absolute path": str(private), "'..' path": "../elsewhere/private.mp4"}.get(kind, "videos/link")
    _parquet_dataset(hub, ["videos/ok", path])
    monkeypatch.chdir(hub)  # the code before read a relative path from here: it extracted the private file

    out = tmp_path / "features"
    shown = path if path == str(_real(private)) else f"{path} (-> {_real(private)})"
    expected = f"{hub}, row 1: the 'video' column's path {shown} is outside the dataset's folder {_real(hub)}; refused"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        extract_dataset(hub, out, RANDOM, progress=False)
    assert not out.exists() and private.exists()


def test_a_row_path_naming_a_fifo_is_refused(tmp_path: Path):
    hub = tmp_path / "hub"
    hub.mkdir()
    os.mkfifo(hub / "pipe")  # reading it would block forever
    _parquet_dataset(hub, ["pipe"])
    with pytest.raises(
        ValueError, match=r"hub, row 0: the 'video' column's path pipe .* is not a regular file"
    ):
        list_media(hub)


def test_row_paths_are_relative_to_the_dataset_folder_reached_through_a_symlink(tmp_path: Path, monkeypatch):
    hub = tmp_path / "hub"
    (hub / "videos").mkdir(parents=True)
    for name in ("a", "b"):
        _clip(hub / "videos" / name)
    link = tmp_path / "link"
    link.symlink_to(hub)
    _parquet_dataset(hub, ["videos/a", str(link / "videos" / "b")])
    monkeypatch.chdir(tmp_path)  # not the dataset's folder
    items = list_media(link).items
    assert [item.path for item in items] == [_real(hub / "videos" / "a"), _real(hub / "videos" / "b")]


def test_a_hub_dataset_reads_its_files_in_the_hugging_face_caches_and_keeps_them(
    media_dir: Path, reference: Path, tmp_path: Path, monkeypatch
):
    """A Hub id's rows name files the download put in the caches (a hub snapshot's symlinks lead to its blobs)."""
    import datasets
    import huggingface_hub

    from emomv_hf.data import loading
    from emomv_hf.emotions import EMOTIONS

    hub_cache, datasets_cache = tmp_path / "hub-cache", tmp_path / "datasets-cache"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(datasets_cache))
    repo = hub_cache / "datasets--org--videos"
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots" / "0123").mkdir(parents=True)
    shutil.copy(media_dir / "Fear" / "clip_a.mp4", repo / "blobs" / "b1ob")
    (repo / "snapshots" / "0123" / "clip_a.mp4").symlink_to("../../blobs/b1ob")
    (datasets_cache / "downloads").mkdir(parents=True)
    shutil.copy(media_dir / "relax" / "clip_b.mp4", datasets_cache / "downloads" / "clip_b.mp4")
    paths = [
        str(repo / "snapshots" / "0123" / "clip_a.mp4"),
        str(datasets_cache / "downloads" / "clip_b.mp4"),
    ]
    features = datasets.Features({"video": datasets.Video(), "emotion": datasets.ClassLabel(names=EMOTIONS)})
    hub_rows = datasets.Dataset.from_dict({"video": paths, "emotion": [1, 4]}, features=features)
    monkeypatch.setattr(loading, "load_hub_dataset", lambda *args, **kwargs: hub_rows)

    out = tmp_path / "features"
    assert extract_dataset("org/videos", out, RANDOM, files_per_shard=1, progress=False).rows == 2
    assert all(Path(path).is_file() for path in paths)
    assert_same_segments(out, reference)

    # A file outside the caches is refused.
    hub_rows = datasets.Dataset.from_dict(
        {"video": [str(media_dir / "Fear" / "clip_a.mp4")], "emotion": [1]}, features=features
    )
    caches = f"the Hugging Face caches {_real(datasets_cache)} and {_real(hub_cache)}"
    with pytest.raises(ValueError, match=f"org/videos, row 0: .* is outside {re.escape(caches)}; refused$"):
        list_media("org/videos")
