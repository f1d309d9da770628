"""The library index and the recommender on EmoMV-C validation segments, with a tiny trained retrieval model."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

pytest.importorskip("faiss")

from emomv_hf.data.schema import source_video_id  # noqa: E402
from emomv_hf.evaluation import evaluate_retrieval  # noqa: E402
from emomv_hf.recommendation.index import IndexMismatchError, LibraryIndex  # noqa: E402
from emomv_hf.recommendation.match import LibrarySegments  # noqa: E402
from emomv_hf.recommendation.recommend import MusicRecommender  # noqa: E402

from .conftest import RETRIEVAL_STEPS, train_tiny_model  # noqa: E402


@pytest.mark.parametrize("query_stream", ["video", "music"])
def test_segment_queries_rank_as_the_retrieval_metric(model, emomv_c_dir, tmp_path, query_stream):
    index = LibraryIndex.open(
        model, str(emomv_c_dir), index_dir=tmp_path / "index", rebuild=True, progress=False
    )
    recommender = MusicRecommender(model, index)
    segments = datasets.load_dataset(str(emomv_c_dir), "segments")["validation"]
    similarity = evaluate_retrieval(model, segments).predictions["similarity"]
    similarity = similarity if query_stream == "video" else similarity.T
    ids = segments.data.column("segment_id").to_pylist()
    for query, segment_id in enumerate(ids):
        result = recommender.recommend(
            segment=segment_id, top_k=len(ids), per="segment", query_stream=query_stream
        )
        ranked = [ids.index(item.segment_id) for item in result.items]
        assert ranked == list(np.lexsort((np.arange(len(ids)), -similarity[query])))
        scores = np.array([item.score for item in result.items])
        np.testing.assert_allclose(scores, similarity[query][ranked], rtol=0, atol=1e-6)


def test_index_reloads_and_refuses_another_model(model, emomv_c_dir, tmp_path, release_dir):
    built = LibraryIndex.open(
        model, str(emomv_c_dir), index_dir=tmp_path / "index", rebuild=True, progress=False
    )
    reloaded = LibraryIndex.open(model, str(emomv_c_dir), index_dir=tmp_path / "index")
    assert reloaded.info == built.info
    query = reloaded.streams["video"].entries["segment_id"][0]
    first = MusicRecommender(model, built).recommend(segment=query).to_dict()
    assert MusicRecommender(model, reloaded).recommend(segment=query).to_dict() == first
    others = (
        train_tiny_model(release_dir, "retrieval", RETRIEVAL_STEPS, seed=1, similarity="mix"),
        train_tiny_model(release_dir, "retrieval", RETRIEVAL_STEPS, similarity="cosine"),
    )
    for other in others:
        with pytest.raises(IndexMismatchError, match="built by another model"):
            LibraryIndex.open(other, str(emomv_c_dir), index_dir=tmp_path / "index")


def test_a_recommender_refuses_an_index_of_another_model(model, baseline_model, emomv_c_dir, tmp_path):
    """`MusicRecommender(model, index)` (the public constructor) checks what `LibraryIndex.load` checks: an index
    built by other weights or another configuration would rank vectors of another embedding space."""
    index = LibraryIndex.open(model, str(emomv_c_dir), index_dir=tmp_path / "index", progress=False)
    other_weights = copy.deepcopy(model)
    with torch.no_grad():
        next(other_weights.parameters()).add_(1e-3)
    for other in (other_weights, baseline_model):
        with pytest.raises(
            IndexMismatchError, match=f"built by another model .+ given model is {type(other).__name__}"
        ):
            MusicRecommender(other, index)


def test_json_schema_and_raw_feature_queries(model, emomv_c_dir, tmp_path):
    recommender = MusicRecommender.from_pretrained(model, str(emomv_c_dir), index_dir=tmp_path / "index")
    segments = datasets.load_dataset(str(emomv_c_dir), "segments")["validation"]
    features = np.asarray(segments[:3]["video_features"], np.float32)
    result = json.loads(recommender.recommend(video_features=features, top_k=4).to_json())
    assert set(result) == {"query", "library", "items"}
    assert len(result["query"]["segments"]) == 3 and len(result["items"]) == 4
    assert set(result["query"]["predicted_emotions"]) == {"exciting", "fearful", "tense", "sad", "relaxing"}
    item = result["items"][0]
    assert set(item) >= {
        "rank",
        "score",
        "track",
        "segment_id",
        "media",
        "start",
        "end",
        "predicted_emotions",
    }
    assert [entry["score"] for entry in result["items"]] == sorted(
        (entry["score"] for entry in result["items"]), reverse=True
    )
    # Three query segments score a library segment by their mean similarity (inner product with the mean).
    vectors = recommender.encode(recommender.resolve(video_features=features)).vectors
    library = recommender.index.streams["music"]
    row = library.row_of(item["segment_id"])
    expected = float(np.mean(vectors @ library.vectors(np.array([row]))[0]))
    assert item["score"] == pytest.approx(expected, abs=1e-6)
    with pytest.raises(KeyError, match="not a video segment"):
        recommender.recommend(segment="no-such-segment")
    with pytest.raises(ValueError, match="exactly one query"):
        recommender.recommend(segment="a", video_features=features)


def test_an_hnsw_index_keeps_its_settings_and_ranks_a_small_library_exactly(model, emomv_c_dir, tmp_path):
    """`index_type="hnsw"` (what `auto` builds above EXACT_SEARCH_MAX_VECTORS): the saved graph has the package's
    M and efConstruction, loading sets efSearch, and on 96 segments (far fewer than efSearch) it returns the
    exact index's recommendations."""
    from emomv_hf.recommendation.index import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_NEIGHBOURS

    exact = LibraryIndex.open(model, str(emomv_c_dir), index_dir=tmp_path / "exact", progress=False)
    LibraryIndex.open(model, str(emomv_c_dir), index_dir=tmp_path / "hnsw", index_type="hnsw", progress=False)
    hnsw = LibraryIndex.load(model, index_dir=tmp_path / "hnsw")
    for stream in ("video", "music"):
        assert hnsw.info["streams"][stream]["index"] == "hnsw" and hnsw.stream(stream).index_type == "hnsw"
        graph = hnsw.stream(stream).entries.get_index("vectors").faiss_index.hnsw
        assert graph.efSearch == HNSW_EF_SEARCH and graph.efConstruction == HNSW_EF_CONSTRUCTION
        assert graph.nb_neighbors(1) == HNSW_NEIGHBOURS  # level 0 holds 2 M, the upper levels M
    for segment in exact.streams["video"].entries["segment_id"][:5]:
        expected = MusicRecommender(model, exact).recommend(segment=segment, top_k=10, per="segment")
        found = MusicRecommender(model, hnsw).recommend(segment=segment, top_k=10, per="segment")
        assert [item.segment_id for item in found.items] == [item.segment_id for item in expected.items]


def test_a_model_of_another_task_is_refused(emomv_c_dir, tmp_path):
    from emomv_hf import EmoMVConfig, EmoMVForCorrespondence

    folder = tmp_path / "correspondence"
    EmoMVForCorrespondence(EmoMVConfig()).save_pretrained(folder)
    with pytest.raises(ValueError, match="is not a retrieval model: this needs EmoMVForRetrieval"):
        MusicRecommender.from_pretrained(str(folder), str(emomv_c_dir), index_dir=tmp_path / "index")
    assert not (tmp_path / "index").exists()


def test_a_single_task_model_indexes_no_emotion_probabilities(emomv_c_dir, tmp_path):
    from emomv_hf import build_model

    model = build_model("emomv", "retrieval", multi_task=False).eval()
    index = LibraryIndex.open(model, str(emomv_c_dir), index_dir=tmp_path / "index", progress=False)
    for stream in ("video", "music"):
        assert "emotion_probabilities" not in index.stream(stream).entries.column_names
    result = MusicRecommender(model, index).recommend(segment=index.stream("video").entries[0]["segment_id"])
    assert result.query["predicted_emotions"] is None
    assert result.items and all(item.predicted_emotions is None for item in result.items)


def test_multi_segment_queries_of_the_baseline_rank_the_whole_library(baseline_model, emomv_c_dir, tmp_path):
    """The baseline's mean `1 / (distance + eps)` over several query segments is no function of the mean query
    vector's inner product, so faiss's candidates for that vector missed library segments of a higher score (some
    three-segment queries on EmoMV-C got another top 5): the ranking is the exhaustive one."""
    import torch

    model = baseline_model
    index = LibraryIndex.open(model, str(emomv_c_dir), index_dir=tmp_path / "index", progress=False)
    recommender, music = MusicRecommender(model, index), index.stream("music")
    segments = datasets.load_dataset(str(emomv_c_dir), "segments")["validation"].with_format("numpy")
    rows, ids = np.arange(len(music)), music.entries["segment_id"]
    vectors = torch.from_numpy(music.vectors(rows))
    for first in range(0, len(music) - 2, 3):
        features = segments[first : first + 3]["video_features"]
        with torch.no_grad():
            query = model.encode_stream(torch.from_numpy(features).float(), "video")[0]
            scores = model.pairwise_similarity(query, vectors).mean(dim=0).numpy()
        order = np.lexsort((rows, -scores))
        best = {}  # each source video's best row (EmoMV-C's tracks), in the order of the scores
        for row in order:
            best.setdefault(source_video_id(ids[row]), row)
        for per, expected in (("segment", order[:5]), ("track", list(best.values())[:5])):
            found = recommender.recommend(video_features=features, top_k=5, per=per).items
            assert [item.segment_id for item in found] == [ids[row] for row in expected]
            np.testing.assert_allclose([item.score for item in found], scores[expected], rtol=1e-5)


def test_the_segments_of_one_source_video_are_one_track(model, emomv_c_dir, tmp_path):
    """EmoMV-C has no `source` column and each of its segments was its own track, so a ranking per track listed
    one music video's segments as several tracks (77 of the 96 validation queries had a video twice in their top
    10); a segment without a source belongs to the video its id names (`source_video_id`), as in pairing."""
    index = LibraryIndex.open(model, str(emomv_c_dir), index_dir=tmp_path / "index", progress=False)
    recommender = MusicRecommender(model, index)
    for query in index.stream("video").entries["segment_id"][:10]:
        best = {}  # each video's best segment, in the order of the whole ranking of segments
        for item in recommender.recommend(
            segment=query, top_k=len(index.stream("music")), per="segment"
        ).items:
            best.setdefault(source_video_id(item.segment_id), item)
        tracks = recommender.recommend(segment=query, top_k=10).items
        assert [(item.track, item.segment_id, item.score) for item in tracks] == [
            (track, item.segment_id, item.score) for track, item in list(best.items())[:10]
        ]


def test_segments_without_a_source_are_in_the_track_their_id_names(model, emomv_c_dir, tmp_path):
    """A library whose `source` column is null in some rows (a Hub dataset of someone else's): those segments made
    one track named None (ranked once, and the table failed on it); each is in the track of the video its id
    names, as without the column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(emomv_c_dir / "data" / "segments" / "validation-00000-of-00001.parquet")
    sources = pa.array([None if row % 2 else f"track {row}" for row in range(table.num_rows)], pa.string())
    library = Path(shutil.copytree(emomv_c_dir, tmp_path / "library"))
    (library / "README.md").write_text(
        "---\nconfigs:\n- config_name: segments\n  data_files: data/segments/*.parquet\n---\n",
        encoding="utf-8",
    )
    shard = library / "data" / "segments" / "validation-00000-of-00001.parquet"
    pq.write_table(table.append_column("source", sources).replace_schema_metadata(None), shard)
    index = LibraryIndex.open(model, str(library), index_dir=tmp_path / "index", progress=False)
    ids = table.column("segment_id").to_pylist()
    found = MusicRecommender(model, index).recommend(segment=ids[0], top_k=len(ids))
    tracks = {
        source or source_video_id(segment) for source, segment in zip(sources.to_pylist(), ids, strict=True)
    }
    assert sorted(item.track for item in found.items) == sorted(tracks)
    assert found.to_table().count("\n") == 2 + len(tracks)


def test_an_emotion_of_minus_one_is_no_label(model, emomv_c_dir, tmp_path):
    """datasets' ClassLabel stores -1 for a missing label, which was shown as EMOTIONS[-1] ("relaxing"); it is no
    label, and a label outside the taxonomy is refused in one line naming its row (by load_emomv)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    library = Path(shutil.copytree(emomv_c_dir, tmp_path / "library"))
    shard = library / "data" / "segments" / "validation-00000-of-00001.parquet"
    table = pq.read_table(shard)
    position, ids = table.schema.get_field_index("emotion"), table.column("segment_id").to_pylist()

    def write_labels(labels: list[int]) -> None:
        column = pa.array(labels, table.schema.field("emotion").type)
        pq.write_table(table.set_column(position, "emotion", column), shard)

    write_labels([-1] * len(ids))
    index = LibraryIndex.open(model, str(library), index_dir=tmp_path / "index", progress=False)
    found = MusicRecommender(model, index).recommend(segment=ids[0], top_k=len(ids))
    assert {item.emotion for item in found.items} == {None}
    write_labels([0] * (len(ids) - 2) + [-1, -2])
    with pytest.raises(ValueError, match=rf"validation\[{len(ids) - 1}\] field 'emotion': -2 is no class of"):
        LibraryIndex.open(model, str(library), index_dir=tmp_path / "other", progress=False)


def test_a_library_holding_a_segment_id_twice_is_refused(model, emomv_c_dir, tmp_path):
    """A library whose segment id repeats (someone else's Hub dataset, its splits overlapping): a segment query
    took the first row, the pair matcher (the Space's other tab) the last, and rankings named two segments alike.
    Both refuse it in one line naming the rows, as pairing does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    library = Path(shutil.copytree(emomv_c_dir, tmp_path / "library"))
    shard = library / "data" / "segments" / "validation-00000-of-00001.parquet"
    table = pq.read_table(shard)
    first, other = table.column("segment_id")[0].as_py(), table.slice(5, 1)
    again = other.set_column(other.schema.get_field_index("segment_id"), "segment_id", pa.array([first]))
    pq.write_table(pa.concat_tables([table, again]), shard)
    (library / "README.md").write_text(  # a card without the split sizes of EmoMV-C's
        "---\nconfigs:\n- config_name: segments\n  data_files:\n  - split: validation\n"
        "    path: data/segments/validation-*\n---\n",
        encoding="utf-8",
    )
    expected = rf"{library}: segment id '{first}' occurs twice, as validation\[0\] and validation\[96\]"
    with pytest.raises(ValueError, match=expected):
        LibraryIndex.open(model, str(library), index_dir=tmp_path / "index", progress=False)
    with pytest.raises(ValueError, match=expected):
        LibrarySegments(str(library))
    assert not (tmp_path / "index").exists()
