"""The library index is never stale (issue 23.3, 23.4): keyed by the library's content and the model, checked
against its own files' checksums, and kept in the Hugging Face cache, outside the dataset folder."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("faiss")

from emomv_hf.recommendation.index import LibraryIndex, StaleIndexError, default_index_dir  # noqa: E402
from emomv_hf.recommendation.recommend import MusicRecommender, UnknownSegmentError  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
SEGMENTS = Path("data") / "segments" / "validation-00000-of-00001.parquet"


def load_script(relative: str):
    """A script of the repository as a module (its ``main(argv)`` runs it in this process); registered, so that
    its dataclasses resolve their module."""
    name = Path(relative).stem + "_script"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture
def library(emomv_c_dir, tmp_path) -> Path:
    """A copy of EmoMV-C that a test may change."""
    return Path(shutil.copytree(emomv_c_dir, tmp_path / "emomv-c"))


def replace_a_segment(library: Path) -> tuple[str, str]:
    """Delete the library's first segment and add a copy of its second under a new id: ``(deleted, added)``."""
    table = pq.read_table(library / SEGMENTS)
    deleted, second = table.column("segment_id")[0].as_py(), table.slice(1, 1)
    added = second.set_column(
        second.schema.get_field_index("segment_id"), "segment_id", pa.array([f"new_{deleted}"])
    )
    pq.write_table(pa.concat_tables([table.slice(1), added]), library / SEGMENTS)
    return deleted, f"new_{deleted}"


def write_arrow_library(library: Path, table: pa.Table) -> Path:
    """A library folder of one Arrow stream file (no Parquet: its content is hashed from the rows datasets read)."""
    shutil.rmtree(library, ignore_errors=True)
    (library / "data" / "segments").mkdir(parents=True)
    with pa.ipc.new_stream(
        str(library / "data" / "segments" / "validation-00000-of-00001.arrow"), table.schema
    ) as writer:
        writer.write_table(table)
    (library / "README.md").write_text(
        "---\nconfigs:\n- config_name: segments\n  data_files:\n  - split: validation\n"
        "    path: data/segments/validation-*\n---\n",
        encoding="utf-8",
    )
    return library


def test_an_arrow_library_is_keyed_by_its_rows(model, emomv_c_dir, tmp_path):
    table = pq.read_table(emomv_c_dir / SEGMENTS)
    library = write_arrow_library(tmp_path / "arrow-library", table)
    first = LibraryIndex.open(model, str(library), progress=False)
    assert first.info["library_rows"] == table.num_rows
    write_arrow_library(library, table.slice(1))
    with pytest.warns(UserWarning, match="not the present .*: rebuilding it"):
        fresh = LibraryIndex.open(model, str(library), progress=False)
    assert fresh.info["library_rows"] == table.num_rows - 1


def test_a_changed_library_gets_a_fresh_index_or_a_refusal(model, library, tmp_path, recwarn):
    first = LibraryIndex.open(model, str(library), progress=False)
    assert first.path == default_index_dir(str(library), model)
    deleted, added = replace_a_segment(library)

    # The default (cached) index is rebuilt, with a warning: the deleted segment is gone, the new one is there.
    with pytest.warns(UserWarning, match="rebuilding it"):
        fresh = LibraryIndex.open(model, str(library), progress=False)
    assert fresh.path == first.path and fresh.info["library_sha256"] != first.info["library_sha256"]
    recommender = MusicRecommender(model, fresh)
    ranked = recommender.recommend(segment=added, per="segment", top_k=len(fresh.streams["music"]))
    assert deleted not in {item.segment_id for item in ranked.items}
    with pytest.raises(UnknownSegmentError, match=deleted):
        recommender.recommend(segment=deleted)

    # An --index-dir the user named is refused, not rebuilt, until asked.
    named = tmp_path / "named-index"
    LibraryIndex.open(model, str(library), index_dir=named, progress=False)
    replace_a_segment(library)
    with pytest.raises(StaleIndexError, match="not the present .*--build-index"):
        LibraryIndex.open(model, str(library), index_dir=named)
    rebuilt = LibraryIndex.open(model, str(library), index_dir=named, rebuild=True, progress=False)
    assert rebuilt.info["library_rows"] == fresh.info["library_rows"]


def test_swapped_or_truncated_index_files_are_detected(model, emomv_c_dir, tmp_path):
    named = tmp_path / "index"
    built = LibraryIndex.open(model, str(emomv_c_dir), index_dir=named, progress=False)
    query = built.streams["video"].entries["segment_id"][0]
    expected = MusicRecommender(model, built).recommend(segment=query).to_dict()
    # EmoMV-C's two streams have as many segments of the same dimension: swapped files are the same size.
    video, music = named / "video.faiss", named / "music.faiss"
    assert video.stat().st_size == music.stat().st_size
    video.rename(tmp_path / "swap")
    music.rename(video)
    (tmp_path / "swap").rename(music)
    with pytest.raises(StaleIndexError, match=r"music\.faiss, video\.faiss changed"):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=named)

    # In the cache, the same damage is repaired: the index is rebuilt and ranks as before.
    cached = LibraryIndex.open(model, str(emomv_c_dir), progress=False)
    cached_video = cached.path / "video.faiss"
    cached_video.write_bytes(cached_video.read_bytes()[:100])
    with pytest.warns(UserWarning, match=r"video\.faiss changed .*: rebuilding it"):
        repaired = LibraryIndex.open(model, str(emomv_c_dir), progress=False)
    assert MusicRecommender(model, repaired).recommend(segment=query).to_dict() == expected


def test_a_failed_rebuild_keeps_the_previous_index(model, emomv_c_dir, tmp_path, monkeypatch):
    """The index is written into a staging folder that replaces the old one only once it is complete."""
    import emomv_hf.recommendation.index as index_module

    named = tmp_path / "index"
    built = LibraryIndex.open(model, str(emomv_c_dir), index_dir=named, progress=False)
    written = (named / "index.json").stat().st_mtime_ns

    def killed(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "index_files_sha256", killed)
    with pytest.raises(KeyboardInterrupt):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=named, rebuild=True, progress=False)
    monkeypatch.undo()
    assert [path.name for path in tmp_path.iterdir()] == ["index"]  # no staging folder left
    assert (named / "index.json").stat().st_mtime_ns == written
    assert LibraryIndex.open(model, str(emomv_c_dir), index_dir=named).info == built.info


def test_an_index_of_another_format_is_stale(model, emomv_c_dir, tmp_path):
    named = tmp_path / "index"
    LibraryIndex.open(model, str(emomv_c_dir), index_dir=named, progress=False)
    info = json.loads((named / "index.json").read_text())
    (named / "index.json").write_text(json.dumps({**info, "format_version": 2}))  # each segment its own track
    with pytest.raises(StaleIndexError, match="index format 2, this version reads 3"):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=named)


def test_the_index_stays_out_of_the_dataset_folder(model, release_dir, tmp_path, capsys):
    """The new-user replay of issue 23.4: build EmoMV-C, train, recommend (the index is written), build again
    into the same --output-dir: the build must not refuse the folder. The pipeline and the Space open the index
    the command line wrote."""
    from huggingface_hub import constants
    from transformers import pipeline

    build = load_script("dataset_scripts/build_emomv.py")
    recommend = load_script("examples/recommend.py")
    datasets_dir, model_dir = tmp_path / "datasets", tmp_path / "outputs" / "retrieval"
    build_args = [
        "--release-dir",
        str(release_dir),
        "--dataset",
        "emomv-c",
        "--output-dir",
        str(datasets_dir),
    ]
    assert build.main(build_args) == 0
    model.save_pretrained(model_dir)
    library = datasets_dir / "emomv-c"
    common = ["--model", str(model_dir), "--library", str(library), "--no-progress"]
    assert recommend.main([*common, "--segment", "yA9WhYnsD_4_06", "--top-k", "3"]) == 0
    capsys.readouterr()
    assert recommend.main([*common, "--build-index", "--json"]) == 0
    index_dir = Path(json.loads(capsys.readouterr().out)["index_dir"])
    assert index_dir.is_relative_to(Path(constants.HF_HOME) / "emomv_hf" / "retrieval-index")
    assert sorted(path.name for path in library.iterdir()) == ["README.md", "data"]

    assert build.main(build_args) == 0, capsys.readouterr().err

    finder = pipeline("music-video-retrieval", model=str(model_dir), library=str(library), progress=False)
    assert finder.recommender.index.path == index_dir
    app = load_script("examples/space/app.py")
    space = app.load_space(app.SpaceArguments(retrieval_model=str(model_dir), library=str(library)))
    assert space.recommender.index.path == index_dir


@pytest.mark.parametrize("rebuild", [False, True])
def test_an_index_dir_holding_other_files_is_refused_not_replaced(model, emomv_c_dir, tmp_path, rebuild):
    """An --index-dir that names a folder of the user's (their library, a home folder) was replaced by the index,
    deleting every file in it; it is refused in one line, and an empty folder is used."""
    folder = tmp_path / "my folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"my folder: not empty and not an index; .*--index-dir"):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=folder, rebuild=rebuild, progress=False)
    assert [path.name for path in folder.rglob("*")] == ["sub", "notes.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["my folder"]  # no staging folder left
    (folder / "sub" / "notes.txt").unlink()
    (folder / "sub").rmdir()
    built = LibraryIndex.open(model, str(emomv_c_dir), index_dir=folder, rebuild=rebuild, progress=False)
    assert (built.path / "index.json").is_file()


def test_a_folder_with_an_index_json_of_its_own_is_not_taken_for_an_index(model, emomv_c_dir, tmp_path):
    """A folder of the user's that holds a file named index.json (a web app's, a notebook project's) passed for an
    index, so --build-index (which the refusal of its record suggests) replaced it, deleting everything in it."""
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "index.json").write_text('{"name": "my app"}', encoding="utf-8")
    (folder / "src" / "main.js").write_text("keep me", encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"index\.json: not the record of an index"):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=folder, progress=False)
    with pytest.raises(FileExistsError, match=r"project: not empty and not an index; .*--index-dir"):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=folder, rebuild=True, progress=False)
    assert sorted(path.name for path in folder.rglob("*")) == ["index.json", "main.js", "src"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["project"]  # no staging folder left


def test_an_index_of_another_type_is_stale(model, emomv_c_dir, tmp_path):
    """The index type asked for (`exact`, `hnsw`, or `auto`: exact at this size) keys the index: an HNSW index was
    reused for `index_type="exact"`, so the exact search asked for silently ranked approximately."""
    hnsw = LibraryIndex.open(model, str(emomv_c_dir), index_type="hnsw", progress=False)
    with pytest.warns(
        UserWarning,
        match=r"its music index is hnsw, not that of index type exact: rebuilding",
    ):
        exact = LibraryIndex.open(model, str(emomv_c_dir), index_type="exact", progress=False)
    assert exact.path == hnsw.path and {index.index_type for index in exact.streams.values()} == {"exact"}
    assert LibraryIndex.open(model, str(emomv_c_dir), progress=False).info == exact.info  # auto: exact here

    named = tmp_path / "index"
    LibraryIndex.open(model, str(emomv_c_dir), index_dir=named, progress=False)
    with pytest.raises(
        StaleIndexError,
        match=r"its music index is exact, not that of index type hnsw.*--build-index",
    ):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=named, index_type="hnsw")


@pytest.mark.parametrize("record", ["", "[]", '{"format_version": 2}'])
def test_a_damaged_index_record_is_stale(model, emomv_c_dir, tmp_path, record):
    """An index.json that is not an index's record (damaged, or hand-edited in an index from someone else) failed
    with a bare JSON error or a KeyError traceback, and a cached one was never repaired."""
    cached = LibraryIndex.open(model, str(emomv_c_dir), progress=False)
    (cached.path / "index.json").write_text(record, encoding="utf-8")
    with pytest.warns(UserWarning, match=r"index\.json: not the record of an index .*: rebuilding it"):
        repaired = LibraryIndex.open(model, str(emomv_c_dir), progress=False)
    assert repaired.info["files"] == cached.info["files"]

    named = tmp_path / "index"
    LibraryIndex.open(model, str(emomv_c_dir), index_dir=named, progress=False)
    (named / "index.json").write_text(record, encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"index\.json: not the record of an index .*--build-index"):
        LibraryIndex.open(model, str(emomv_c_dir), index_dir=named)


def test_a_library_card_that_changes_its_rows_gets_a_fresh_index(model, library):
    """A local library's content was keyed by its Parquet files alone, but its README's configs say which of them
    are its segments: a card that adds files already there to a split kept the index of the old rows."""
    shard = library / SEGMENTS
    table = pq.read_table(shard)
    more = pa.array([f"more_{row}" for row in range(10)])  # segment ids are unique in a library
    pq.write_table(table.slice(0, 10).set_column(0, "segment_id", more), shard.with_name("more.parquet"))

    def write_card(files: str) -> None:
        card = f"---\nconfigs:\n- config_name: segments\n  data_files:\n  - split: validation\n    path: {files}\n---\n"
        (library / "README.md").write_text(card, encoding="utf-8")

    write_card("data/segments/validation-*")
    first = LibraryIndex.open(model, str(library), progress=False)
    assert first.info["library_rows"] == table.num_rows
    write_card("data/segments/*.parquet")
    with pytest.warns(UserWarning, match="rebuilding it"):
        fresh = LibraryIndex.open(model, str(library), progress=False)
    assert fresh.info["library_rows"] == table.num_rows + 10
