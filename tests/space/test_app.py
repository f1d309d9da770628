"""The Space's logic without a browser: EmoMV-C's validation segments ranked and matched by tiny trained models,
exactly as MusicRecommender and the correspondence model score them; flags, environment variables, bad input,
and the Space's own files (README front matter, requirements)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from packaging.requirements import Requirement

from emomv_hf.data.loading import load_emomv
from emomv_hf.emotions import EMOTIONS
from emomv_hf.models_registry import load_model
from emomv_hf.recommendation.match import PairMatcher
from emomv_hf.recommendation.recommend import MusicRecommender, Query, QuerySegment, features_query

from .conftest import REPO_ROOT

SPACE_DIR = REPO_ROOT / "examples" / "space"


@pytest.fixture(scope="module")
def segments(emomv_c_dir):
    """EmoMV-C's validation segments: id → (video features, music features, emotion)."""
    rows = load_emomv(str(emomv_c_dir), "segments")["validation"].with_format("numpy")
    return {
        segment_id: (np.array(video), np.array(music), int(emotion))  # writable copies for torch
        for segment_id, video, music, emotion in zip(
            rows["segment_id"], rows["video_features"], rows["music_features"], rows["emotion"], strict=True
        )
    }


def test_find_music_is_the_recommenders_ranking(app, space, model_dirs, emomv_c_dir, segments, tmp_path):
    segment_id = list(segments)[5]
    result = app.find(space, "video", app.SEGMENT_SOURCE, None, segment_id)
    expected = MusicRecommender.from_pretrained(
        str(model_dirs["retrieval"]),
        str(emomv_c_dir),
        index_dir=tmp_path / "index",
        split="validation",
        progress=False,
    ).recommend(segment=segment_id, top_k=10)
    assert result.to_dict() == expected.to_dict()
    assert len(result.items) == 10 and result.library["segments"] == 96

    rows = app.result_rows(result)
    assert [row[:4] for row in rows] == [
        [str(item.rank), f"{item.score:.4f}", item.track, item.segment_id] for item in expected.items
    ]
    assert all(len(row) == len(app.RESULT_COLUMNS) for row in rows)
    # EmoMV-C has labels but no media or time ranges.
    assert {row[5] for row in rows} <= set(EMOTIONS) and {row[4] for row in rows} == {"-"}

    chart = result.query[
        "predicted_emotions"
    ]  # the bar chart's value: every emotion, in the taxonomy's order
    assert list(chart) == list(EMOTIONS) and sum(chart.values()) == pytest.approx(1.0, abs=1e-5)
    # The query's distribution is the retrieval model's softmax of that segment's video features.
    model = load_model(str(model_dirs["retrieval"])).eval()
    with torch.no_grad():
        inputs = model.prepare_inputs(video_features=segments[segment_id][0][None])
        _, probabilities = model.encode_stream(inputs["video_features"], "video")
    np.testing.assert_allclose(list(chart.values()), probabilities[0].numpy(), rtol=0, atol=1e-6)
    assert "Query **" in app.query_summary(result) and "score" in app.item_summary(result.items[0])
    item = result.items[0]
    assert item.media is None and app.media_players(item) == (None, None)
    for name in ("clip.MP4", "track.m4a"):  # played whole without a time range (not decoded here)
        (tmp_path / name).write_bytes(b"")
    clip, track = str(tmp_path / "clip.MP4"), str(tmp_path / "track.m4a")
    assert app.media_players(replace(item, media=clip, start=None)) == (clip, None)
    assert app.media_players(replace(item, media=track, end=None)) == (None, track)


def test_find_videos_is_the_recommenders_music_query_ranking(app, space, segments):
    music_id = list(segments)[12]
    result = app.find(space, "music", app.SEGMENT_SOURCE, None, music_id)
    expected = space.recommender.recommend(segment=music_id, query_stream="music", top_k=10)
    assert result.to_dict() == expected.to_dict()
    assert result.library["stream"] == "video" and result.query["stream"] == "music"
    assert [row[3] for row in app.result_rows(result)] == [item.segment_id for item in expected.items]
    with pytest.raises(ValueError, match="upload a music file"):
        app.find(space, "music", app.FILE_SOURCE, None, None)


def test_match_is_the_correspondence_models_probability(app, space, model_dirs, segments):
    video_id, music_id = list(segments)[3], list(segments)[40]
    result = app.match_pair(space, app.SEGMENT_SOURCE, None, video_id, app.SEGMENT_SOURCE, None, music_id)
    model = load_model(str(model_dirs["correspondence"])).eval()
    with torch.no_grad():
        outputs = model(
            video_features=torch.from_numpy(segments[video_id][0][None]),
            music_features=torch.from_numpy(segments[music_id][1][None]),
        )
    assert result.probability == pytest.approx(float(outputs.logits.softmax(-1)[0, 1]), abs=1e-6)
    for side, logits in (("video", outputs.video_emotion_logits), ("music", outputs.music_emotion_logits)):
        np.testing.assert_allclose(
            list(result.to_dict()[side]["predicted_emotions"].values()),
            logits.softmax(-1)[0].numpy(),
            rtol=0,
            atol=1e-6,
        )
    assert (result.video["source"], result.music["source"]) == (video_id, music_id)
    summary = app.match_summary(result)
    assert f"{result.probability:.6f}" in summary and "1 aligned segment pair" in summary


def test_files_are_scored_as_aligned_segment_pairs(space, segments):
    """Three video segments and two music segments: pairs (0, 0) and (1, 1), mean probability."""
    matcher: PairMatcher = space.matcher
    ids = list(segments)
    video = features_query(np.stack([segments[i][0] for i in ids[:3]]), "video", "clip.mp4")
    music = features_query(np.stack([segments[i][1] for i in ids[10:12]]), "music", "track.m4a")
    result = matcher.score(video, music)
    single = [
        matcher.score(
            features_query(segments[ids[i]][0], "video"), features_query(segments[ids[10 + i]][1], "music")
        ).probability
        for i in range(2)
    ]
    assert [pair.probability for pair in result.pairs] == pytest.approx(single, abs=1e-6)
    assert result.probability == pytest.approx(np.mean(single), abs=1e-6)
    assert [p.video_segment.segment_id for p in result.pairs] == ["clip.mp4[0]", "clip.mp4[1]"]
    assert len(result.video["segments"]) == len(result.music["segments"]) == 2


def test_files_without_a_common_time_window_are_refused(space, segments):
    video_features, music_features, _ = next(iter(segments.values()))
    video = Query("video", "video", "clip.mp4", [QuerySegment("clip_03", 2.0, 3.0)], video_features[None])
    music = Query("music", "music", "track.ogg", [QuerySegment("track_01", 0.0, 1.0)], music_features[None])
    with pytest.raises(ValueError, match="no time window of clip.mp4 has video while track.ogg has music"):
        space.matcher.score(video, music)


def test_bad_input_names_what_is_wrong(app, space, model_dirs, emomv_c_dir):
    with pytest.raises(ValueError, match="segment 'nope' is not a video segment"):
        app.find(space, "video", app.SEGMENT_SOURCE, None, "nope")
    with pytest.raises(ValueError, match="upload a video file"):
        app.find(space, "video", app.FILE_SOURCE, None, None)
    with pytest.raises(ValueError, match="segment 'nope' is not a music segment"):
        app.match_pair(
            space, app.SEGMENT_SOURCE, None, list(space.video_segments)[0], "Library segment", None, "nope"
        )
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        app.match_pair(space, app.FILE_SOURCE, "/nowhere/missing.mp4", None, app.SEGMENT_SOURCE, None, "x")
    with pytest.raises(ValueError, match="source must be one of"):
        app.find(space, "video", "Microphone", None, None)
    with pytest.raises(ValueError, match="correspondence"):
        PairMatcher.from_pretrained(str(model_dirs["retrieval"]))

    # Only a correspondence model: Find music says how to turn it on; matching works without a library.
    only_match = app.load_space(app.SpaceArguments(correspondence_model=str(model_dirs["correspondence"])))
    assert only_match.recommender is None and only_match.video_segments == []
    with pytest.raises(ValueError, match="--retrieval-model"):
        app.find(only_match, "video", app.SEGMENT_SOURCE, None, "x")
    with pytest.raises(ValueError, match="no library was given"):
        app.match_pair(only_match, app.SEGMENT_SOURCE, None, "a", app.SEGMENT_SOURCE, None, "b")


def test_flags_and_environment_variables(app, monkeypatch, capsys):
    parser = app.build_parser()
    monkeypatch.setenv("EMOMV_RETRIEVAL_MODEL", "org/retrieval")
    monkeypatch.setenv("EMOMV_LIBRARY", "org/library")
    monkeypatch.setenv("EMOMV_TOP_K", "5")
    monkeypatch.setenv("EMOMV_RANDOM_INIT", "1")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    (args, extractor) = app.build_parser().parse_args_into_dataclasses(args=["--library", "datasets/emomv-c"])
    assert (args.retrieval_model, args.library, args.top_k, extractor.random_init, args.server_port) == (
        "org/retrieval",
        "datasets/emomv-c",
        5,
        True,
        7999,
    )
    assert args.correspondence_model is None and args.server_name == "127.0.0.1"

    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--help"])
    assert exit_info.value.code == 0
    assert "EMOMV_CORRESPONDENCE_MODEL" in capsys.readouterr().out

    monkeypatch.delenv("EMOMV_RETRIEVAL_MODEL")
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--library", "x"])
    assert exit_info.value.code == 2
    assert "give --retrieval-model and/or --correspondence-model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        app.main(["--retrieval-model", "m", "--library", ""])
    assert "needs --library" in capsys.readouterr().err
    monkeypatch.setenv("EMOMV_TOP_K", "ten")
    assert app.main([]) == 2
    assert "EMOMV_TOP_K='ten' is not a valid int" in capsys.readouterr().err
    monkeypatch.delenv("EMOMV_TOP_K")
    # A model folder that does not exist: one error line, exit status 1.
    assert app.main(["--correspondence-model", "/nowhere/model"]) == 1
    assert "/nowhere/model" in capsys.readouterr().err


def test_space_files():
    readme = (SPACE_DIR / "README.md").read_text(encoding="utf-8")
    front = re.match(r"---\n(.*?)\n---\n", readme, re.S)
    assert front, "examples/space/README.md must start with the Space's YAML front matter"
    fields = dict(line.split(": ", 1) for line in front.group(1).splitlines())
    assert fields["sdk"] == "gradio" and fields["app_file"] == "app.py"
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (gradio,) = [Requirement(r) for r in extras["space"] if r.startswith("gradio")]
    assert gradio.specifier.contains(fields["sdk_version"]), (fields["sdk_version"], str(gradio))
    requirements = [
        line.strip()
        for line in (SPACE_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    named = re.findall(r"\[([a-z,]+)\]", " ".join(requirements))
    assert named and all(extra in extras for group in named for extra in group.split(","))


def test_environment_variables_set_empty_are_unset(app, monkeypatch):
    """A Space's settings may hold a variable set to "": EMOMV_INDEX_DIR="" named the working folder (`Path("")`,
    the Space's own files) as the index folder, EMOMV_LIBRARY_SPLIT="" a split named '', EMOMV_TOP_K="" failed."""
    for name in ("EMOMV_INDEX_DIR", "EMOMV_LIBRARY_SPLIT", "EMOMV_TOP_K", "EMOMV_SEGMENT_SECONDS"):
        monkeypatch.setenv(name, "")
    argv = ["--retrieval-model", "m", "--library", "l"]
    args, extractor = app.build_parser().parse_args_into_dataclasses(args=argv)
    assert (args.index_dir, args.split, args.top_k, extractor.segment_seconds) == (None, None, 10, None)
