"""create_dataset: tag, filter, split and pair unlabelled segments (paper sections 3.2-3.3), end to end."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from emomv_hf import EmoMVForEmotionTagging, EmoMVTaggingConfig
from emomv_hf.data.build import DegenerateDatasetError, read_extracted_segments
from emomv_hf.data.card import make_extraction_card
from emomv_hf.data.create import TAGS_FILE, create_dataset, read_unlabelled_segments
from emomv_hf.data.hub_folder import write_hub_folder, write_parquet
from emomv_hf.data.loading import load_segments
from emomv_hf.data.release import ReleaseFormatError
from emomv_hf.data.schema import (
    EXTRACTED_SEGMENT_FEATURES,
    PAIR_SEPARATOR,
    schema_table,
    segments_from_pairs,
    source_video_id,
)
from emomv_hf.emotions import EMOTIONS, is_allowed_mismatch

from .helpers import load_script

REPO_ROOT = Path(__file__).resolve().parents[2]
NUM_SOURCES, SEGMENTS_PER_SOURCE = 40, 3
NEUTRAL = len(EMOTIONS)


def _synthetic_segments(seed: int = 0):
    """Segments of 40 sources x 3, as extract_features.py writes them: class-mean features plus noise. Source k
    has class k mod 6 (5 = neutral); every 7th segment has the music of another class (its tags disagree) and
    segments 0 and 1 of source 39 have no audio stream."""
    rng = np.random.default_rng(seed)
    video_means = rng.normal(0, 1, (6, 2304)).astype(np.float32)
    music_means = rng.normal(0, 1, (6, 128)).astype(np.float32)
    rows = []
    for source in range(NUM_SOURCES):
        for number in range(SEGMENTS_PER_SOURCE):
            index = len(rows)
            label = source % 6
            music_label = (label + 2) % 5 if index % 7 == 3 else label
            video = video_means[label] + 0.3 * rng.normal(0, 1, 2304).astype(np.float32)
            music = music_means[music_label] + 0.3 * rng.normal(0, 1, 128).astype(np.float32)
            no_audio = source == NUM_SOURCES - 1 and number < 2
            rows.append(
                (f"src{source}_{number:02d}", f"src{source}", label, video, None if no_audio else music)
            )
    return rows


def _segments_table(rows, emotions: list | None = None):
    """Extracted segments of ``(segment_id, source, _, video, music)`` rows, unlabelled unless ``emotions``."""
    return schema_table(
        {
            "segment_id": [row[0] for row in rows],
            "emotion": emotions or [None] * len(rows),
            "video_features": [row[3] for row in rows],
            "music_features": [row[4] for row in rows],
            "source": [row[1] for row in rows],
            "start": [0.0] * len(rows),
            "end": [30.0] * len(rows),
            "media": [f"{row[1]}.mp4" for row in rows],
        },
        EXTRACTED_SEGMENT_FEATURES,
    )


def _write_extracted(folder: Path, rows) -> Path:
    table = _segments_table(rows)
    card = make_extraction_card(name=folder.name, tables={"train": table}, settings={}, media="test")
    return write_hub_folder(folder, {"segments": {"train": table}}, card)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    rows = _synthetic_segments()
    folder = _write_extracted(tmp_path_factory.mktemp("extracted") / "features", rows)
    return folder, rows


@pytest.fixture(scope="module")
def tagger(synthetic):
    """A six-class tagger trained for a few steps on the synthetic segments (their true classes)."""
    _, rows = synthetic
    usable = [row for row in rows if row[4] is not None]
    video = torch.from_numpy(np.stack([row[3] for row in usable]))
    music = torch.from_numpy(np.stack([row[4] for row in usable]))
    labels = torch.tensor([row[2] for row in usable])
    torch.manual_seed(0)
    model = EmoMVForEmotionTagging(
        EmoMVTaggingConfig(neutral_class=True, hidden_size=32, intermediate_size=64)
    )
    model.fit_standardization(video_features=video, music_features=music)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(25):
        model(video_features=video, music_features=music, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


def _check_pairing_invariants(pairs: datasets.Dataset, tag_of: dict[str, int]) -> None:
    as_video, as_music = Counter(pairs["video_segment_id"]), Counter(pairs["music_segment_id"])
    assert max(as_video.values()) == 1 and max(as_music.values()) == 1
    matched = mismatched = 0
    matrix = np.zeros((5, 5), dtype=int)
    for row in pairs:
        video, music = row["video_segment_id"], row["music_segment_id"]
        assert row["video_emotion"] == tag_of[video] and row["music_emotion"] == tag_of[music]
        if row["label"] == 1:
            matched += 1
            assert video == music == row["pair_id"]
        else:
            mismatched += 1
            assert row["pair_id"] == f"{video}{PAIR_SEPARATOR}{music}"
            assert is_allowed_mismatch(row["video_emotion"], row["music_emotion"])
            matrix[row["video_emotion"], row["music_emotion"]] += 1
    assert matched == mismatched > 0
    assert (matrix == matrix.T).all()  # every swap gives two mismatched pairs


def test_end_to_end_on_synthetic_segments(synthetic, tagger, tmp_path):
    folder, rows = synthetic
    out = tmp_path / "new-dataset"
    summary = create_dataset(folder, tagger, out, max_segments_per_source=2, seed=0)

    # Every stage's counts add up to the input, and the card shows them.
    stages = summary.stages
    assert stages[0].kept == NUM_SOURCES * SEGMENTS_PER_SOURCE
    assert stages[1].dropped == {"without an audio stream": 2}
    for before, after in zip(stages, stages[1:], strict=False):
        assert after.kept + sum(after.dropped.values()) == before.kept, after
        if after.per_class is not None:
            assert sum(after.per_class.values()) == after.kept
    assert stages[2].dropped and stages[3].dropped["tagged neutral"] > 0 and stages[4].dropped
    final = sum(sum(counts.values()) for counts in summary.splits.values())
    assert final == stages[-1].kept
    assert summary.kept_fraction == pytest.approx(final / stages[0].kept)
    card = (out / "README.md").read_text()
    for stage in stages:
        assert re.search(rf"\| {re.escape(stage.stage)} \| {stage.kept} \|", card), stage
    assert "## How the segments were labelled" in card

    # The folder loads with load_dataset, both configs; the pairs keep every pairing invariant.
    pairs = datasets.load_dataset(str(out))
    segments = datasets.load_dataset(str(out), "segments")
    assert sorted(pairs) == ["train", "validation"] and list(segments) == ["validation"]
    source_of = {row[0]: row[1] for row in rows}
    tags = pq.read_table(tmp_path / "new-dataset.work" / TAGS_FILE).to_pydict()
    tag_of = dict(zip(tags["segment_id"], tags["joint"], strict=True))
    split_sources = {}
    for split, dataset in pairs.items():
        ids = set(dataset["video_segment_id"]) | set(dataset["music_segment_id"])
        _check_pairing_invariants(dataset, tag_of)  # pair emotions are the tagger's agreed tags
        assert all(
            tags["video"][k] == tags["music"][k] == tags["joint"][k]
            for k in range(len(tag_of))
            if tags["segment_id"][k] in ids
        )
        assert len(summary.pairs[split].pairs) == len(dataset)
        assert max(Counter(source_of[i] for i in ids).values()) <= 2  # the per-source cap
        assert all(tag_of[i] != NEUTRAL for i in ids)
        split_sources[split] = {source_of[i] for i in ids}
    assert split_sources["train"].isdisjoint(split_sources["validation"])  # no source crosses splits
    assert set(segments["validation"]["segment_id"]) <= set(pairs["validation"]["video_segment_id"])
    first = {path.name: path.read_bytes() for path in sorted(out.rglob("*.parquet"))}

    # A rerun resumes: the tags are reused and the output is the same.
    again = create_dataset(folder, tagger, out, max_segments_per_source=2, seed=0)
    assert again.tags_reused and not summary.tags_reused
    assert (tmp_path / "new-dataset.work" / TAGS_FILE).is_file()
    assert {path.name: path.read_bytes() for path in sorted(out.rglob("*.parquet"))} == first


def test_bad_inputs_are_named(synthetic, tagger, tmp_path):
    folder, _ = synthetic
    with pytest.raises(ReleaseFormatError, match="neither an EmoMV dataset folder"):
        read_unlabelled_segments(tmp_path)
    video_only = EmoMVForEmotionTagging(
        EmoMVTaggingConfig(stream_names=["video"], stream_feature_sizes=[2304])
    )
    with pytest.raises(ValueError, match="the tagger's streams are"):
        create_dataset(folder, video_only, tmp_path / "out")
    with pytest.raises(ValueError, match="not an emotion tagger"):
        create_dataset(folder, torch.nn.Linear(2, 2), tmp_path / "out")


def test_the_output_never_replaces_the_segments_folder_it_is_made_from(synthetic, tagger, tmp_path):
    """The extracted folder looks like a previous build: writing the dataset there would delete its features."""
    import shutil

    folder = shutil.copytree(synthetic[0], tmp_path / "features")
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    with pytest.raises(FileExistsError, match="is the input"):
        create_dataset(folder, tagger, folder, overwrite=True)
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_a_split_without_pairs_is_refused_with_the_counts_of_every_filter(synthetic, tagger, tmp_path):
    """Sources of one emotion and neutral ones: the neutral filter leaves one emotion per split, which pairs into
    nothing; the refusal names the split first, then each filter's counts, which show the one that emptied it."""
    _, rows = synthetic
    folder = _write_extracted(tmp_path / "features", [row for row in rows if row[2] in (0, NEUTRAL)])
    with pytest.raises(DegenerateDatasetError) as refused:
        create_dataset(folder, tagger, tmp_path / "out", allow_degenerate=True)
    message = str(refused.value)
    assert message.startswith(f"{folder}: split(s) train, validation get no pair at all")
    assert re.search(
        r"\(filters: input: kept 39 \(none dropped\); .*; not neutral: kept \d+ \(\d+ tagged neutral\)",
        message,
    )
    assert not (tmp_path / "out").exists()


def test_script_prints_every_stage(synthetic, tagger, tmp_path, capsys):
    main = load_script("create_dataset").main
    folder, _ = synthetic
    tagger.save_pretrained(tmp_path / "tagger")
    out = tmp_path / "created"
    argv = ["--media", str(folder), "--tagger", str(tmp_path / "tagger"), "--output-dir", str(out)]
    assert main([*argv, "--license", "cc0-1.0"]) == 0
    assert "\nlicense: cc0-1.0\n" in (out / "README.md").read_text()
    printed = capsys.readouterr().out
    for line in (
        "input: kept 120",
        "both streams: kept 118 (2 without an audio stream)",
        "three predictions agree",
        "not neutral",
        "pairs/train",
    ):
        assert line in printed
    assert (
        main(["--media", str(folder), "--tagger", str(tmp_path / "missing"), "--output-dir", str(out)]) == 1
    )
    assert "model folder" in capsys.readouterr().err


def test_an_emomv_folder_gives_the_segments_of_its_pairs(emomv_c_dir):
    """The segments of each pairs split (segments_from_pairs), splits in order, both streams present, their
    labels as the given emotions and sources from the ids."""
    segments = read_unlabelled_segments(emomv_c_dir)
    pairs = datasets.load_dataset(str(emomv_c_dir))
    expected = [
        segments_from_pairs(pairs[split]).with_format("numpy")[:] for split in ("train", "validation")
    ]
    assert segments.segment_ids == [str(i) for rows in expected for i in rows["segment_id"]]
    assert segments.given_emotions == [int(e) for rows in expected for e in rows["emotion"]]
    assert segments.sources == [source_video_id(i) for i in segments.segment_ids]
    np.testing.assert_array_equal(
        segments.video, np.concatenate([rows["video_features"] for rows in expected])
    )
    np.testing.assert_array_equal(
        segments.music, np.concatenate([rows["music_features"] for rows in expected])
    )
    assert segments.video.dtype == segments.music.dtype == np.float32
    assert segments.has_video.all() and segments.has_music.all()
    assert "(splits train, validation;" in segments.description


def test_an_emomv_folder_whose_splits_share_a_segment_is_refused_naming_both_rows(emomv_c_dir, tmp_path):
    """The segments of an EmoMV folder's pairs are tagged by id: a segment in the pairs of two splits (its
    validation pairs here are train's) is refused naming the folder and both rows, as in a segments folder."""
    import shutil

    folder = shutil.copytree(emomv_c_dir, tmp_path / "shared-segments")
    (validation,) = folder.glob("data/pairs/validation-*.parquet")
    (train,) = folder.glob("data/pairs/train-*.parquet")
    write_parquet(validation, pq.read_table(train).slice(0, 96))  # as many rows as the card says
    with pytest.raises(
        ValueError,
        match=rf"^{re.escape(str(folder))}: segment id '.+' occurs twice, as train\[\d+\] and validation\[\d+\]$",
    ):
        read_unlabelled_segments(folder)


def test_load_segments_reads_every_split_with_absent_streams(tmp_path):
    """The one segments reader: splits in order, features as float32 rows, zeros and False where a stream is null."""
    rng = np.random.default_rng(0)
    video = rng.normal(size=(3, 2304)).astype(np.float32)
    music = rng.normal(size=(3, 128)).astype(np.float32)

    def table(rows):
        return schema_table(
            {
                "segment_id": [f"s{row}" for row in rows],
                "emotion": [row % 5 if row != 1 else None for row in rows],
                "video_features": [video[row] if row != 2 else None for row in rows],
                "music_features": [music[row] if row != 1 else None for row in rows],
                "source": ["src"] * len(rows),
                "start": [0.0] * len(rows),
                "end": [30.0] * len(rows),
                "media": ["src.mp4"] * len(rows),
            },
            EXTRACTED_SEGMENT_FEATURES,
        )

    tables = {"train": table([0, 1]), "validation": table([2])}
    card = make_extraction_card(name="features", tables=tables, settings={}, media="test")
    folder = write_hub_folder(tmp_path / "features", {"segments": tables}, card)
    segments = load_segments(folder)
    assert segments.segment_ids == ["s0", "s1", "s2"]
    assert segments.splits == ["train", "validation"]
    assert segments.split_of_row == ["train", "train", "validation"]
    assert segments.column("emotion") == [0, None, 2]
    features, present = segments.features("video")
    assert features.dtype == np.float32 and present.tolist() == [True, True, False]
    np.testing.assert_array_equal(features, np.stack([video[0], video[1], np.zeros(2304, np.float32)]))
    features, present = segments.features("music")
    assert present.tolist() == [True, False, True]
    np.testing.assert_array_equal(features, np.stack([music[0], np.zeros(128, np.float32), music[2]]))
    assert load_segments(folder, "validation").segment_ids == ["s2"]
    with pytest.raises(ValueError, match=r"features: no segments split 'test' \(splits: train, validation\)"):
        load_segments(folder, "test")
    with pytest.raises(
        ReleaseFormatError,
        match=r"2 segment\(s\) cannot be paired: s1 \(no emotion, music_features\), s2 \(no video_features\)",
    ):
        read_extracted_segments(folder)


def test_pairing_reads_an_extracted_folder_with_its_splits_and_sources(tmp_path):
    rng = np.random.default_rng(0)

    def table(ids):
        return schema_table(
            {
                "segment_id": ids,
                "emotion": [index % 5 for index in range(len(ids))],
                "video_features": rng.normal(size=(len(ids), 2304)).astype(np.float32),
                "music_features": rng.normal(size=(len(ids), 128)).astype(np.float32),
                "source": ["film", *[""] * (len(ids) - 1)],
                "start": [0.0] * len(ids),
                "end": [30.0] * len(ids),
                "media": ["m.mp4"] * len(ids),
            },
            EXTRACTED_SEGMENT_FEATURES,
        )

    tables = {"train": table(["a_01", "a_02"]), "validation": table(["b_01"])}
    card = make_extraction_card(name="features", tables=tables, settings={}, media="test")
    folder = write_hub_folder(tmp_path / "two", {"segments": tables}, card)
    segments, splits, video, music = read_extracted_segments(folder)
    assert [(s.segment_id, s.emotion, s.source) for s in segments] == [
        ("a_01", "exciting", "film"),
        ("a_02", "fearful", "a"),
        ("b_01", "exciting", "film"),
    ]
    assert splits == {"a_01": "train", "a_02": "train", "b_01": "validation"}
    np.testing.assert_array_equal(video["a_02"], tables["train"]["video_features"][1].values.to_numpy())
    assert music["b_01"].shape == (128,)
    train = {"train": tables["train"]}
    card = make_extraction_card(name="features", tables=train, settings={}, media="test")
    only_train = write_hub_folder(tmp_path / "one", {"segments": train}, card)
    assert read_extracted_segments(only_train)[1] == {}


def test_card_of_a_created_dataset_is_about_the_users_data(synthetic, tagger, tmp_path, monkeypatch):
    """Acceptance of issue 26: a dataset made from synthetic segments carries no EmoMV licence or copyright text;
    it loads from the folder the user gave, names its tagger by its full SHA-256 and lists its own limitations."""
    folder, _ = synthetic
    monkeypatch.chdir(tmp_path)
    create_dataset(folder, tagger, Path("datasets/my-emomv"), max_segments_per_source=2, seed=0)
    card = (tmp_path / "datasets" / "my-emomv" / "README.md").read_text()
    for text in ("ivyha010", "Copyright", "MIT", "license: mit"):
        assert text not in card
    assert "\nlicense: other\n" in card
    assert 'load_dataset("datasets/my-emomv")' in card and "emomv/my-emomv" not in card
    assert re.search(r"sha256 of its configuration and weights `[0-9a-f]{64}`", card)
    assert "**predicted** by the tagger `EmoMVForEmotionTagging`" in card
    assert re.search(r"The smallest split, `validation`, holds \d+ pairs", card)
    assert "EmoMV-C" not in card and "96 pairs" not in card

    create_dataset(folder, tagger, tmp_path / "licensed", license="cc-by-nc-4.0", repo_id="me/licensed")
    card = (tmp_path / "licensed" / "README.md").read_text()
    assert "\nlicense: cc-by-nc-4.0\n" in card and 'load_dataset("me/licensed")' in card


def test_script_log_has_no_escape_codes_under_an_open_bar(synthetic, tagger, tmp_path, capsys):
    """Issue 26.8: a bar opened while another is open (extraction's, a caller's) is drawn one line down, with
    cursor-up codes ("\\x1b[A") that a log shows raw; where stderr is not a terminal the libraries' bars (the
    tagger's "Loading weights", datasets' "Generating ... split") stay quiet."""
    from tqdm import tqdm

    script = load_script("create_dataset")
    folder, _ = synthetic
    tagger.save_pretrained(tmp_path / "tagger")
    argv = [
        "--media",
        str(folder),
        "--tagger",
        str(tmp_path / "tagger"),
        "--output-dir",
        str(tmp_path / "out"),
    ]
    with tqdm(total=1, desc="caller", file=sys.stderr):
        assert script.main(argv) == 0
    captured = capsys.readouterr()
    assert "\x1b[" not in captured.err and "\x1b[" not in captured.out
    assert "Loading weights" not in captured.err and "Generating" not in captured.err
    assert "pairs/train" in captured.out


def test_card_without_a_per_source_cap_says_so(synthetic, tagger, tmp_path):
    """max_segments_per_source=None (--max-segments-per-source 0) is no cap: the card said "at most None"."""
    card = (
        create_dataset(synthetic[0], tagger, tmp_path / "out", max_segments_per_source=None).folder
        / "README.md"
    )
    text = " ".join(card.read_text().split())
    assert "None" not in text
    assert "agree and are not neutral; no per-source cap was applied, and the sources were split" in text
    assert "Options: no cap per source, validation fraction 0.2" in text


def test_a_segment_id_in_two_splits_is_one_line_naming_the_folder_and_both_rows(
    synthetic, tagger, tmp_path, capsys
):
    """A segments folder from elsewhere may repeat an id in another split: create_pairs.py and create_dataset.py
    refuse it in one line that names the folder and both places of the id (the error named neither)."""
    _, rows = synthetic
    validation = [rows[6], (rows[2][0], *rows[7][1:]), rows[8]]  # row 1 repeats train's row 2

    def table(rows):
        return _segments_table(rows, [index % 5 for index in range(len(rows))])

    tables = {"train": table(rows[:6]), "validation": table(validation)}
    card = make_extraction_card(name="features", tables=tables, settings={}, media="test")
    folder = write_hub_folder(tmp_path / "features", {"segments": tables}, card)
    tagger.save_pretrained(tmp_path / "tagger")
    out = ["--output-dir", str(tmp_path / "out")]
    expected = [f"error: {folder}: segment id 'src0_02' occurs twice, as train[2] and validation[1]"]
    assert load_script("create_pairs").main(["--segments", str(folder), *out]) == 1
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")] == expected
    script = load_script("create_dataset")
    assert script.main(["--media", str(folder), "--tagger", str(tmp_path / "tagger"), *out]) == 1
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")] == expected
    assert not (tmp_path / "out").exists()


def test_a_segment_labelled_minus_one_is_unlabelled(synthetic, tagger, tmp_path):
    """datasets stores "no label" in a ClassLabel column as -1: such a segment has no given emotion, not the last
    one (EMOTIONS[-1]), for pairing (create_pairs.py refuses it) and for the card's agreement with given labels."""
    _, rows = synthetic
    emotions = [-1 if index % 2 else min(row[2], 4) for index, row in enumerate(rows)]
    table = _segments_table(rows, emotions)
    card = make_extraction_card(name="features", tables={"train": table}, settings={}, media="test")
    folder = write_hub_folder(tmp_path / "features", {"segments": {"train": table}}, card)
    with pytest.raises(
        ReleaseFormatError,
        match=r"61 segment\(s\) cannot be paired: src0_01 \(no emotion\), src1_00 \(no emotion\)",
    ):
        read_extracted_segments(folder)
    summary = create_dataset(folder, tagger, tmp_path / "out", seed=0)
    kept = {pair.video_segment_id for result in summary.pairs.values() for pair in result.pairs}
    kept |= {segment_id for result in summary.pairs.values() for segment_id in result.unused_segment_ids}
    labelled = {row[0] for index, row in enumerate(rows) if index % 2 == 0}
    assert 0 < len(kept & labelled) < len(kept)
    assert summary.agreement_with_given[1] == len(kept & labelled)


def test_the_working_folder_is_refused_as_the_output(synthetic, tagger, tmp_path, monkeypatch):
    """``--output-dir .`` (or a folder holding the working folder): the build replaces its output folder as a
    whole, which would leave the user's shell in a deleted folder; refused like the input folder is. ``.`` has no
    name of its own: the work folder is named after the absolute path."""
    folder, _ = synthetic
    out = tmp_path / "my-dataset"
    (out / "sub").mkdir(parents=True)
    for working, given in ((out, "."), (out / "sub", "..")):
        monkeypatch.chdir(working)
        with pytest.raises(
            FileExistsError, match=rf"^{re.escape(given)}: is the folder this runs in \(or holds it\)"
        ):
            create_dataset(folder, tagger, given, max_segments_per_source=2, seed=0)
        assert [path.name for path in out.iterdir()] == ["sub"]
    assert (tmp_path / "my-dataset.work" / TAGS_FILE).is_file()
