"""Issue 8 regressions of the dataset builders and scripts: relative release paths, degenerate pairings,
unreadable inputs, failed uploads, stale staging folders, user files in the output and file permissions."""

from __future__ import annotations

import csv
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import emomv_hf.hub
from emomv_hf.data.build import DegenerateDatasetError, build_hub_dataset, build_pairs_dataset
from emomv_hf.data.hub_folder import UnexpectedFilesError, write_parquet
from emomv_hf.data.loading import load_emomv
from emomv_hf.data.release import resolve_release_dir
from emomv_hf.io_utils import atomic_write_dir, replacing_dir

from .helpers import REPO_ROOT, load_script


def write_segments(folder: Path, emotions: list[str]) -> Path:
    """A segments CSV with one random .npy pair per segment (``s<i>``, emotion ``emotions[i]``)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, emotion in enumerate(emotions):
        np.save(folder / f"v{i}.npy", rng.random(2304, dtype=np.float32))
        np.save(folder / f"m{i}.npy", rng.random(128, dtype=np.float32))
        rows.append(
            {
                "segment_id": f"s{i}",
                "emotion": emotion,
                "video_features": f"v{i}.npy",
                "music_features": f"m{i}.npy",
            }
        )
    path = folder / "segments.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


# ---- 8.4: a relative EMOMV_RELEASE_DIR ---------------------------------------------------------------


def test_relative_release_dir_is_made_absolute(release_dir, monkeypatch):
    assert release_dir.is_absolute()  # the fixture resolves it once, too
    monkeypatch.chdir(release_dir.parent)
    monkeypatch.setenv("EMOMV_RELEASE_DIR", os.path.join(".", release_dir.name))
    resolved = resolve_release_dir(None)
    # Compared after resolving symlinks: CI lays ../shared out as a link.
    assert resolved.is_absolute() and resolved.resolve() == release_dir.resolve()
    assert resolve_release_dir(release_dir.name).resolve() == release_dir.resolve()


def test_release_fixture_is_absolute_with_a_relative_variable(tmp_path):
    relative = os.path.relpath(REPO_ROOT.parent / "shared" / "emomv-release", REPO_ROOT)
    code = "import conftest; p = conftest._release_dir(); print(p.is_absolute(), p.is_dir())"
    env = {**os.environ, "EMOMV_RELEASE_DIR": relative, "PYTHONPATH": str(REPO_ROOT / "tests")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.stdout.split() == ["True", "True"], done.stderr


# ---- 8.6: degenerate pairings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "emotions, message",
    [
        (["sad"] * 6, r"per emotion: sad 6; none exciting, fearful, tense, relaxing.*no mismatched pair"),
        (["sad", "exciting", "fearful"], r"3 segment\(s\).*no mismatched pair.*at least 2 segments"),
    ],
)
def test_degenerate_segments_are_refused_with_what_is_missing(tmp_path, emotions, message, capsys):
    segments = write_segments(tmp_path / "seg", emotions)
    with pytest.raises(DegenerateDatasetError, match=message):
        build_pairs_dataset(segments, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(segments), "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--allow-degenerate" in err and "stack" not in err


def test_no_balance_without_mismatched_pairs_needs_allow_degenerate(tmp_path, capsys):
    segments = write_segments(tmp_path / "seg", ["sad"] * 4)
    cli = load_script("create_pairs")
    argv = ["--segments", str(segments), "--output-dir", str(tmp_path / "out"), "--no-balance"]
    assert cli.main(argv) == 1
    assert "split 'train'" in capsys.readouterr().err
    assert cli.main([*argv, "--allow-degenerate"]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "no mismatched pair" in captured.err
    assert "pairs/train: 4 rows (4 matched, 0 mismatched)" in captured.out
    assert "Degenerate" in (tmp_path / "out" / "emomv-pairs" / "README.md").read_text()


# ---- 8.8: local folders, unreadable CSVs, failed uploads, staging folders, user files -------------------


@pytest.mark.parametrize("name", ["datasets/emomv-x", "./nonexistent", "a/b/c"])
def test_mistyped_local_folder_says_it_does_not_exist(tmp_path, monkeypatch, name):
    (tmp_path / "datasets" / "emomv-c").mkdir(parents=True)
    (tmp_path / "datasets" / "emomv-c" / "README.md").write_text("---\n---\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist") as raised:
        load_emomv(name)
    assert "Repo id" not in str(raised.value) and "reach" not in str(raised.value)
    if name.startswith("datasets/"):
        assert "emomv-c" in str(raised.value)


@pytest.mark.parametrize("kind", ["folder", "binary"])
def test_unreadable_segments_csv_is_one_line(tmp_path, capsys, kind):
    path = tmp_path / "segments.csv"
    if kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"segment_id,emotion\n\xff\xfe\x00\x9c\x00")
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(path), "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ")


def test_offline_push_to_hub_is_one_line(release_dir, tmp_path):
    argv = [
        sys.executable,
        str(REPO_ROOT / "dataset_scripts" / "build_emomv.py"),
        *("--release-dir", str(release_dir), "--output-dir", str(tmp_path), "--dataset", "emomv-c"),
        *("--push-to-hub", "my-org"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: cannot upload" in done.stderr and "my-org/emomv-c" in done.stderr


def test_a_killed_build_leaves_no_staging_folder_behind(release_dir, tmp_path):
    # A build killed while writing its shards (SIGKILL: no cleanup runs) leaves its staging folder...
    code = (
        "import os, signal, sys\n"
        "import pyarrow.parquet as pq\n"
        "from emomv_hf.data.build import build_hub_dataset\n"
        "pq.write_table = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
        "build_hub_dataset(sys.argv[1], 'emomv-c', sys.argv[2])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code, str(release_dir), str(tmp_path)], env=env, timeout=300)
    assert done.returncode == -9
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".emomv-c.")]
    # ... which the next build of the same target removes.
    build_hub_dataset(release_dir, "emomv-c", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["emomv-c"]


def test_a_folder_given_through_a_link_is_replaced_where_the_link_points(tmp_path):
    """``datasets/emomv-c`` a link to a folder on another disk: a rebuild replaces that folder and keeps the link.
    It replaced the link with a new folder beside it, and left the moved-aside link behind as ``.emomv-c.old-*``
    (rmtree refuses links)."""
    real = tmp_path / "disk" / "emomv-c"
    real.mkdir(parents=True)
    (real / "old.txt").write_text("old build")
    link = tmp_path / "datasets" / "emomv-c"
    link.parent.mkdir()
    link.symlink_to(real, target_is_directory=True)
    for _ in range(2):
        with replacing_dir(link) as staging:
            (staging / "new.txt").write_text("new build")
    assert link.is_symlink() and [path.name for path in real.iterdir()] == ["new.txt"]
    assert [path.name for path in link.parent.iterdir()] == ["emomv-c"]
    assert [path.name for path in real.parent.iterdir()] == ["emomv-c"]


def test_no_folder_is_replaced_while_it_holds_the_working_folder(tmp_path, monkeypatch):
    """Every writer that replaces a folder whole (a dataset, an index, the model cards) goes through replacing_dir:
    given the working folder by its absolute path, it replaced it and left the user's shell in a deleted folder."""
    out = tmp_path / "out"
    (out / "inside").mkdir(parents=True)
    (out / "notes.txt").write_text("the user's")
    for working in (out, out / "inside"):
        monkeypatch.chdir(working)
        with pytest.raises(FileExistsError, match="is the folder this runs in"), replacing_dir(out):
            pass
    assert sorted(path.name for path in out.iterdir()) == ["inside", "notes.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_rebuild_keeps_user_files_unless_overwrite(release_dir, tmp_path, capsys):
    folder = build_hub_dataset(release_dir, "emomv-c", tmp_path)
    (folder / "notes.md").write_text("mine")
    (folder / "data" / "extra.csv").write_text("mine too")
    with pytest.raises(UnexpectedFilesError, match=r"2 file\(s\).*data/extra.csv, notes.md.*--overwrite"):
        build_hub_dataset(release_dir, "emomv-c", tmp_path)
    assert (folder / "notes.md").read_text() == "mine"
    cli = load_script("build_emomv")
    argv = ["--release-dir", str(release_dir), "--output-dir", str(tmp_path), "--dataset", "emomv-c"]
    assert cli.main(argv) == 1
    assert "notes.md" in capsys.readouterr().err and (folder / "notes.md").exists()
    assert cli.main([*argv, "--overwrite"]) == 0
    assert not (folder / "notes.md").exists()


def test_a_folder_holding_only_a_readme_is_not_taken_for_a_build(release_dir, tmp_path):
    (tmp_path / "emomv-c").mkdir()
    (tmp_path / "emomv-c" / "README.md").write_text("my notes about the dataset")
    with pytest.raises(UnexpectedFilesError, match=r"1 file\(s\).*\(README.md\).*--overwrite"):
        build_hub_dataset(release_dir, "emomv-c", tmp_path)
    assert (tmp_path / "emomv-c" / "README.md").read_text() == "my notes about the dataset"
    build_hub_dataset(release_dir, "emomv-c", tmp_path, overwrite=True)
    assert (tmp_path / "emomv-c" / "README.md").read_text().startswith("---")


def test_a_folder_of_extracted_features_is_not_taken_for_a_build(release_dir, tmp_path):
    """extract_features.py writes README.md and data/segments shards, as a build does, but no pairs: a build into
    such a folder would delete the features (hours of extraction) without --overwrite."""
    from emomv_hf.data.card import make_extraction_card
    from emomv_hf.data.hub_folder import write_hub_folder
    from emomv_hf.data.schema import EXTRACTED_SEGMENT_FEATURES, schema_table

    rng = np.random.default_rng(0)
    columns = {
        "segment_id": ["clip_01"],
        "emotion": [None],
        "source": ["clip"],
        "start": [0.0],
        "end": [30.0],
    }
    columns |= {"video_features": rng.normal(size=(1, 2304)), "music_features": rng.normal(size=(1, 128))}
    table = schema_table({**columns, "media": ["/media/clip.mp4"]}, EXTRACTED_SEGMENT_FEATURES)
    card = make_extraction_card(name="emomv-c", tables={"train": table}, settings={}, media="/media")
    folder = write_hub_folder(tmp_path / "emomv-c", {"segments": {"train": table}}, card)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    with pytest.raises(
        UnexpectedFilesError, match=r"2 file\(s\).*data/segments/train-00000-of-00001.parquet"
    ):
        build_hub_dataset(release_dir, "emomv-c", tmp_path)
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


# ---- 8.9: permissions ----------------------------------------------------------------------------------


def _modes(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")]
    }


def test_saved_model_and_dataset_folders_get_umask_permissions(release_dir, tmp_path):
    from emomv_hf import EmoMVConfig, EmoMVForCorrespondence

    previous = os.umask(0o022)
    try:
        # What training's save_run does: save_pretrained into atomic_write_dir's staging folder.
        output = atomic_write_dir(tmp_path / "run", EmoMVForCorrespondence(EmoMVConfig()).save_pretrained)
        dataset = build_hub_dataset(release_dir, "emomv-c", tmp_path / "hub")
    finally:
        os.umask(previous)
    for folder in (output, dataset):
        modes = _modes(folder)
        assert "model.safetensors" in modes or "README.md" in modes
        for name, mode in modes.items():
            is_dir = (folder / name).is_dir()
            assert mode == (0o755 if is_dir else 0o644), f"{folder / name}: {oct(mode)}"


def test_same_named_and_rebuilt_folders_load_their_own_rows(emomv_c_dir, tmp_path):
    """datasets 5 caches a local folder by its name and card metadata only; load_emomv must not mix folders."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    first, second = tmp_path / "a" / "emomv-c", tmp_path / "b" / "emomv-c"
    for folder in (first, second):
        shutil.copytree(emomv_c_dir, folder)

    def rename_segments(folder, prefix):  # same rows and sizes as the card records, other contents
        (shard,) = sorted((folder / "data" / "segments").glob("validation-*.parquet"))
        table = pq.read_table(shard)
        renamed = [f"{prefix}{sid[len(prefix) :]}" for sid in table.column("segment_id").to_pylist()]
        column = table.column_names.index("segment_id")
        pq.write_table(table.set_column(column, "segment_id", pa.array(renamed)), shard)

    original = load_emomv(str(first), "segments")["validation"][0]["segment_id"]
    rename_segments(second, "B")
    assert load_emomv(str(first), "segments")["validation"][0]["segment_id"] == original
    assert load_emomv(str(second), "segments")["validation"][0]["segment_id"] == "B" + original[1:]
    rename_segments(first, "A")  # rebuilt in place
    assert load_emomv(str(first), "segments")["validation"][0]["segment_id"] == "A" + original[1:]


# ---- issue 26.5: the card of the user's own pairs describes them ----------------------------------------

AUTHORS_LICENSE_TEXT = ("ivyha010", "Copyright", "MIT", "license: mit")


def test_user_pairs_card_states_the_users_license_folder_and_counts(tmp_path, monkeypatch, capsys):
    """Acceptance of issue 26: a card made from synthetic segments carries no EmoMV licence or copyright text, and
    loads the folder the user named, as named."""
    segments = write_segments(tmp_path / "seg", ["sad", "exciting"] * 4)
    monkeypatch.chdir(tmp_path)
    cli = load_script("create_pairs")
    argv = ["--segments", str(segments), "--output-dir", "datasets", "--name", "my-emomv"]
    assert cli.main(argv) == 0
    card = (tmp_path / "datasets" / "my-emomv" / "README.md").read_text()
    for text in AUTHORS_LICENSE_TEXT:
        assert text not in card
    assert "\nlicense: other\n" in card and "Unknown: whoever built this folder stated no licence" in card
    assert 'load_dataset("datasets/my-emomv")' in card and "emomv/my-emomv" not in card
    # Its own limitations: 8 pairs in its only split, no matched pair of three emotions; none of EmoMV's.
    assert "holds 8 pairs: one pair is 12.5 points" in card
    assert "Split `train` has no matched pair of fearful, tense, relaxing." in card
    assert "labels given in `segments.csv`" in card and "Feature AttendAffectNet" not in card

    pushed = []
    monkeypatch.setattr(emomv_hf.hub, "push_to_hub", lambda folder, repo_id, **kwargs: pushed.append(repo_id))
    assert cli.main([*argv, "--license", "cc-by-4.0", "--push-to-hub", "me"]) == 0
    assert pushed == ["me/my-emomv"]
    card = (tmp_path / "datasets" / "my-emomv" / "README.md").read_text()
    assert "\nlicense: cc-by-4.0\n" in card and "`cc-by-4.0`, as stated by whoever built this folder" in card
    assert 'load_dataset("me/my-emomv")' in card  # the Hub id it is pushed to
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        cli.main([*argv, "--license", "mit\nfoo: bar"])
    assert refused.value.code == 2 and "--license must be a Hub licence id" in capsys.readouterr().err


def test_pairs_card_gives_full_sha256_and_matrices_above_their_description(tmp_path):
    segments = write_segments(tmp_path / "seg", ["sad", "exciting"] * 4)
    card = (build_pairs_dataset(segments, tmp_path / "out") / "README.md").read_text()
    digests = re.findall(r"sha256 `([^`]*)`", card)
    assert digests and all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in digests), digests
    text = " ".join(card.split())  # the sentence is wrapped
    described = text.index('the matrices of "Mismatched pairs by emotion" above are symmetric')
    assert text.index("## Mismatched pairs by emotion") < described
    assert "below is symmetric" not in text


def test_limitations_name_the_emotions_without_a_matched_pair():
    """A split whose sad segments are only in mismatched pairs has no matched pair of sad (issue 26.5)."""
    import pyarrow as pa

    from emomv_hf.data.card import _size_limitations

    table = pa.table({"label": [1, 1, 0, 0], "video_emotion": [0, 1, 3, 0], "music_emotion": [0, 1, 0, 3]})
    lines = _size_limitations({"train": table})
    assert lines[1:] == ["Split `train` has no matched pair of tense, sad, relaxing."]


def test_write_parquet_replaces_a_metadata_key_the_table_already_holds(tmp_path):
    # A shard read back from Parquet holds its keys as bytes; rewriting it must keep one key, the new value.
    write_parquet(tmp_path / "a.parquet", pa.table({"x": [1]}), {"emomv_inputs": "old"})
    write_parquet(tmp_path / "b.parquet", pq.read_table(tmp_path / "a.parquet"), {"emomv_inputs": "new"})
    assert pq.read_schema(tmp_path / "b.parquet").metadata[b"emomv_inputs"] == b"new"


def test_a_split_without_any_pair_is_refused_even_when_degenerate_splits_are_allowed(tmp_path):
    """A split whose pairing gives no pair at all would be a Parquet file without rows, which no loader reads:
    allow_degenerate writes splits lacking one kind of pair, never an empty one."""
    segments = write_segments(tmp_path / "seg", ["sad", "exciting", "fearful"])
    with pytest.raises(
        DegenerateDatasetError, match=r"split\(s\) train get no pair at all.*segments per split train 3"
    ):
        build_pairs_dataset(segments, tmp_path / "out", allow_degenerate=True)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


# ---- bug hunt: the segments CSV and the output folder ---------------------------------------------------


def _edit_segments_csv(path: Path, edit) -> None:
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    edit(rows)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_a_short_segments_csv_row_is_one_line_naming_its_line_and_field(tmp_path, capsys):
    """A row that lacks its last field (csv gives None for it) is a bad input, not an AttributeError."""
    segments = write_segments(tmp_path / "seg", ["sad", "exciting"] * 4)
    _edit_segments_csv(segments, lambda rows: rows[3].pop())  # line 4: no music_features
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(segments), "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {segments}, line 4, field music_features: empty")


@pytest.mark.parametrize("split", ["held-out", "../../escaped", "dev set"])
def test_a_split_that_is_no_split_name_is_one_line_naming_its_line(tmp_path, capsys, split):
    """The split column names shard files and the card's YAML: what datasets cannot load as a split is refused
    at its CSV line, before any pairing (not a 30-line YAML error from the card writer)."""
    segments = write_segments(tmp_path / "seg", ["sad", "exciting"] * 8)

    def add_split(rows):
        rows[0].append("split")
        for line, row in enumerate(rows[1:], start=2):
            row.append("train" if line < 10 else split)

    _edit_segments_csv(segments, add_split)
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(segments), "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {segments}, line 10, field split: {split!r}")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped-00000-of-00001.parquet").exists()


def test_pairs_never_replace_the_segments_folder_they_are_made_from(tmp_path, capsys):
    """An extract_features.py folder looks like a previous build (a README.md and shards under data/): writing the
    pairs to it would delete the extracted features, even without --overwrite."""
    from emomv_hf.data.card import make_extraction_card
    from emomv_hf.data.hub_folder import write_hub_folder
    from emomv_hf.data.schema import EXTRACTED_SEGMENT_FEATURES, schema_table

    rng = np.random.default_rng(0)
    count = 12
    table = schema_table(
        {
            "segment_id": [f"clip{i}_01" for i in range(count)],
            "emotion": [i % 2 for i in range(count)],
            "video_features": rng.normal(size=(count, 2304)).astype(np.float32),
            "music_features": rng.normal(size=(count, 128)).astype(np.float32),
            "source": [""] * count,
            "start": [0.0] * count,
            "end": [30.0] * count,
            "media": ["clip.mp4"] * count,
        },
        EXTRACTED_SEGMENT_FEATURES,
    )
    card = make_extraction_card(name="features", tables={"train": table}, settings={}, media="test")
    folder = write_hub_folder(tmp_path / "features", {"segments": {"train": table}}, card)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    cli = load_script("create_pairs")
    for output_dir in (tmp_path, Path(os.path.relpath(tmp_path))):
        for overwrite in ([], ["--overwrite"]):
            argv = [
                "--segments",
                str(folder),
                "--output-dir",
                str(output_dir),
                "--name",
                "features",
                *overwrite,
            ]
            assert cli.main(argv) == 1
            last = capsys.readouterr().err.splitlines()[-1]  # after datasets' progress bar
            assert last.startswith(f"error: {output_dir / 'features'}: is the input"), last
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


@pytest.mark.parametrize("grouped", [[], ["--group-by-source"]])
def test_a_segments_csv_without_rows_is_one_line(tmp_path, capsys, grouped):
    """A header without rows gave an IndexError traceback with --group-by-source (both splits empty)."""
    segments = write_segments(tmp_path / "seg", ["sad"])
    _edit_segments_csv(segments, lambda rows: rows.pop())
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(segments), "--output-dir", str(tmp_path / "out"), *grouped]) == 1
    assert capsys.readouterr().err == f"error: {segments}: no rows below the header\n"


@pytest.mark.parametrize("content", ["empty", "npz"])
def test_an_empty_or_npz_feature_file_is_one_line(tmp_path, capsys, content):
    """np.load raises EOFError on an empty file (a killed writer) and returns an NpzFile for an .npz archive:
    both are bad feature files, not tracebacks."""
    segments = write_segments(tmp_path / "seg", ["sad", "exciting"] * 4)
    with open(tmp_path / "seg" / "v1.npy", "wb") as handle:
        if content == "npz":
            np.savez(handle, features=np.zeros(2304, np.float32))
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(segments), "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(
        f"error: {segments}, line 3, field video_features: {tmp_path / 'seg' / 'v1.npy'}: not a"
    )
