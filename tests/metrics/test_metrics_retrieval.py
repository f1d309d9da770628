"""Retrieval metrics: hand-computed cases (ties included), brute-force and scikit-learn agreement.

mAP, top-K and the counterpart metrics are ours (scikit-learn has no pessimistic-tie ranking metric with these
definitions), so scikit-learn's ``average_precision_score`` is an independent check where there are no ties.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

import emomv_hf.metrics.functional as functional
from emomv_hf.metrics.functional import (
    interpolated_precision_recall,
    retrieval_metrics,
    retrieval_metrics_both_directions,
)

GALLERY = [0, 1, 0, 2, 0]
SIMILARITY = [
    [0.9, 0.8, 0.1, 0.7, 0.5],  # query label 0
    [0.6, 0.2, 0.9, 0.3, 0.8],  # query label 1
]


def test_hand_computed_without_ties():
    # query 0 (label 0): order g0 R, g1 I, g3 I, g4 R, g2 R -> relevant at ranks 1, 4, 5
    #   AP = (1/1 + 2/4 + 3/5) / 3 = (1 + 0.5 + 0.6) / 3 = 0.7; hit in top 1
    # query 1 (label 1): order g2 I, g4 I, g0 I, g3 I, g1 R -> relevant at rank 5: AP = 1/5
    #   no hit in top 1 or top 3, hit in top 5
    # mAP = (0.7 + 0.2) / 2 = 0.45; top-1 = 1/2, top-3 = 1/2, top-5 = 2/2
    # counterparts [0, 1]: ranks 1 and 5 -> recall@1 = 1/2, recall@5 = recall@10 = 1, median (1 + 5) / 2 = 3
    results = retrieval_metrics(SIMILARITY, [0, 1], GALLERY, counterpart=[0, 1])
    assert results == pytest.approx(
        {
            "top1_accuracy": 0.5,
            "top3_accuracy": 0.5,
            "top5_accuracy": 1.0,
            "map": 0.45,
            "recall@1": 0.5,
            "recall@5": 1.0,
            "recall@10": 1.0,
            "median_rank": 3.0,
        }
    )
    assert list(results) == [
        "top1_accuracy",
        "top3_accuracy",
        "top5_accuracy",
        "map",
        "recall@1",
        "recall@5",
        "recall@10",
        "median_rank",
    ]
    assert all(type(value) is float for value in results.values())
    for scores, label, expected_ap in zip(SIMILARITY, [0, 1], [0.7, 0.2], strict=True):
        assert retrieval_metrics([scores], [label], GALLERY, counterpart=False)["map"] == pytest.approx(
            expected_ap
        )


def test_no_instance_metrics_without_counterpart_on_non_square_matrix():
    results = retrieval_metrics(SIMILARITY, [0, 1], GALLERY)
    assert set(results) == {"top1_accuracy", "top3_accuracy", "top5_accuracy", "map"}
    square = retrieval_metrics(np.eye(3), [0, 1, 2], [0, 1, 2], counterpart=False)
    assert "recall@1" not in square


def test_constant_scores_rank_irrelevant_items_first():
    # all four scores tie; pessimistic order I, I, R, R -> relevant at ranks 3 and 4
    # AP = (1/3 + 2/4) / 2 = 5/12; top-1: rank 1 is irrelevant -> 0; top-3: rank 3 is relevant -> 1
    # the counterpart (g0) ties with every item -> it ranks last: 4
    results = retrieval_metrics([[0.5, 0.5, 0.5, 0.5]], [0], [0, 0, 1, 1], counterpart=[0], ks=(1, 3))
    assert results == pytest.approx(
        {
            "top1_accuracy": 0.0,
            "top3_accuracy": 1.0,
            "map": 5 / 12,
            "recall@1": 0.0,
            "recall@5": 1.0,
            "recall@10": 1.0,
            "median_rank": 4.0,
        }
    )


@pytest.mark.parametrize("score", [0.0, np.nan])
def test_constant_score_model_scores_the_worst_possible(score):
    # NaN outputs (a diverged model, corrupted weights) score as a constant model does: no counterpart at rank 0.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=40)
    results = retrieval_metrics(np.full((40, 40), score), labels, labels)
    assert results["recall@1"] == 0.0 and results["median_rank"] == 40.0
    # every query: its R relevant items at the last R ranks of 40 -> AP = mean over j = 1..R of j / (40 - R + j)
    expected = []
    for label in labels:
        count = int(np.sum(labels == label))
        expected.append(np.mean([j / (40 - count + j) for j in range(1, count + 1)]))
    assert results["map"] == pytest.approx(np.mean(expected))


def test_a_nan_score_ranks_after_every_finite_one():
    # One NaN among finite scores ranks after them all: the counterpart g2 (NaN) is last, rank 3; the relevant
    # g0 is first, g2 (relevant, NaN) after the irrelevant g1: AP = (1/1 + 2/3) / 2.
    scores = [[0.9, 0.2, np.nan]]
    results = retrieval_metrics(scores, [0], [0, 1, 0], counterpart=[2], ks=(1,))
    assert results["median_rank"] == 3.0 and results["map"] == pytest.approx((1 + 2 / 3) / 2)


def test_partial_ties():
    # gallery labels [0, 1, 0, 1, 2], query label 0, scores [0.9, 0.9, 0.4, 0.4, 0.4]
    # block 0.9 = {g0 R, g1 I} -> g1 rank 1, g0 rank 2; block 0.4 = {g2 R, g3 I, g4 I} -> g3, g4, then g2 rank 5
    # AP = (1/2 + 2/5) / 2 = 0.45; top-1 0 (g1 irrelevant), top-3 1 (g0 at rank 2)
    # counterpart g0: 2 items score >= 0.9 -> rank 2; counterpart g2: all 5 score >= 0.4 -> rank 5
    scores = [[0.9, 0.9, 0.4, 0.4, 0.4]]
    results = retrieval_metrics(scores, [0], [0, 1, 0, 1, 2], counterpart=[0], ks=(1, 3))
    assert results["map"] == pytest.approx(0.45)
    assert results["top1_accuracy"] == 0.0 and results["top3_accuracy"] == 1.0
    assert results["median_rank"] == 2.0 and results["recall@1"] == 0.0
    assert retrieval_metrics(scores, [0], [0, 1, 0, 1, 2], counterpart=[2])["median_rank"] == 5.0


def test_query_without_relevant_item_is_left_out_with_warning():
    # third query has label 3, absent from the gallery: excluded from mAP and top-K, kept for recall
    similarity = [*SIMILARITY, [0.1, 0.2, 0.3, 0.9, 0.4]]
    with pytest.warns(RuntimeWarning, match="1 of 3 queries have no relevant gallery item"):
        results = retrieval_metrics(similarity, [0, 1, 3], GALLERY, counterpart=[0, 1, 3])
    assert results["map"] == pytest.approx(0.45)  # as without the third query
    assert results["top1_accuracy"] == pytest.approx(0.5)
    # counterpart ranks 1, 5, 1 -> recall@1 = 2/3, median 1
    assert results["recall@1"] == pytest.approx(2 / 3) and results["median_rank"] == 1.0


def test_no_query_with_relevant_item_gives_nan():
    with pytest.warns(RuntimeWarning, match="2 of 2 queries"):
        results = retrieval_metrics(np.eye(2), [3, 4], [0, 1])
    assert math.isnan(results["map"]) and math.isnan(results["top1_accuracy"])
    assert results["recall@1"] == 1.0


def test_k_beyond_gallery_size_means_whole_gallery():
    results = retrieval_metrics([[0.1, 0.9]], [0], [0, 1], ks=(1, 3, 5))
    assert results["top1_accuracy"] == 0.0 and results["top5_accuracy"] == 1.0


def test_both_directions_use_the_transpose_and_inverse_counterpart():
    similarity = np.array([[0.9, 0.2, 0.1], [0.3, 0.1, 0.8], [0.2, 0.7, 0.4]])
    video_labels, music_labels = [0, 1, 2], [0, 2, 1]
    counterpart = [0, 2, 1]  # video 1's music is music 2, video 2's is music 1
    results = retrieval_metrics_both_directions(
        similarity, video_labels, music_labels, counterpart=counterpart
    )
    forward = retrieval_metrics(similarity, video_labels, music_labels, counterpart=counterpart)
    backward = retrieval_metrics(similarity.T, music_labels, video_labels, counterpart=[0, 2, 1])
    assert results == {
        **{f"video_to_music/{key}": value for key, value in forward.items()},
        **{f"music_to_video/{key}": value for key, value in backward.items()},
    }
    # every video's best music is its counterpart, and it is relevant -> perfect in both directions
    assert results["video_to_music/map"] == 1.0 and results["music_to_video/recall@1"] == 1.0
    with pytest.raises(ValueError, match="one-to-one"):
        retrieval_metrics_both_directions(similarity, video_labels, music_labels, counterpart=[0, 0, 1])


def test_chunked_computation_matches_single_pass(monkeypatch):
    rng = np.random.default_rng(1)
    similarity = rng.integers(0, 4, size=(37, 23)).astype(float)  # many ties
    queries, gallery = rng.integers(0, 5, 37), rng.integers(0, 5, 23)
    counterpart = rng.integers(0, 23, 37)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = retrieval_metrics(similarity, queries, gallery, counterpart=counterpart)
        monkeypatch.setattr(functional, "_CHUNK_ELEMENTS", 50)  # 2 rows per chunk
        chunked = retrieval_metrics(similarity, queries, gallery, counterpart=counterpart)
    assert chunked == whole


def test_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    expected = retrieval_metrics(SIMILARITY, [0, 1], GALLERY, counterpart=[0, 1])
    got = retrieval_metrics(
        torch.tensor(SIMILARITY, dtype=torch.float32).double(),
        torch.tensor([0, 1]),
        torch.tensor(GALLERY),
        counterpart=torch.tensor([0, 1]),
    )
    assert got == expected


def test_fast_on_a_250_by_250_matrix():
    rng = np.random.default_rng(2)
    similarity = rng.normal(size=(250, 250))
    labels = rng.integers(0, 5, 250)
    retrieval_metrics_both_directions(similarity, labels, labels)  # warm-up
    start = time.perf_counter()
    retrieval_metrics_both_directions(similarity, labels, labels)
    assert time.perf_counter() - start < 0.5


# --- independent brute-force implementations -------------------------------------------------------


def _orderings_consistent_with_scores(scores):
    """Every ranking of the gallery that sorts the scores descending (ties in any order)."""
    for permutation in itertools.permutations(range(len(scores))):
        if all(scores[a] >= scores[b] for a, b in itertools.pairwise(permutation)):
            yield permutation


def _average_precision_of_ranking(relevant_in_rank_order):
    hits, precisions = 0, []
    for position, relevant in enumerate(relevant_in_rank_order, start=1):
        if relevant:
            hits += 1
            precisions.append(hits / position)  # eq. 6: r(j) / j
    return sum(precisions) / len(precisions)  # eq. 5


small_cases = (
    st.integers(1, 6)
    .flatmap(
        lambda num_gallery: st.tuples(
            st.lists(
                st.lists(st.integers(0, 3), min_size=num_gallery, max_size=num_gallery),
                min_size=1,
                max_size=4,
            ),
            st.lists(st.integers(0, 2), min_size=num_gallery, max_size=num_gallery),
        )
    )
    .flatmap(
        lambda case: st.tuples(
            st.just(case[0]),
            st.lists(st.integers(0, 2), min_size=len(case[0]), max_size=len(case[0])),
            st.just(case[1]),
        )
    )
)


@settings(max_examples=80, deadline=None)
@given(small_cases)
def test_pessimistic_rule_equals_worst_case_over_tie_orderings(case):
    """AP, top-K hits and counterpart rank are the worst over every ordering of the tied items."""
    similarity, query_labels, gallery_labels = case
    worst_ap, worst_hits, worst_rank = [], [], []
    for scores, label in zip(similarity, query_labels, strict=True):
        aps, hits, ranks = [], [], []
        for ranking in _orderings_consistent_with_scores(scores):
            relevant = [gallery_labels[item] == label for item in ranking]
            if any(relevant):
                aps.append(_average_precision_of_ranking(relevant))
                hits.append([any(relevant[:k]) for k in (1, 3, 5)])
            ranks.append(ranking.index(0) + 1)  # counterpart: gallery item 0
        worst_ap.append(min(aps) if aps else None)
        worst_hits.append([min(column) for column in zip(*hits, strict=True)] if hits else None)
        worst_rank.append(max(ranks))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = retrieval_metrics(
            similarity, query_labels, gallery_labels, counterpart=[0] * len(query_labels)
        )
    kept = [index for index, ap in enumerate(worst_ap) if ap is not None]
    if kept:
        assert results["map"] == pytest.approx(np.mean([worst_ap[index] for index in kept]))
        for column, k in enumerate((1, 3, 5)):
            assert results[f"top{k}_accuracy"] == pytest.approx(
                np.mean([worst_hits[index][column] for index in kept])
            )
    else:
        assert math.isnan(results["map"])
    assert results["median_rank"] == pytest.approx(np.median(worst_rank))
    assert results["recall@1"] == pytest.approx(np.mean([rank <= 1 for rank in worst_rank]))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 30).flatmap(
        lambda num_gallery: st.tuples(
            st.integers(0, 2**32 - 1), st.just(num_gallery), st.integers(1, 12), st.integers(1, 5)
        )
    )
)
def test_map_agrees_with_brute_force_and_scikit_learn(case):
    seed, num_gallery, num_queries, num_classes = case
    rng = np.random.default_rng(seed)
    similarity = rng.normal(size=(num_queries, num_gallery))  # continuous: no ties
    queries, gallery = rng.integers(0, num_classes, num_queries), rng.integers(0, num_classes, num_gallery)
    brute, sklearn_ap = [], []
    for scores, label in zip(similarity, queries, strict=True):
        relevant = gallery == label
        if not relevant.any():
            continue
        order = sorted(range(num_gallery), key=lambda item, s=scores: -s[item])
        brute.append(_average_precision_of_ranking([relevant[item] for item in order]))
        sklearn_ap.append(average_precision_score(relevant, scores))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = retrieval_metrics(similarity, queries, gallery)
    if brute:
        assert results["map"] == pytest.approx(np.mean(brute))
        assert results["map"] == pytest.approx(np.mean(sklearn_ap))
    else:
        assert math.isnan(results["map"])


def test_interpolated_precision_recall_hand_computed():
    # query 0 of SIMILARITY: relevant at ranks 1, 4, 5 (R = 3)
    #   (recall, precision) after each relevant: (1/3, 1), (2/3, 1/2), (1, 3/5)
    #   interpolated: r <= 1/3 -> 1; 1/3 < r <= 1 -> max(1/2, 3/5) = 3/5
    # query 1: relevant at rank 5 (R = 1): precision 1/5 at every recall level
    levels, precision = interpolated_precision_recall(SIMILARITY, [0, 1], GALLERY)
    chosen = [0, 30, 50, 100]
    np.testing.assert_allclose(levels[chosen], [0.0, 0.3, 0.5, 1.0])
    np.testing.assert_allclose(
        precision[chosen], [(1 + 0.2) / 2, (1 + 0.2) / 2, (0.6 + 0.2) / 2, (0.6 + 0.2) / 2]
    )
