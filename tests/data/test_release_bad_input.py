"""Every malformed release input gets a clear error (file, row, field) and leaves no output folder."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from emomv_hf.data.build import build_hub_dataset
from emomv_hf.data.release import ReleaseFormatError

C = "DS3_EmoMV_C"
TRAIN_CSV = f"{C}/annotation/DS3_TRAIN_MATCH_MISMATCH_labels.csv"
VAL_CSV = f"{C}/annotation/DS3_VAL_MATCH_MISMATCH_labels.csv"
TRAIN_VGGISH = f"{C}/extracted_features/VGGish_DS3_TRAIN_MATCH_MISMATCH.h5"
VAL_VGGISH = f"{C}/extracted_features/VGGish_DS3_VAL_MATCH_MISMATCH.h5"
VAL_SLOWFAST = f"{C}/extracted_features/SlowFast_DS3_VAL_MATCH_MISMATCH.h5"
TRAIN_SLOWFAST = f"{C}/extracted_features/SlowFast_DS3_TRAIN_MATCH_MISMATCH.h5"
RETRIEVAL_CSV = f"{C}/for_retrieval/DS3_VAL_labels_for_retrieval.csv"


def edit_csv(path: Path, edit: Callable[[list[list[str]]], None]) -> None:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def edit_h5(path: Path, edit: Callable[[np.ndarray], np.ndarray], key: str | None = None) -> None:
    with h5py.File(path, "r") as handle:
        (name,) = list(handle)
        data = handle[name][()]
    with h5py.File(path, "w") as handle:
        handle.create_dataset(key or name, data=edit(data))


def _set(row: int, values: dict[int, str]):
    def edit(rows: list[list[str]]) -> None:
        for column, value in values.items():
            rows[row][column] = value

    return edit


def _nan(row: int, column: int, value: float):
    def edit(data: np.ndarray) -> np.ndarray:
        data = data.copy()
        data[row, column] = value
        return data

    return edit


def _two_datasets(path: Path) -> None:
    with h5py.File(path, "a") as handle:
        handle.create_dataset("extra", data=np.zeros((3, 128), np.float32))


def _no_dataset(path: Path) -> None:
    path.unlink()
    with h5py.File(path, "w") as handle:
        handle.create_group("empty")


# (file to corrupt, corruption, fragments the error message must contain)
CASES = {
    "csv_h5_row_count": (
        TRAIN_CSV,
        lambda p: edit_csv(p, lambda rows: rows.pop()),
        ["SlowFast_DS3_TRAIN_MATCH_MISMATCH.h5", "360 feature rows", "359 rows"],
    ),
    "wrong_feature_width": (
        VAL_VGGISH,
        lambda p: edit_h5(p, lambda d: d[:, :127]),
        ["VGGish_DS3_VAL_MATCH_MISMATCH.h5", "wrong feature width", "expected 128", "got 127"],
    ),
    "nan": (
        TRAIN_VGGISH,
        lambda p: edit_h5(p, _nan(5, 3, np.nan)),
        ["VGGish_DS3_TRAIN_MATCH_MISMATCH.h5", "row 5, column 3", "nan"],
    ),
    "inf": (
        VAL_SLOWFAST,
        lambda p: edit_h5(p, _nan(10, 2000, np.inf)),
        ["SlowFast_DS3_VAL_MATCH_MISMATCH.h5", "row 10, column 2000", "inf"],
    ),
    "emotion_name_disagrees_with_index": (
        TRAIN_CSV,
        lambda p: edit_csv(p, _set(1, {5: "3"})),
        ["DS3_TRAIN_MATCH_MISMATCH_labels.csv", "line 2", "video_label", "index 3", "'exciting'"],
    ),
    "unknown_emotion": (
        VAL_CSV,
        lambda p: edit_csv(p, _set(2, {4: "Happy"})),
        ["DS3_VAL_MATCH_MISMATCH_labels.csv", "line 3", "music_emotion", "'Happy'"],
    ),
    "duplicated_pair_id": (
        TRAIN_CSV,
        lambda p: edit_csv(p, lambda rows: rows[4].__setitem__(1, rows[3][1])),
        ["DS3_TRAIN_MATCH_MISMATCH_labels.csv", "line 5", "pair_id", "duplicated", "first on line 4"],
    ),
    "mismatched_same_emotion": (
        TRAIN_CSV,
        lambda p: edit_csv(p, _set(180, {4: "Exciting", 6: "0"})),
        ["DS3_TRAIN_MATCH_MISMATCH_labels.csv", "line 181", "music_emotion", "same emotion"],
    ),
    "mismatched_excluded_pair": (
        VAL_CSV,
        lambda p: edit_csv(p, _set(48, {3: "Fear", 5: "1", 4: "Tense", 6: "2"})),
        ["DS3_VAL_MATCH_MISMATCH_labels.csv", "line 49", "fearful with tense"],
    ),
    "matched_different_emotions": (
        VAL_CSV,
        lambda p: edit_csv(p, _set(0, {4: "Sad", 6: "3"})),
        ["DS3_VAL_MATCH_MISMATCH_labels.csv", "line 1", "match", "different emotions"],
    ),
    "wrong_field_count": (
        VAL_CSV,
        lambda p: edit_csv(p, lambda rows: rows[7].pop()),
        ["DS3_VAL_MATCH_MISMATCH_labels.csv", "line 8", "expected 7 fields"],
    ),
    "bad_match_value": (
        VAL_CSV,
        lambda p: edit_csv(p, _set(3, {2: "yes"})),
        ["DS3_VAL_MATCH_MISMATCH_labels.csv", "line 4", "field match"],
    ),
    "h5_without_dataset": (
        TRAIN_SLOWFAST,
        _no_dataset,
        ["SlowFast_DS3_TRAIN_MATCH_MISMATCH.h5", "exactly one HDF5 dataset, found 0"],
    ),
    "h5_with_several_datasets": (
        VAL_VGGISH,
        _two_datasets,
        ["VGGish_DS3_VAL_MATCH_MISMATCH.h5", "exactly one HDF5 dataset, found 2", "data, extra"],
    ),
    "retrieval_unknown_emotion": (
        RETRIEVAL_CSV,
        lambda p: edit_csv(p, _set(6, {2: "Angry"})),
        ["DS3_VAL_labels_for_retrieval.csv", "line 7", "field emotion", "'Angry'"],
    ),
    "retrieval_label_disagrees": (
        RETRIEVAL_CSV,
        lambda p: edit_csv(p, _set(0, {3: "4"})),
        ["DS3_VAL_labels_for_retrieval.csv", "line 1", "field label", "index 4"],
    ),
    "retrieval_wrong_field_count": (
        RETRIEVAL_CSV,
        lambda p: edit_csv(p, lambda rows: rows[2].append("extra")),
        [
            "DS3_VAL_labels_for_retrieval.csv",
            "line 3",
            "expected 4 fields (folder, segment_id, emotion, label)",
        ],
    ),
}


@pytest.fixture
def release_copy(release_dir, tmp_path) -> Path:
    root = tmp_path / "release"
    shutil.copytree(release_dir / C, root / C)
    return root


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, release_copy, tmp_path):
    relative, corrupt, fragments = CASES[case]
    corrupt(release_copy / relative)
    out = tmp_path / "out"
    with pytest.raises(ReleaseFormatError) as error:
        build_hub_dataset(release_copy, "emomv-c", out)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    # No half-written dataset folder and no staging leftovers.
    assert not out.exists() or list(out.iterdir()) == []


def test_failed_rebuild_keeps_previous_folder(release_copy, tmp_path):
    out = tmp_path / "out"
    folder = build_hub_dataset(release_copy, "emomv-c", out)
    before = sorted((p.relative_to(folder), p.read_bytes()) for p in folder.rglob("*") if p.is_file())
    edit_h5(release_copy / TRAIN_VGGISH, _nan(0, 0, np.nan))
    with pytest.raises(ReleaseFormatError):
        build_hub_dataset(release_copy, "emomv-c", out)
    after = sorted((p.relative_to(folder), p.read_bytes()) for p in folder.rglob("*") if p.is_file())
    assert before == after
    assert [p.name for p in out.iterdir()] == ["emomv-c"]


def test_rebuild_replaces_folder(release_copy, tmp_path):
    out = tmp_path / "out"
    folder = build_hub_dataset(release_copy, "emomv-c", out)
    (folder / "stale.txt").write_text("from an older build")
    # A file the build does not write is only deleted when asked to (see test_rebuild_keeps_user_files).
    assert build_hub_dataset(release_copy, "emomv-c", out, overwrite=True) == folder
    assert not (folder / "stale.txt").exists()
    assert [p.name for p in out.iterdir()] == ["emomv-c"]
