"""Section 4.1 sampling on the real EmoMV-C pairs, the manifest round trip and media lookup."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict

import pyarrow as pa
import pytest

from emomv_hf.emotions import ALLOWED_MISMATCH_PAIRS, EMOTIONS
from emomv_survey.sampling import (
    MediaError,
    SamplingError,
    draw_samples,
    find_media,
    load_manifest,
    read_pairs,
    resolve_media,
    write_manifest,
)

from .helpers import load_script

ALLOWED = {frozenset(pair) for pair in ALLOWED_MISMATCH_PAIRS}


@pytest.fixture(scope="module")
def emomv_c_pairs(emomv_c_dir):
    return read_pairs(emomv_c_dir)


def test_read_pairs_gives_names(emomv_c_pairs, emomv_c_dir) -> None:
    assert len(emomv_c_pairs) == 456
    assert Counter(row["label"] for row in emomv_c_pairs) == {"matched": 228, "mismatched": 228}
    assert len(read_pairs(emomv_c_dir, ["validation"])) == 96
    with pytest.raises(SamplingError, match="no split test"):
        read_pairs(emomv_c_dir, ["test"])


def test_an_unlabelled_pair_is_refused_naming_its_row(emomv_c_dir, tmp_path) -> None:
    """A pair whose label or emotion is -1 (datasets' "no label", as a Hub dataset's unlabelled test split has
    it) was read as the last class, 'matched' or 'relaxing', and could be drawn into the survey as such; 7 was an
    IndexError traceback. Refused in one line naming the row and field (7, outside the card's classes, by
    load_emomv, which refuses the whole folder); with a -1, the other splits still read."""
    import pyarrow.parquet as pq

    folder = tmp_path / "emomv-c"
    shutil.copytree(emomv_c_dir, folder)
    [shard] = (folder / "data" / "pairs").glob("validation-*.parquet")
    table = pq.read_table(shard)
    for field, value in (("label", -1), ("music_emotion", 7)):
        column = table.column(field).to_pylist()
        column[3] = value
        changed = table.set_column(table.schema.get_field_index(field), field, pa.array(column, pa.int64()))
        pq.write_table(changed.cast(table.schema), shard)
        refusal = (
            rf"validation\[3\] {field} is -1, not a class"
            if value == -1
            else rf"validation\[3\] field '{field}': 7 is no class"
        )
        with pytest.raises(ValueError, match=refusal):
            read_pairs(folder)
        if value == -1:
            assert len(read_pairs(folder, ["train"])) == 360


@pytest.mark.parametrize("per_dataset", [10, 20, 6])
def test_draw_is_balanced_and_distinct(emomv_c_pairs, per_dataset: int) -> None:
    samples = draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=per_dataset, seed=3)
    assert len(samples) == per_dataset
    by_id = {row["pair_id"]: row for row in emomv_c_pairs}
    for label in ("matched", "mismatched"):
        group = [sample for sample in samples if sample.label == label]
        assert len(group) == per_dataset // 2
        for stream in ("video", "music"):
            counts = Counter(getattr(sample, f"{stream}_emotion") for sample in group)
            assert max(counts.values()) - min(counts.get(emotion, 0) for emotion in EMOTIONS) <= 1
    for sample in samples:
        row = by_id[sample.pair_id]  # a real pair, with its own emotions and label
        assert (sample.video_segment_id, sample.music_segment_id, sample.label) == (
            row["video_segment_id"],
            row["music_segment_id"],
            row["label"],
        )
        if sample.label == "mismatched":
            assert frozenset((sample.video_emotion, sample.music_emotion)) in ALLOWED
    segments = [s for sample in samples for s in {sample.video_segment_id, sample.music_segment_id}]
    assert len(segments) == len(set(segments))
    assert [sample.sample_id for sample in samples] == [f"S{i:02d}" for i in range(1, per_dataset + 1)]


def test_paper_draw_has_every_emotion_once_per_group(emomv_c_pairs) -> None:
    samples = draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=10, seed=0)
    for label in ("matched", "mismatched"):
        for stream in ("video", "music"):
            emotions = sorted(getattr(s, f"{stream}_emotion") for s in samples if s.label == label)
            assert emotions == sorted(EMOTIONS)


def test_draw_is_seeded(emomv_c_pairs) -> None:
    first = draw_samples({"emomv-c": emomv_c_pairs, "copy": emomv_c_pairs}, seed=7)
    assert first == draw_samples({"emomv-c": emomv_c_pairs, "copy": emomv_c_pairs}, seed=7)
    assert first != draw_samples({"emomv-c": emomv_c_pairs, "copy": emomv_c_pairs}, seed=8)
    assert Counter(sample.dataset for sample in first) == {"emomv-c": 10, "copy": 10}
    assert len({sample.label for sample in first[:6]}) == 2  # one shuffled order over both datasets


def test_no_segment_in_both_a_matched_and_a_mismatched_sample() -> None:
    # a dataset whose mismatched pairs reuse the matched pairs' segments (as create_pairs.py makes them): four
    # segments per emotion, so a disjoint draw exists, but a matched segment often fits a mismatched pair too
    segments = {f"{emotion}{i}": emotion for emotion in EMOTIONS for i in range(4)}
    rows = [
        {"pair_id": s, "label": "matched", "video_segment_id": s, "music_segment_id": s}
        | {"video_emotion": e, "music_emotion": e}
        for s, e in segments.items()
    ]
    rows += [
        {"pair_id": f"{v}_PAIR_{m}", "label": "mismatched", "video_segment_id": v, "music_segment_id": m}
        | {"video_emotion": segments[v], "music_emotion": segments[m]}
        for v in segments
        for m in segments
        if frozenset((segments[v], segments[m])) in ALLOWED
    ]
    for seed in range(20):
        samples = draw_samples({"x": rows}, per_dataset=10, seed=seed)
        shown = [s for sample in samples for s in {sample.video_segment_id, sample.music_segment_id}]
        assert len(shown) == len(set(shown)), (seed, shown)


def test_a_remainder_of_emotions_that_does_not_pair_is_drawn_again(emomv_c_pairs) -> None:
    # with 1-4 samples of a group not every emotion is shown, and a random choice of video and music emotions
    # may be no allowed mismatch (fearful with tense): that draw failed (seeds 4, 12, 1 below)
    for per_dataset, seed in ((2, 4), (4, 12), (6, 1), (2, 6), (4, 15)):
        samples = draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=per_dataset, seed=seed)
        assert len(samples) == per_dataset
        for sample in samples:
            if sample.label == "mismatched":
                assert frozenset((sample.video_emotion, sample.music_emotion)) in ALLOWED


def test_draw_errors(emomv_c_pairs) -> None:
    with pytest.raises(SamplingError, match="positive even"):
        draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=5)
    fearful = [
        row for row in emomv_c_pairs if row["label"] == "matched" and row["video_emotion"] == "fearful"
    ]
    others = [row for row in emomv_c_pairs if row["label"] == "mismatched"]
    with pytest.raises(SamplingError, match="cannot draw 5 matched pairs"):
        draw_samples({"x": fearful + others}, per_dataset=10)


def test_manifest_round_trip_and_media(emomv_c_pairs, tmp_path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    probe = draw_samples({"emomv-c": emomv_c_pairs}, seed=1)
    (media / f"{probe[0].video_segment_id}.webm").write_bytes(b"video")
    (media / f"{probe[0].music_segment_id}.mp3").write_bytes(b"music")  # .webm wins for a segment with both
    samples = draw_samples({"emomv-c": emomv_c_pairs}, seed=1, media_dirs={"emomv-c": media})
    assert samples[0].video_media == str((media / f"{probe[0].video_segment_id}.webm").resolve())
    assert samples[0].music_media == (
        samples[0].video_media
        if probe[0].label == "matched"
        else str(media / f"{probe[0].music_segment_id}.mp3")
    )
    assert all(sample.video_media is None for sample in samples[1:])
    path = write_manifest(tmp_path / "manifest.json", samples, seed=1)
    assert load_manifest(path) == samples
    assert find_media(media, "nothing") is None
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_media(tmp_path / "no-such-folder", "x")


def test_manifest_media_relative_to_the_manifest(emomv_c_pairs, tmp_path) -> None:
    samples = draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=2, seed=0)
    (tmp_path / "clip.webm").write_bytes(b"x")
    entries = [asdict(sample) for sample in samples]
    entries[0]["video_media"] = "clip.webm"
    (tmp_path / "m.json").write_text(json.dumps({"version": 1, "samples": entries}))
    assert load_manifest(tmp_path / "m.json")[0].video_media == str((tmp_path / "clip.webm").resolve())
    entries[0]["video_media"] = "gone.webm"
    (tmp_path / "m.json").write_text(json.dumps({"version": 1, "samples": entries}))
    with pytest.raises(FileNotFoundError, match="sample 0: video_media .*gone.webm does not exist"):
        load_manifest(tmp_path / "m.json")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: e[0].pop("label"), "sample 0: missing field"),
        (lambda e: e[1].update(label="maybe"), "sample 1: label 'maybe'"),
        (lambda e: e[1].update(music_emotion="angry"), "sample 1: music_emotion 'angry'"),
        (lambda e: e[1].update(sample_id=e[0]["sample_id"]), "appears twice"),
        (lambda e: e[0].update(colour="red"), "unknown field"),
        # a field of another type was a TypeError traceback (a list), or was stored as text, so that the same
        # manifest was refused as "a different survey" on the next start (a number)
        (lambda e: e[1].update(sample_id=["S02"]), r"sample 1: sample_id must be a string, got \['S02'\]"),
        (lambda e: e[0].update(pair_id=7), "sample 0: pair_id must be a string, got 7"),
        (lambda e: e[0].update(video_media=5), "sample 0: video_media must be a string, got 5"),
        (lambda e: e[0].update(media_root=["a"]), "sample 0: media_root must be a string"),
    ],
)
def test_bad_manifests(emomv_c_pairs, tmp_path, change, message) -> None:
    entries = [asdict(sample) for sample in draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=2)]
    change(entries)
    (tmp_path / "m.json").write_text(json.dumps({"samples": entries}))
    with pytest.raises(SamplingError, match=message):
        load_manifest(tmp_path / "m.json")
    (tmp_path / "m.json").write_text("{")
    with pytest.raises(SamplingError, match="not valid JSON"):
        load_manifest(tmp_path / "m.json")
    (tmp_path / "m.json").write_bytes(b'{"samples": ["\xff"]}')  # the error did not name the file
    with pytest.raises(SamplingError, match="m.json: not valid JSON"):
        load_manifest(tmp_path / "m.json")


def test_sample_script(emomv_c_dir, tmp_path, capsys) -> None:
    script = load_script("sample")
    output = tmp_path / "manifest.json"
    argv = ["--dataset", str(emomv_c_dir), "--output", str(output), "--seed", "4", "--split", "validation"]
    assert script.main(argv) == 0
    assert "wrote 10 samples (0 with video and music files)" in capsys.readouterr().out
    samples = load_manifest(output)
    validation = {row["pair_id"] for row in read_pairs(emomv_c_dir, ["validation"])}
    assert {sample.pair_id for sample in samples} <= validation
    assert script.main([*argv, "--per-dataset", "3"]) == 1
    assert "error: per_dataset must be a positive even number" in capsys.readouterr().err


def test_media_must_stay_inside_the_media_folder(tmp_path) -> None:
    media = tmp_path / "media"
    (media / "sub").mkdir(parents=True)
    (media / "sub" / "real.webm").write_bytes(b"x")
    (media / "inside.webm").symlink_to(media / "sub" / "real.webm")  # a link that stays inside: fine
    assert find_media(media, "inside") == str((media / "sub" / "real.webm").resolve())
    (tmp_path / "outside.webm").write_bytes(b"x")
    (media / "out.mp4").symlink_to(tmp_path / "outside.webm")
    with pytest.raises(
        MediaError, match=r"out\.mp4 \(a link to .*outside\.webm\) is outside the media folder"
    ):
        find_media(media, "out")
    (media / "dir.webm").mkdir()
    with pytest.raises(MediaError, match=r"dir\.webm is not a regular file"):
        find_media(media, "dir")
    (media / "dangling.webm").symlink_to(tmp_path / "gone")
    with pytest.raises(MediaError, match=r"dangling\.webm does not exist"):
        find_media(media, "dangling")
    for segment in ("../outside", "..", "a/b", "", "a\\b", "a\0b"):
        with pytest.raises(MediaError, match="cannot name a media file"):
            find_media(media, segment)
    with pytest.raises(MediaError, match="outside the media folder"):
        resolve_media(media, "../outside.webm")


def test_manifest_records_the_media_root(emomv_c_pairs, tmp_path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    probe = draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=2, seed=0)
    (media / f"{probe[0].video_segment_id}.webm").write_bytes(b"video")
    samples = draw_samples({"emomv-c": emomv_c_pairs}, per_dataset=2, seed=0, media_dirs={"emomv-c": media})
    assert samples[0].media_root == str(media.resolve()) and samples[1].media_root is None
    path = write_manifest(tmp_path / "manifest.json", samples, seed=0)
    payload = json.loads(path.read_text())
    assert payload["version"] == 2 and payload["samples"][0]["media_root"] == str(media.resolve())
    assert load_manifest(path) == samples
    # Media named relative to the media root.
    payload["samples"][0]["video_media"] = f"{probe[0].video_segment_id}.webm"
    path.write_text(json.dumps(payload))
    assert load_manifest(path) == samples
    # An absolute media path needs a media root to be checked against.
    del payload["samples"][0]["media_root"]
    payload["samples"][0]["video_media"] = samples[0].video_media
    path.write_text(json.dumps(payload))
    with pytest.raises(MediaError, match="absolute path but the sample has no media_root"):
        load_manifest(path)
