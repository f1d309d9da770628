"""examples/recommend.py on damaged inputs and its output (issue 23.7, 23.8, 26.8): a broken index, library or
model folder gives one ``error:`` line naming the file and field, exit status 1 and no traceback; indexing
shows only labelled progress bars; the help states each default once."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from safetensors.torch import load_file, save_file

pytest.importorskip("faiss")

from .test_index_freshness import SEGMENTS, load_script, write_arrow_library  # noqa: E402

QUERY = "yA9WhYnsD_4_06"


@pytest.fixture(scope="module")
def model_dir(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-model") / "retrieval"
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def recommend():
    return load_script("examples/recommend.py")


def one_error_line(recommend, capsys, argv: list[str]) -> str:
    """Run recommend.py; it must exit 1 with one ``error:`` line and no traceback. Returns that line."""
    assert recommend.main(argv) == 1
    err = capsys.readouterr().err
    # Labelled progress bars (transformers' weight loading, datasets' first read of a library) may come first.
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not re.match(r"[A-Z][\w ]*: +(\d+%\||\d+ examples)", line)
    ]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("damage", "damaged"),
    [
        ("empty", "music.faiss"),
        ("truncated", "music.faiss"),
        ("truncated", "music/data-00000-of-00001.arrow"),
    ],
)
def test_a_damaged_file_in_an_index_dir(recommend, model_dir, emomv_c_dir, tmp_path, capsys, damage, damaged):
    common = [
        "--model",
        str(model_dir),
        "--library",
        str(emomv_c_dir),
        "--index-dir",
        str(tmp_path / "index"),
    ]
    assert recommend.main([*common, "--build-index", "--no-progress"]) == 0
    path = tmp_path / "index" / damaged
    path.write_bytes(b"" if damage == "empty" else path.read_bytes()[:100])
    line = one_error_line(recommend, capsys, [*common, "--segment", QUERY])
    assert f"{damaged} changed since the index was written" in line and "--build-index" in line


def _zero_rows(library: Path) -> None:
    table = pq.read_table(library / SEGMENTS)
    pq.write_table(table.slice(0, 0), library / SEGMENTS)


def _zero_rows_without_metadata(library: Path) -> None:
    """An extraction folder whose only shard holds no rows (every file left out): datasets says `Instruction
    "train" corresponds to no data!`."""
    schema = pq.read_schema(library / SEGMENTS)
    shutil.rmtree(library / "data")
    (library / "data" / "segments").mkdir(parents=True)
    with pq.ParquetWriter(library / "data" / "segments" / "train-00000-of-00001.parquet", schema):
        pass  # no row group, as extraction writes a shard of no segments
    (library / "README.md").write_text(
        "---\nconfigs:\n- config_name: segments\n  data_files:\n  - split: train\n"
        "    path: data/segments/train-*\n---\n",
        encoding="utf-8",
    )


def _truncated(library: Path) -> None:
    data = (library / SEGMENTS).read_bytes()
    (library / SEGMENTS).write_bytes(data[: len(data) // 2])


def _truncated_arrow(library: Path) -> None:
    arrow = write_arrow_library(library, pq.read_table(library / SEGMENTS)) / "data" / "segments"
    (path,) = arrow.glob("*.arrow")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_zero_rows, r"validation-00000-of-00001\.parquet holds no rows"),
        (_zero_rows_without_metadata, r"holds no segments \(0 rows\)"),
        (_truncated, r"validation-00000-of-00001\.parquet: not a readable Parquet file"),
        (_truncated_arrow, r"validation-00000-of-00001\.arrow: not a readable Arrow file"),
    ],
)
def test_a_damaged_library(recommend, model_dir, emomv_c_dir, tmp_path, capsys, damage, expected):
    library = Path(shutil.copytree(emomv_c_dir, tmp_path / "library"))
    damage(library)
    argv = ["--model", str(model_dir), "--library", str(library), "--segment", QUERY, "--no-progress"]
    assert re.search(expected, one_error_line(recommend, capsys, argv))


def _set(field: str, value):
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        config[field] = value
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")

    return edit


def _truncate_config(folder: Path) -> None:
    text = (folder / "config.json").read_text(encoding="utf-8")
    (folder / "config.json").write_text(text[: len(text) // 2], encoding="utf-8")


def _nan_weight(folder: Path) -> None:
    weights = load_file(folder / "model.safetensors")
    weights["video_encoder.reduction.weight"].view(-1)[3] = math.nan
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_set("projection_size", "abc"), r"config\.json: Field 'projection_size' expected int, got str"),
        (_set("similarity", "euclid"), r"config\.json: Field 'similarity' expected one of .*got euclid"),
        (
            _set("video_feature_size", 100),
            r"weight .*video.* has shape \(.*2304.*\), but .*config\.json makes it",
        ),
        (_truncate_config, r"config\.json.* is not a valid JSON file"),
        (_nan_weight, r"weight video_encoder\.reduction\.weight holds NaN or infinite values"),
    ],
)
def test_a_damaged_model_folder(recommend, model_dir, emomv_c_dir, tmp_path, capsys, damage, expected):
    folder = Path(shutil.copytree(model_dir, tmp_path / "model"))
    damage(folder)
    argv = ["--model", str(folder), "--library", str(emomv_c_dir), "--segment", QUERY, "--no-progress"]
    line = one_error_line(recommend, capsys, argv)
    assert str(folder) in line and re.search(expected, line), line


def test_indexing_shows_only_labelled_progress_bars(recommend, model_dir, emomv_c_dir, tmp_path, capsys):
    argv = ["--model", str(model_dir), "--library", str(emomv_c_dir), "--index-dir", str(tmp_path / "index")]
    assert recommend.main([*argv, "--build-index"]) == 0
    out, err = capsys.readouterr()
    # Alone, --build-index says what it indexed (LibraryIndex's repr).
    assert re.fullmatch(r"LibraryIndex\('.+', music: \d+ \(exact\), video: \d+ \(exact\), at .+\)\n", out), (
        out
    )
    bars = [part.strip() for part in re.split(r"[\r\n]", err) if "|" in part and "%" in part]
    assert bars and all(re.match(r"(encoding (video|music)|Loading weights): ", bar) for bar in bars), bars
    assert "Saving the dataset" not in err


def test_the_help_states_each_default_once(recommend):
    text = " ".join(recommend.build_parser().format_help().split())

    def flag_help(flag: str, next_flag: str) -> str:
        start = text.index(flag)
        return text[start : text.index(next_flag, start)]

    index_dir = flag_help("--index-dir DIR", "--split")
    assert "Hugging Face cache" in index_dir and index_dir.count("(default") == 1
    segment = flag_help("--segment-seconds SEGMENT_SECONDS", "--device")
    assert "the length the library was extracted with" in segment and segment.count("(default") == 1
