"""A dataset folder whose Parquet files do not fit its card gives one line naming the file and the field, not
`DatasetGenerationError` (issue 23, item 7): `data/loading.py` is the one reader, so train.py inherits it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emomv_hf.data.loading import load_emomv

REPO_ROOT = Path(__file__).resolve().parents[2]


def _rewrite_music_features(folder: Path, split: str, rows: list) -> Path:
    """Replace `music_features` of the pairs split `split` with ``rows`` (a list column, any widths)."""
    path = next((folder / "data" / "pairs").glob(f"{split}-*.parquet"))
    table = pq.read_table(path)
    column = pa.array(rows, pa.list_(pa.float32()))
    index = table.schema.get_field_index("music_features")
    pq.write_table(table.set_column(index, pa.field("music_features", column.type), column), path)
    return path


def _music_rows(folder: Path, split: str) -> list:
    path = next((folder / "data" / "pairs").glob(f"{split}-*.parquet"))
    return pq.read_table(path, columns=["music_features"]).column("music_features").to_pylist()


def test_a_127_wide_music_column_is_one_line_from_train_py(emomv_c_dir, tmp_path, run_script):
    folder = shutil.copytree(emomv_c_dir, tmp_path / "narrow")
    narrow = [np.asarray(row[:127], dtype=np.float32) for row in _music_rows(folder, "train")]
    path = _rewrite_music_features(folder, "train", narrow)
    arguments = ["--dataset", folder, "--output-dir", tmp_path / "out", "--max-epochs", "1", "--no-progress"]
    completed = run_script(REPO_ROOT / "examples" / "train.py", arguments)
    assert completed.returncode == 2, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr and "DatasetGenerationError" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {path}: field 'music_features': 127 values per row, not 128"]
    assert not (tmp_path / "out").exists()


def test_a_ragged_music_column_names_its_file_and_widths(emomv_c_dir, tmp_path):
    folder = shutil.copytree(emomv_c_dir, tmp_path / "ragged")
    rows = _music_rows(folder, "validation")
    rows[3] = rows[3][:100]
    path = _rewrite_music_features(folder, "validation", rows)
    with pytest.raises(ValueError) as caught:
        load_emomv(str(folder), "pairs")
    assert str(caught.value) == (f"{path}: field 'music_features': 100 to 128 values per row, not 128")


@pytest.mark.parametrize(
    ("split", "column", "flags"),
    [
        ("validation", "label", []),  # reported: sklearn's 'Target is multiclass' once trained
        ("train", "video_emotion", []),  # an IndexError traceback in the emotion loss
        ("validation", "music_emotion", ["--protocol", "cv"]),  # pooled into the cv folds
    ],
)
def test_an_unlabelled_pair_the_run_reads_is_one_line_before_training(
    unlabelled_copy, tmp_path, run_script, split, column, flags
):
    """datasets stores 'no label' as -1 (a Hub dataset's unlabelled split): a run refuses it at once, naming the
    split, row and field, instead of training on it as a class index or failing only when it evaluates."""
    folder = unlabelled_copy(split, column)
    arguments = ["--dataset", folder, "--output-dir", tmp_path / "out", "--max-epochs", "1", "--no-progress"]
    completed = run_script(REPO_ROOT / "examples" / "train.py", [*arguments, *flags])
    assert completed.returncode == 2, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {folder}: pairs {split}[7] has no {column} (-1): a run reads labelled pairs only"
    ]
    assert not (tmp_path / "out").exists()
