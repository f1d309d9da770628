"""Queries by media file, through the Python API, examples/recommend.py and the transformers pipeline.

The library is extracted from synthetic PyAV media with random-weight extractors (fixed seed); a query file is
extracted the same way, so a query by a library's own file must score exactly as a query by its stored features.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("faiss")
pytest.importorskip("pytorchvideo")

from emomv_hf.data.loading import load_hub_dataset  # noqa: E402
from emomv_hf.features.arguments import ExtractorArguments  # noqa: E402
from emomv_hf.features.extract import extract_dataset  # noqa: E402
from emomv_hf.recommendation.recommend import MusicRecommender  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "features"))
from synthetic_media import write_clip  # noqa: E402

SEGMENT_SECONDS = 1.0
SETTINGS = ExtractorArguments(random_init=True, segment_seconds=SEGMENT_SECONDS)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """A library folder (one 1.2 s music video: one segment; two 2.2 s audio tracks: two segments each) and a
    query track outside it."""
    root = tmp_path_factory.mktemp("recommend-media")
    library = root / "library"
    library.mkdir()
    write_clip(library / "clip.mp4", 1.2, tone_hz=300.0)
    write_clip(library / "low.m4a", 2.2, tone_hz=200.0, with_video=False)
    write_clip(library / "high.m4a", 2.2, tone_hz=2000.0, with_video=False)
    write_clip(root / "query.m4a", 2.2, tone_hz=700.0, with_video=False)
    return {"library": library, "clip": library / "clip.mp4", "query": root / "query.m4a"}


@pytest.fixture(scope="module")
def library(media, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("recommend-library") / "features"
    summary = extract_dataset(media["library"], out, SETTINGS, progress=False)
    assert summary.rows == 5
    return out


@pytest.fixture(scope="module")
def model_dir(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recommend-model") / "retrieval"
    model.save_pretrained(path)
    return path


def _stored(library: Path, source: str, column: str) -> tuple[list[str], np.ndarray]:
    rows = load_hub_dataset(library, "segments")["train"].filter(lambda row: row["source"] == source)
    return rows["segment_id"][:], np.asarray(rows[column][:], np.float32)


def test_a_library_video_file_scores_as_its_stored_features(model, media, library, tmp_path):
    recommender = MusicRecommender.from_pretrained(
        model, str(library), index_dir=tmp_path / "index", extractors=SETTINGS, progress=False
    )
    by_file = recommender.recommend(video=media["clip"], top_k=5, per="segment")
    (segment_id,), features = _stored(library, "clip", "video_features")
    by_features = recommender.recommend(video_features=features, top_k=5, per="segment")
    by_segment = recommender.recommend(segment=segment_id, top_k=5, per="segment")
    assert by_file.query["kind"] == "video" and by_file.query["source"] == str(media["clip"])
    assert [(s["start"], s["end"]) for s in by_file.query["segments"]] == [(0.0, 1.0)]
    for other in (by_features, by_segment):
        assert [(i.segment_id, i.score) for i in by_file.items] == [
            (i.segment_id, i.score) for i in other.items
        ]
    # 5 music segments of 3 files, ranked; each names the file and time range it was cut from.
    assert sorted(item.segment_id for item in by_file.items) == sorted(
        load_hub_dataset(library, "segments")["train"]["segment_id"][:]
    )
    assert {item.media for item in by_file.items} == {
        str(media["library"] / name) for name in ("clip.mp4", "low.m4a", "high.m4a")
    }
    assert all(item.end - item.start == SEGMENT_SECONDS for item in by_file.items)

    with pytest.raises(ValueError, match="no video stream"):
        recommender.recommend(video=media["query"])


def test_a_two_segment_music_file_ranks_videos_by_mean_similarity(model, media, library, tmp_path):
    recommender = MusicRecommender.from_pretrained(
        model, str(library), index_dir=tmp_path / "index", extractors=SETTINGS, progress=False
    )
    result = recommender.recommend(music=media["query"], top_k=3)
    assert len(result.query["segments"]) == 2 and len(result.items) == 1  # one video in the library
    (item,) = result.items
    assert item.track == "clip" and item.predicted_emotions is not None

    # Independently: extract the query, encode both sides with the model, mean similarity over query segments.
    scratch = tmp_path / "query-media"
    scratch.mkdir()
    shutil.copy(media["query"], scratch / "query.m4a")
    extract_dataset(scratch, tmp_path / "query-features", SETTINGS, progress=False)
    _, query_features = _stored(tmp_path / "query-features", "query", "music_features")
    _, video_features = _stored(library, "clip", "video_features")
    with torch.no_grad():
        video, _ = model.encode_stream(
            model.prepare_inputs(video_features=video_features)["video_features"], "video"
        )
        music, _ = model.encode_stream(
            model.prepare_inputs(music_features=query_features)["music_features"], "music"
        )
        similarity = model.pairwise_similarity(video, music).numpy()  # (1 video, 2 query segments)
    np.testing.assert_allclose(item.score, similarity.mean(), rtol=0, atol=1e-6)
    best = result.query["segments"][int(np.argmax(similarity[0]))]
    assert item.query_segment.segment_id == best["segment_id"]


def _recommend_script():
    spec = importlib.util.spec_from_file_location("recommend_script", REPO_ROOT / "examples" / "recommend.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_line_and_pipeline_give_the_python_result(model, model_dir, media, library, capsys):
    script = _recommend_script()
    common = ["--model", str(model_dir), "--library", str(library), "--no-progress"]
    assert script.main([*common, "--build-index", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["streams"]["music"] == {
        "segments": 5,
        "dimension": built["streams"]["music"]["dimension"],
        "index": "exact",
    }
    from huggingface_hub import constants

    # The index lives in the (test session's) Hugging Face cache, never in the library folder.
    assert Path(built["index_dir"]).is_relative_to(Path(constants.HF_HOME) / "emomv_hf" / "retrieval-index")
    assert not (library / "retrieval-index").exists()

    query = ["--music", str(media["query"]), "--random-init", "--segment-seconds", str(SEGMENT_SECONDS)]
    assert script.main([*common, *query, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = MusicRecommender.from_pretrained(str(model_dir), str(library), extractors=SETTINGS).recommend(
        music=media["query"]
    )
    assert printed == json.loads(expected.to_json())
    assert set(printed["items"][0]) == {
        "rank", "score", "track", "segment_id", "media", "start", "end", "emotion", "predicted_emotions",
        "query_segment",
    }  # fmt: skip

    assert script.main([*common, *query]) == 0
    table = capsys.readouterr().out
    assert "clip_01" in table and "0.0-1.0 s" in table and str(media["clip"]) in table

    from transformers import pipeline

    finder = pipeline(
        "music-video-retrieval", model=str(model_dir), library=str(library), extractors=SETTINGS
    )
    assert finder(str(media["query"]), query_stream="music") == printed["items"]
    assert finder([{"segment": "low_01", "query_stream": "music"}], top_k=1)[0][0]["track"] == "clip"

    # Bad input: one line naming what is wrong, exit status 1; usage errors exit 2.
    assert script.main([*common, "--video", str(media["library"] / "missing.mp4"), "--random-init"]) == 1
    assert "missing.mp4" in capsys.readouterr().err
    assert script.main([*common, "--segment", "nope"]) == 1
    assert "segment 'nope' is not a video segment" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        script.main([*common, "--video", "a.mp4", "--music", "b.m4a"])
    assert exit_info.value.code == 2


def test_a_query_file_is_cut_as_the_library_was(model_dir, media, library, capsys):
    """Issue 23.5: the library was extracted into 1 s segments, so a query file is cut into 1 s segments unless
    --segment-seconds says otherwise, which is used with a one-line warning."""
    script = _recommend_script()
    argv = ["--model", str(model_dir), "--library", str(library), "--no-progress", "--json"]
    argv += ["--music", str(media["query"]), "--random-init"]

    def query_windows(extra: list[str]) -> tuple[list[tuple[float, float]], list[str]]:
        assert script.main([*argv, *extra]) == 0
        captured = capsys.readouterr()
        segments = json.loads(captured.out)["query"]["segments"]
        warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
        return [(segment["start"], segment["end"]) for segment in segments], warnings

    assert query_windows([]) == ([(0.0, 1.0), (1.0, 2.0)], [])
    windows, (warning,) = query_windows(["--segment-seconds", "2"])
    assert windows == [(0.0, 2.0)]
    assert "--segment-seconds 2 differs from the 1 s segments the library was extracted with" in warning
    assert query_windows(["--segment-seconds", "1"]) == ([(0.0, 1.0), (1.0, 2.0)], [])


def test_an_index_opened_from_another_folder_cuts_queries_as_its_library(model, library, monkeypatch):
    """The query files' segment length came from the library path recorded when the index was built: a relative
    path, opened again from another working folder (the same library, the same cached index), named no folder there,
    so queries were cut into the 30 s default instead of the library's 1 s segments."""
    monkeypatch.chdir(library.parent)
    built = MusicRecommender.from_pretrained(model, library.name, extractors=None, progress=False)
    assert built.extractors.segment_seconds == SEGMENT_SECONDS
    monkeypatch.chdir(library.parent.parent)
    opened = MusicRecommender.from_pretrained(model, f"{library.parent.name}/{library.name}", progress=False)
    assert opened.index.path == built.index.path
    assert opened.extractors.segment_seconds == SEGMENT_SECONDS
