"""The Space's logic on uploaded files: a media library (webm and Ogg clips, random-weight extractors); an
uploaded file is extracted as the library was, so the library's own file ranks and matches exactly as its
stored features do."""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from emomv_hf.data.loading import load_hub_dataset
from emomv_hf.features.media import MediaError, read_audio
from emomv_hf.models_registry import load_model

from .conftest import EXTRACTORS, REPO_ROOT, SEGMENT_SECONDS


def _stored(library, source: str, column: str) -> tuple[list[str], np.ndarray]:
    rows = load_hub_dataset(library, "segments")["train"].filter(lambda row: row["source"] == source)
    return rows["segment_id"][:], np.array(rows[column][:], np.float32)


def test_an_uploaded_video_ranks_the_library_with_players(app, media_space, media_library):
    result = app.find(media_space, "video", app.FILE_SOURCE, str(media_library["clip"]), None)
    (segment_id,), _ = _stored(media_library["features"], "clip", "video_features")
    by_segment = app.find(media_space, "video", app.SEGMENT_SOURCE, None, segment_id)
    assert result.query["kind"] == "video" and result.query["segments"][0]["end"] == SEGMENT_SECONDS
    assert [(i.track, i.segment_id, i.score) for i in result.items] == [
        (i.track, i.segment_id, i.score) for i in by_segment.items
    ]
    assert {item.track for item in result.items} == {"clip", "low", "high"}
    rows = app.result_rows(result)
    assert {row[7] for row in rows} == {"clip.webm", "low.ogg", "high.ogg"}
    assert {row[4] for row in rows} <= {"0.0-1.0 s", "1.0-2.0 s"}
    # The library's media files are served (each file, not their folder); the clip plays whole in the video
    # player, and the audio player plays the ranked segment's music: its [start, end) of the file, as read_audio
    # decodes it.
    folder = media_library["media"].resolve()
    assert media_space.media_files == [str(folder / name) for name in ("clip.webm", "high.ogg", "low.ogg")]
    for item in result.items:
        video, (rate, samples) = app.media_players(item)
        assert video == (str(media_library["clip"]) if item.track == "clip" else None)
        expected = read_audio(item.media, item.start, item.end, sample_rate=app.PLAYBACK_SAMPLE_RATE)
        assert rate == app.PLAYBACK_SAMPLE_RATE and samples.dtype == np.int16
        assert len(samples) == len(expected) == pytest.approx((item.end - item.start) * rate, abs=rate * 0.05)
        np.testing.assert_array_equal(samples, (np.clip(expected, -1, 1) * 32767).astype(np.int16))
    # Another second of the same track sounds different: the clip is the segment, not the file's start.
    high = next(item for item in result.items if item.track == "high")
    other = replace(high, start=1.0 - high.start, end=2.0 - high.start)
    assert not np.array_equal(app.media_players(high)[1][1], app.media_players(other)[1][1])


def test_an_upload_longer_than_the_query_limit_is_refused_before_extraction(
    app, media_space, media_library, monkeypatch
):
    """A visitor's file is cut into as many segments as its header's length gives, each seconds of CPU: one longer
    than ``max_query_seconds`` is refused in one message, before any segment is extracted."""
    import emomv_hf.features.extract

    def no_extraction(*args, **kwargs):
        raise AssertionError("extracted a file over the limit")

    monkeypatch.setattr(emomv_hf.features.extract, "extract_dataset", no_extraction)
    monkeypatch.setattr(media_space, "max_query_seconds", 1.5)  # the track lasts 2 s
    for call in (
        lambda: app.find(media_space, "music", app.FILE_SOURCE, str(media_library["track"]), None),
        lambda: app.match_pair(
            media_space,
            app.SEGMENT_SOURCE,
            None,
            "clip_01",
            app.FILE_SOURCE,
            str(media_library["track"]),
            None,
        ),
    ):
        with pytest.raises(ValueError, match=r"high\.ogg lasts 2 s; this app extracts files of up to 1\.5 s"):
            call()
    for limit in (0, float("nan")):  # NaN: `seconds > nan` is never true, so the limit would be off
        with pytest.raises(ValueError, match="--max-query-seconds must be > 0"):
            app.SpaceArguments(retrieval_model="m", library="l", max_query_seconds=limit)


def test_an_uploaded_track_ranks_the_library_videos(app, media_space, media_library):
    result = app.find(media_space, "music", app.FILE_SOURCE, str(media_library["track"]), None)
    # The upload is the library's "high" track: it scores as its two stored music segments do.
    assert result.query["kind"] == "music" and len(result.query["segments"]) == 2
    by_features = media_space.recommender.recommend(
        music_features=_stored(media_library["features"], "high", "music_features")[1],
        query_stream="music",
        top_k=10,
    )
    assert [(i.track, i.segment_id, i.score) for i in result.items] == [
        (i.track, i.segment_id, i.score) for i in by_features.items
    ]
    (item,) = result.items  # the library has one music video
    assert item.track == "clip"
    assert app.media_players(item, "video") == (str(media_library["clip"]), None)


def test_a_segment_and_an_uploaded_track_match_as_aligned_segments(
    app, media_space, media_library, model_dirs
):
    (video_id,), video = _stored(media_library["features"], "clip", "video_features")
    _, music = _stored(media_library["features"], "high", "music_features")
    result = app.match_pair(
        media_space, app.SEGMENT_SOURCE, None, video_id, app.FILE_SOURCE, str(media_library["track"]), None
    )
    model = load_model(str(model_dirs["correspondence"])).eval()
    with torch.no_grad():  # one video segment: only the track's first segment is under it
        logits = model(
            video_features=torch.from_numpy(video), music_features=torch.from_numpy(music[:1])
        ).logits
    assert len(result.pairs) == 1 and len(music) == 2
    assert result.probability == pytest.approx(float(logits.softmax(-1)[0, 1]), abs=1e-6)
    assert result.music["source"] == str(media_library["track"]) and result.video["kind"] == "segment"
    assert result.music["segments"] == [{"segment_id": "high_01", "start": 0.0, "end": 1.0}]

    with pytest.raises(ValueError, match="no video stream"):
        app.find(media_space, "video", app.FILE_SOURCE, str(media_library["track"]), None)


def test_the_pair_matcher_cuts_a_file_as_its_library_was(media_library, model_dirs):
    """PairMatcher's files are cut as its library was (the module says so), as the recommender's are: with no
    segment length given, its extractors cut a track into 30 s segments (ExtractorArguments' default), and kept a
    length left unset (QueryExtractorArguments), against the library's 1 s ones."""
    from emomv_hf.recommendation.arguments import QueryExtractorArguments
    from emomv_hf.recommendation.match import PairMatcher

    (video_id,), _ = _stored(media_library["features"], "clip", "video_features")
    for extractors in (None, QueryExtractorArguments(random_init=True)):
        matcher = PairMatcher.from_pretrained(
            str(model_dirs["correspondence"]), str(media_library["features"]), extractors=extractors
        )
        assert matcher.extractors.segment_seconds == SEGMENT_SECONDS
    result = matcher.match(video_segment=video_id, music=str(media_library["track"]))
    assert result.music["segments"] == [{"segment_id": "high_01", "start": 0.0, "end": 1.0}]


def test_files_are_paired_by_time_when_a_segment_lacks_a_stream(model_dirs, tmp_path):
    """A 3 s clip without frames in its second 1 s segment (and a tone of its own in each): its video is segments 1
    and 3, its music 1, 2 and 3.
    Pairs were taken by position, so video segment 3 was scored with music segment 2."""
    sys.path.insert(0, str(REPO_ROOT / "tests" / "survey"))
    from helpers import write_webm

    from emomv_hf.recommendation.match import PairMatcher

    clip = write_webm(tmp_path / "gap.webm", 3.0, tone_hz=(220.0, 440.0, 880.0), video_gap=(1.0, 2.0))
    matcher = PairMatcher(str(model_dirs["correspondence"]), extractors=EXTRACTORS)
    video, music = matcher.resolve("video", clip), matcher.resolve("music", clip)
    assert [s.segment_id for s in video.segments] == ["gap_01", "gap_03"] and len(music.segments) == 3
    result = matcher.score(video, music)
    pairs = [(pair.video_segment.segment_id, pair.music_segment.segment_id) for pair in result.pairs]
    assert pairs == [("gap_01", "gap_01"), ("gap_03", "gap_03")]
    assert [s["segment_id"] for s in result.music["segments"]] == ["gap_01", "gap_03"]
    single = [
        matcher.score(
            replace(video, segments=video.segments[v : v + 1], features=video.features[v : v + 1]),
            replace(music, segments=music.segments[m : m + 1], features=music.features[m : m + 1]),
        ).probability
        for v, m in ((0, 0), (1, 2))
    ]
    assert [pair.probability for pair in result.pairs] == pytest.approx(single, abs=1e-6)
    assert result.probability == pytest.approx(np.mean(single), abs=1e-6)


def test_a_ranked_file_moved_since_indexing_gets_a_note_not_a_player(
    app, media_space, media_library, tmp_path
):
    """The library's music video moved after indexing: the ranking shows, and the first rank's text says the file
    is gone where the player was (the video player was given the missing file: media_players checked no file)."""
    on_find = {fn.api_name: fn.fn for fn in app.build_demo(media_space).fns.values()}["on_find_1"]  # videos
    clip = media_library["clip"]
    moved = clip.rename(tmp_path / clip.name)
    try:
        outputs = on_find(app.SEGMENT_SOURCE, None, "high_01")
        assert outputs[3][0][2:4] == ["clip", "clip_01"]  # the results
        text, video, audio = outputs[-3:]
        assert (video.value, video.visible, audio.value, audio.visible) == (None, False, None, False)
        assert f"{clip} is missing (moved or deleted since the library was indexed)" in text
        item = outputs[0].items[0]
        with pytest.raises(MediaError, match="moved or deleted"):  # the whole file plays without a time range
            app.media_players(replace(item, start=None), "music")
    finally:
        moved.rename(clip)
