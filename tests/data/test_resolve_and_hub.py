"""Finding/downloading the release, uploading to the Hub (mocked), and the create_pairs pipeline."""

from __future__ import annotations

import csv
import hashlib
import io
import urllib.error
import warnings
from collections import Counter
from pathlib import Path
from unittest import mock

import datasets
import h5py
import numpy as np
import pytest
from datasets import load_dataset
from huggingface_hub import constants

from emomv_hf.data import release as release_module
from emomv_hf.data.build import build_hub_dataset, build_pairs_dataset, describe_hub_folder
from emomv_hf.data.release import ReleaseFormatError, ReleaseNotFoundError, resolve_release_dir
from emomv_hf.data.schema import PAIR_FEATURES, source_video_id
from emomv_hf.hub import IGNORED_FOR_UPLOAD, push_to_hub

from .helpers import load_script

OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


@pytest.fixture
def online(monkeypatch):
    """Pretend the machine is online (the real network is never used: downloads are mocked)."""
    for flag in (*OFFLINE_FLAGS, release_module.RELEASE_DIR_ENV):
        monkeypatch.delenv(flag, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


# --------------------------------------------------------------------------------------------------------
# resolve_release_dir
# --------------------------------------------------------------------------------------------------------


def test_resolve_explicit_and_env(release_dir, monkeypatch):
    monkeypatch.delenv(release_module.RELEASE_DIR_ENV, raising=False)
    assert resolve_release_dir(release_dir) == release_dir
    assert resolve_release_dir(str(release_dir)) == release_dir
    monkeypatch.setenv(release_module.RELEASE_DIR_ENV, str(release_dir))
    assert resolve_release_dir(None) == release_dir


def test_resolve_errors_say_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.delenv(release_module.RELEASE_DIR_ENV, raising=False)
    with pytest.raises(ReleaseNotFoundError, match="does not exist.*--release-dir.*EMOMV_RELEASE_DIR"):
        resolve_release_dir(tmp_path / "nowhere")
    with pytest.raises(ReleaseNotFoundError, match="holds none of the release folders"):
        resolve_release_dir(tmp_path)
    monkeypatch.setenv(release_module.RELEASE_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ReleaseNotFoundError, match=r"\$EMOMV_RELEASE_DIR"):
        resolve_release_dir(None)


def test_resolve_offline(monkeypatch):
    monkeypatch.delenv(release_module.RELEASE_DIR_ENV, raising=False)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(ReleaseNotFoundError, match="offline. Pass --release-dir DIR.*EMOMV_RELEASE_DIR"):
        resolve_release_dir(None)


def test_resolve_downloads_when_online(release_dir, tmp_path, monkeypatch, online):
    requested = []

    def fake_fetch(url: str) -> bytes | None:
        requested.append(url)
        relative = url.split(f"/{release_module.RELEASE_REVISION}/", 1)[1]
        if "raw.githubusercontent.com" in url and relative.endswith("SlowFast_DS3_VAL_for_retrieval.h5"):
            # GitHub serves Git LFS files as pointers on the raw endpoint.
            real = (release_dir / relative).read_bytes()
            oid = hashlib.sha256(real).hexdigest()
            return (
                f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(real)}\n".encode()
            )
        return (release_dir / relative).read_bytes() if (release_dir / relative).is_file() else None

    monkeypatch.setattr(release_module, "_fetch", fake_fetch)
    monkeypatch.setattr(release_module, "default_cache_dir", lambda: tmp_path / "cache")
    root = resolve_release_dir(None)
    assert root == tmp_path / "cache"
    assert all(
        url.startswith(
            (
                "https://raw.githubusercontent.com/ivyha010/EmoMV/",
                "https://media.githubusercontent.com/media/ivyha010/EmoMV/",
            )
        )
        for url in requested
    )
    assert any("media.githubusercontent.com" in url for url in requested)
    folder = build_hub_dataset(root, "emomv-c", tmp_path / "out")
    assert describe_hub_folder(folder)["segments"] == {"validation": {"rows": 96}}
    # A second resolution finds the files in the cache and downloads only what the repository lacks.
    requested.clear()
    resolve_release_dir(None)
    assert all("SlowFast_DS1" in url or "SlowFast_DS2" in url for url in requested)


def test_resolve_download_failure(monkeypatch, tmp_path, online):
    def failing(url):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(release_module, "_fetch", failing)
    monkeypatch.setattr(release_module, "default_cache_dir", lambda: tmp_path / "cache")
    with pytest.raises(
        ReleaseNotFoundError, match="downloading https://github.com/ivyha010/EmoMV failed.*--release-dir"
    ):
        resolve_release_dir(None)


def test_a_download_never_leaves_a_pointer_or_partial_file_under_the_final_name(
    release_dir, tmp_path, monkeypatch
):
    """GitHub serves a Git LFS file as a pointer (its sha256 and size) on the raw endpoint. A download killed before
    the real content arrived, or whose content disagrees with the pointer, leaves nothing under the final name; a
    rerun fetches again what it finds there but did not verify itself (a pointer, a truncated file)."""
    lfs = "DS3_EmoMV_C/for_retrieval/SlowFast_DS3_VAL_for_retrieval.h5"
    real = (release_dir / lfs).read_bytes()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(real).hexdigest()}\n"
    media = {"content": real}

    def fake_urlopen(url, timeout):
        relative = url.split(f"/{release_module.RELEASE_REVISION}/", 1)[1]
        if relative == lfs:
            if "media.githubusercontent.com" not in url:
                return io.BytesIO(f"{pointer}size {len(real)}\n".encode())
            if isinstance(media["content"], BaseException):
                raise media["content"]
            return io.BytesIO(media["content"])
        if not (release_dir / relative).is_file():
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO((release_dir / relative).read_bytes())

    monkeypatch.setattr(release_module.urllib.request, "urlopen", fake_urlopen)
    cache = tmp_path / "cache"
    monkeypatch.setattr(release_module, "default_cache_dir", lambda: cache)
    media["content"] = KeyboardInterrupt()  # the run is killed while the real content downloads
    with pytest.raises(KeyboardInterrupt):
        release_module.download_release()
    assert not (cache / lfs).exists() and not list((cache / lfs).parent.glob(f"*{Path(lfs).name}*"))
    media["content"] = real[:-1]  # a truncated download: the pointer's sha256 and size disagree
    with pytest.raises(OSError, match=f"{lfs}: .*sha256.*Git LFS pointer"):
        release_module.download_release()
    assert not (cache / lfs).exists()

    # A pointer and a truncated file under the final names (as an earlier version could leave them) are fetched again.
    (cache / lfs).write_text(pointer)
    csv_file = "DS3_EmoMV_C/annotation/DS3_VAL_MATCH_MISMATCH_labels.csv"
    (cache / csv_file).write_bytes((release_dir / csv_file).read_bytes()[:100])
    media["content"] = real
    assert release_module.download_release() == cache
    downloaded = sorted(path.relative_to(cache) for path in cache.glob("DS*/**/*") if path.is_file())
    assert downloaded == sorted(
        path.relative_to(release_dir) for path in release_dir.glob("DS*/**/*") if path.is_file()
    )
    assert all((cache / path).read_bytes() == (release_dir / path).read_bytes() for path in downloaded)


# --------------------------------------------------------------------------------------------------------
# push_to_hub (everything up to the upload, which needs the network)
# --------------------------------------------------------------------------------------------------------


def test_push_to_hub_calls(emomv_c_dir):
    api = mock.MagicMock()
    api.upload_folder.return_value = mock.Mock(
        commit_url="https://huggingface.co/datasets/org/emomv-c/commit/1"
    )
    url = push_to_hub(emomv_c_dir, "org/emomv-c", repo_type="dataset", api=api)
    assert url.endswith("/commit/1")
    api.create_repo.assert_called_once_with("org/emomv-c", repo_type="dataset", private=False, exist_ok=True)
    kwargs = api.upload_folder.call_args.kwargs
    assert kwargs["folder_path"] == str(emomv_c_dir)
    assert kwargs["repo_id"] == "org/emomv-c" and kwargs["repo_type"] == "dataset"


def test_a_push_replaces_the_data_files_of_an_earlier_build(emomv_c_dir, hub):
    """The repository holds an earlier build's two-shard train split and a file someone added on the Hub: after the
    push, the shards are the folder's (one per split; datasets would otherwise load the old ones too), the added
    file stays."""
    hub.create_repo("org/emomv-c", repo_type="dataset")
    repository = hub.repositories["dataset", "org/emomv-c"]
    for shard in ("train-00000-of-00002.parquet", "train-00001-of-00002.parquet"):
        repository[f"data/pairs/{shard}"] = b"an earlier build"
    repository.update({"README.md": b"---\n---\nearlier", "images/banner.png": b"added on the Hub"})
    push_to_hub(emomv_c_dir, "org/emomv-c", repo_type="dataset")
    folder = {
        path.relative_to(emomv_c_dir).as_posix(): path.read_bytes()
        for path in emomv_c_dir.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }
    assert "data/pairs/train-00000-of-00001.parquet" in folder
    assert repository == {
        **folder,
        ".gitattributes": b"*.parquet filter=lfs\n",
        "images/banner.png": b"added on the Hub",
    }
    assert IGNORED_FOR_UPLOAD == ["checkpoints/*", ".*"]  # upload_folder appends to the list it is given


def test_cli_push_to_hub(release_dir, tmp_path, monkeypatch, capsys):
    api_class = mock.MagicMock()
    monkeypatch.setattr("emomv_hf.hub.HfApi", api_class)
    cli = load_script("build_emomv")
    argv = ["--release-dir", str(release_dir), "--output-dir", str(tmp_path), "--dataset", "emomv-c"]
    assert cli.main([*argv, "--push-to-hub", "my-org", "--private"]) == 0
    api = api_class.return_value
    api.create_repo.assert_called_once_with(
        "my-org/emomv-c", repo_type="dataset", private=True, exist_ok=True
    )
    assert api.upload_folder.call_args.kwargs["folder_path"] == str(tmp_path / "emomv-c")
    assert "pushed" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------------
# create_pairs: labelled segments -> pairs -> Hub folder
# --------------------------------------------------------------------------------------------------------


@pytest.fixture
def segments_csv(release_dir, tmp_path) -> Path:
    """The 96 EmoMV-C retrieval segments as a segments CSV (h5 rows; a few as .npy files)."""
    folder = release_dir / "DS3_EmoMV_C" / "for_retrieval"
    with open(folder / "DS3_VAL_labels_for_retrieval.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    with h5py.File(folder / "SlowFast_DS3_VAL_for_retrieval.h5", "r") as handle:
        video = handle["default"][()]
    path = tmp_path / "segments" / "segments.csv"
    path.parent.mkdir()
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["segment_id", "emotion", "video_features", "music_features"])
        for i, (_, segment_id, emotion, _) in enumerate(rows):
            video_ref = f"{folder / 'SlowFast_DS3_VAL_for_retrieval.h5'}#{i}"
            if i < 3:  # relative .npy paths work too
                np.save(path.parent / f"{segment_id}.npy", video[i])
                video_ref = f"{segment_id}.npy"
            writer.writerow(
                [segment_id, emotion, video_ref, f"{folder / 'VGGish_DS3_VAL_for_retrieval.h5'}#{i}"]
            )
    return path


def test_create_pairs_cli(segments_csv, release_dir, tmp_path, capsys):
    cli = load_script("create_pairs")
    out = tmp_path / "out"
    argv = ["--segments", str(segments_csv), "--output-dir", str(out), "--name", "c-repaired"]
    assert cli.main([*argv, "--group-by-source", "--seed", "7"]) == 0
    printed = capsys.readouterr().out
    assert "pairs/train" in printed and "pairs/validation" in printed
    folder = out / "c-repaired"
    data = load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    assert data["train"].features == PAIR_FEATURES
    with h5py.File(
        release_dir / "DS3_EmoMV_C/for_retrieval/SlowFast_DS3_VAL_for_retrieval.h5", "r"
    ) as handle:
        video = handle["default"][()]
    with h5py.File(release_dir / "DS3_EmoMV_C/for_retrieval/VGGish_DS3_VAL_for_retrieval.h5", "r") as handle:
        music = handle["data"][()]
    with open(segments_csv, newline="") as handle:
        row_of = {row["segment_id"]: i for i, row in enumerate(csv.DictReader(handle))}
    sources = {}
    for split, dataset in data.items():
        assert Counter(dataset["label"]) == {0: dataset.num_rows // 2, 1: dataset.num_rows // 2}
        for example in dataset.with_format("numpy"):
            assert np.array_equal(example["video_features"], video[row_of[str(example["video_segment_id"])]])
            assert np.array_equal(example["music_features"], music[row_of[str(example["music_segment_id"])]])
        sources[split] = {source_video_id(s) for s in dataset["video_segment_id"]}
    assert not sources["train"] & sources["validation"]
    segments = load_dataset(str(folder), "segments", cache_dir=str(tmp_path / "cache"))
    assert list(segments) == ["validation"]
    assert set(segments["validation"]["segment_id"]) == set(data["validation"]["video_segment_id"])
    card = (folder / "README.md").read_text()
    assert "seed 7" in card and "fewest swaps so far" in card
    # Same inputs, same seed: the same dataset.
    first = (folder / "data/pairs/train-00000-of-00001.parquet").read_bytes()
    assert cli.main([*argv, "--group-by-source", "--seed", "7"]) == 0
    assert (folder / "data/pairs/train-00000-of-00001.parquet").read_bytes() == first


def test_sources_that_the_ids_do_not_name_are_warned_about(segments_csv, tmp_path):
    """Pairs keep ids, not sources: a segments CSV whose source_id is not the source its ids name (songs cut into
    `<song>_chorus`, say) would be grouped by the wrong source in train.py's held-out and cv protocols; the build
    says so. Ids that name their source (`<source>_<number>`, EmoMV-C's) build without a word."""
    with open(segments_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))

    def write(source_of):
        with open(segments_csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*rows[0], "source_id"])
            writer.writeheader()
            writer.writerows({**row, "source_id": source_of(row["segment_id"])} for row in rows)

    write(source_video_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_pairs_dataset(segments_csv, tmp_path / "named")
    write(lambda segment_id: "one-song")
    first = rows[0]["segment_id"]
    with pytest.warns(
        UserWarning, match=rf"96 segment\(s\) have a source_id their id does not name \('{first}'"
    ):
        build_pairs_dataset(segments_csv, tmp_path / "unnamed")


def test_create_pairs_split_column_and_no_balance(segments_csv, tmp_path):
    with open(segments_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        row["split"] = "test" if i % 4 == 0 else "train"
    with open(segments_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0]])
        writer.writeheader()
        writer.writerows(rows)
    folder = build_pairs_dataset(segments_csv, tmp_path / "out", name="x", balance=False)
    counts = describe_hub_folder(folder)
    assert list(counts["pairs"]) == ["test", "train"]
    assert counts["pairs"]["train"]["rows"] == 72  # unbalanced: every segment in one pair
    assert list(counts["segments"]) == ["test"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda rows: [r.pop("emotion") for r in rows], "missing column"),
        (lambda rows: rows[4].__setitem__("emotion", "Angry"), "line 6, field emotion"),
        (
            lambda rows: rows[5].__setitem__("segment_id", rows[4]["segment_id"]),
            "line 7, field segment_id: duplicated",
        ),
        (
            lambda rows: rows[6].__setitem__("music_features", rows[6]["video_features"]),
            "line 8, field music_features",
        ),
        (lambda rows: rows[7].__setitem__("video_features", "missing.npy"), "feature file not found"),
        (
            lambda rows: rows[8].__setitem__(
                "video_features", rows[8]["video_features"].split("#")[0] + "#999"
            ),
            "no row '999'",
        ),
        (  # a digit to str.isdigit, not to int()
            lambda rows: rows[9].__setitem__(
                "video_features", rows[9]["video_features"].split("#")[0] + "#²"
            ),
            "line 11, field video_features: .* no row '²'",
        ),
    ],
)
def test_create_pairs_bad_segments_csv(segments_csv, tmp_path, edit, message, capsys):
    with open(segments_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    edit(rows)
    with open(segments_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0]])
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ReleaseFormatError, match=message):
        build_pairs_dataset(segments_csv, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert (
        load_script("create_pairs").main(
            ["--segments", str(segments_csv), "--output-dir", str(tmp_path / "o")]
        )
        == 1
    )
    assert "error:" in capsys.readouterr().err


def test_a_card_naming_the_emotions_in_another_order_is_refused(emomv_c_dir, tmp_path):
    import re
    import shutil

    from emomv_hf.data.loading import load_emomv
    from emomv_hf.emotions import EMOTIONS

    folder = tmp_path / "alphabetical"
    shutil.copytree(emomv_c_dir, folder)
    card = folder / "README.md"
    alphabetical = sorted(EMOTIONS)
    text, count = re.subn(
        r"'(\d)': (?:" + "|".join(EMOTIONS) + ")",
        lambda m: f"'{m[1]}': {alphabetical[int(m[1])]}",
        card.read_text(),
    )
    assert count == 3 * len(EMOTIONS)  # video_emotion, music_emotion (pairs) and emotion (segments)
    card.write_text(text)
    for config, column in (("pairs", "video_emotion"), ("segments", "emotion")):
        with pytest.raises(ValueError, match=rf"column '{column}' names its classes \['excit"):
            load_emomv(str(folder), config)
    assert load_emomv(str(emomv_c_dir), "segments")["validation"].num_rows == 96


def test_a_card_declaring_an_emotion_column_as_strings_is_one_line_from_train_py(
    emomv_c_dir, tmp_path, run_script
):
    """A card whose `video_emotion` is `dtype: string` (datasets casts the Parquet integers to "0", "1", ...): the
    labels are no class indices, and train.py ended in a TypeError traceback deep in the tensors."""
    import re
    import shutil

    folder = tmp_path / "strings"
    shutil.copytree(emomv_c_dir, folder)
    card = folder / "README.md"
    text, count = re.subn(
        r"(- name: video_emotion\n    dtype:)\n      class_label:\n        names:\n(          '\d': \w+\n)+",
        r"\1 string\n",
        card.read_text(),
    )
    assert count == 1
    card.write_text(text)
    arguments = ["--dataset", folder, "--output-dir", tmp_path / "out", "--max-epochs", "1", "--no-progress"]
    completed = run_script(Path(__file__).resolve().parents[2] / "examples" / "train.py", arguments)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-3000:]
    assert (
        completed.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: {folder} (config 'pairs'): column 'video_emotion' holds Value('string')")
    )


def test_a_library_whose_feature_columns_are_lists_of_any_length_reads_as_fixed_widths(emomv_c_dir, tmp_path):
    """A segments folder written with `Dataset.from_dict` from Python lists and a card without features (the
    columns are then float64 lists of any length): read as the schema's float32 widths, equal to the floats
    written; a row of another width is one error naming the column. Before, reading its features was an
    AttributeError traceback (`list_size`) in recommend.py, the Space and the matcher."""
    from emomv_hf.data.loading import load_segments

    built = load_segments(emomv_c_dir, "validation")
    rows = {
        "segment_id": built.segment_ids,
        "emotion": built.column("emotion"),
        "video_features": built.features("video")[0].tolist(),
        "music_features": built.features("music")[0].tolist(),
    }
    card = "---\nconfigs:\n- config_name: segments\n  data_files:\n  - split: validation\n"
    card += "    path: data/segments/validation-*.parquet\n---\n"
    for name, music in (("lists", rows["music_features"]), ("short", [[0.5]] + rows["music_features"][1:])):
        folder = tmp_path / name
        (folder / "data" / "segments").mkdir(parents=True)
        (folder / "README.md").write_text(card)
        table = datasets.Dataset.from_dict({**rows, "music_features": music})
        assert table.features["music_features"] == datasets.List(datasets.Value("float64"))
        table.to_parquet(str(folder / "data" / "segments" / "validation-00000-of-00001.parquet"))
    library = load_segments(tmp_path / "lists")
    for stream in ("video", "music"):
        assert np.array_equal(library.features(stream)[0], built.features(stream)[0])
    with pytest.raises(ValueError, match=r"column 'music_features': 1 to 128 values per row, not 128$"):
        load_segments(tmp_path / "short")


def test_a_class_index_beyond_the_classes_is_refused_naming_its_row(emomv_c_dir, tmp_path, capsys):
    """A folder from someone else whose Parquet holds emotion 7 under the card's five classes (datasets does not
    check the range): create_pairs.py ended in an IndexError traceback (EMOTIONS[7]), as create_dataset.py
    could on a pairs folder. load_emomv refuses it naming the split, row and field; -1 (no label) stays."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from emomv_hf.data.create import read_unlabelled_segments
    from emomv_hf.data.loading import load_emomv

    folder = tmp_path / "edited"
    shutil.copytree(emomv_c_dir, folder)
    for config, column, value in (("pairs", "video_emotion", 7), ("segments", "emotion", -2)):
        (path,) = (folder / "data" / config).glob("validation-*.parquet")
        table = pq.read_table(path)
        values = table.column(column).to_pylist()
        values[5] = value
        index = table.schema.get_field_index(column)
        pq.write_table(
            table.set_column(index, column, pa.array(values, table.schema.field(column).type)), path
        )
        with pytest.raises(ValueError) as error:
            load_emomv(str(folder), config)
        assert str(error.value).startswith(
            f"{folder} (config {config!r}): validation[5] field {column!r}: {value} is no class"
        ), error.value
    with pytest.raises(ValueError, match=r"validation\[5\] field 'video_emotion': 7 is no class"):
        read_unlabelled_segments(folder)  # create_dataset.py's reading of a pairs folder
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(folder), "--output-dir", str(tmp_path / "out")]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"error: {folder}: not a segments dataset folder") and "validation[5]" in last, (
        last
    )


def test_a_segments_folder_without_an_emotion_column_reads_as_unlabelled(emomv_c_dir, tmp_path, capsys):
    """Segments written without labels (`Dataset.from_dict` of ids and features, no `emotion` column) are what
    create_dataset.py tags; reading them was a TypeError traceback ('NoneType' object is not iterable) there and in
    create_pairs.py, which now says in one line that they cannot be paired without an emotion."""
    from emomv_hf.data.create import read_unlabelled_segments
    from emomv_hf.data.loading import load_segments

    built = load_segments(emomv_c_dir, "validation")
    folder = tmp_path / "unlabelled"
    (folder / "data" / "segments").mkdir(parents=True)
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: segments\n  data_files:\n  - split: validation\n"
        "    path: data/segments/validation-*.parquet\n---\n"
    )
    rows = {"segment_id": built.segment_ids}
    rows.update({f"{stream}_features": built.features(stream)[0].tolist() for stream in ("video", "music")})
    datasets.Dataset.from_dict(rows).to_parquet(
        str(folder / "data/segments/validation-00000-of-00001.parquet")
    )
    segments = read_unlabelled_segments(folder)
    assert segments.segment_ids == built.segment_ids and segments.given_emotions == [None] * 96
    cli = load_script("create_pairs")
    assert cli.main(["--segments", str(folder), "--output-dir", str(tmp_path / "out")]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(
        f"error: {folder}: 96 segment(s) cannot be paired: {built.segment_ids[0]} (no emotion)"
    )


def test_a_folder_named_from_the_home_folder_loads(emomv_c_dir, monkeypatch):
    """load_emomv('~/emomv-c') found the folder (its checks expand '~') but passed '~/emomv-c' itself to datasets,
    which took it for a Hub id: a ConnectionError offline, an invalid repository id online."""
    from emomv_hf.data.loading import load_emomv, load_segments

    monkeypatch.setenv("HOME", str(emomv_c_dir.parent))
    assert (
        load_emomv("~/emomv-c")["validation"].num_rows == load_emomv(str(emomv_c_dir))["validation"].num_rows
    )
    assert load_segments("~/emomv-c").segment_ids == load_segments(emomv_c_dir).segment_ids
