"""Invariants of the pairing recipe (paper 3.1) and of the grouped split, as property tests."""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emomv_hf.data import pairing
from emomv_hf.data.pairing import (
    LabelledSegment,
    allocate_swaps,
    group_by_source,
    make_pairs,
    max_swaps,
    mismatch_matrix,
    split_by_source,
)
from emomv_hf.data.release import get_layout, read_pair_csv
from emomv_hf.data.schema import source_video_id
from emomv_hf.emotions import ALLOWED_MISMATCH_PAIRS, EMOTIONS, is_allowed_mismatch

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)

counts_strategy = st.lists(st.integers(0, 25), min_size=5, max_size=5)


def make_segments(counts: list[int], per_source: int = 3) -> list[LabelledSegment]:
    """Segments ``src<k>_<NN>`` (EmoMV-C style ids), ``per_source`` segments per source video."""
    segments = []
    index = 0
    for emotion, count in zip(EMOTIONS, counts, strict=True):
        for _ in range(count):
            segments.append(LabelledSegment(f"src{index // per_source}_{index % per_source:02d}", emotion))
            index += 1
    return segments


@st.composite
def segment_sets(draw):
    counts = draw(counts_strategy)
    return make_segments(counts, per_source=draw(st.integers(1, 4)))


# --------------------------------------------------------------------------------------------------------
# make_pairs
# --------------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(segments=segment_sets(), seed=st.integers(0, 2**32 - 1), balance=st.booleans())
def test_make_pairs_invariants(segments, seed, balance):
    result = make_pairs(segments, seed=seed, balance=balance)
    emotion = {s.segment_id: s.emotion for s in segments}
    pairs = result.pairs

    # No segment used twice: each segment's video at most once, its music at most once.
    videos = [p.video_segment_id for p in pairs]
    musics = [p.music_segment_id for p in pairs]
    assert len(set(videos)) == len(videos) and len(set(musics)) == len(musics)
    assert set(videos) == set(musics) <= set(emotion)
    assert len({p.pair_id for p in pairs}) == len(pairs)

    for pair in pairs:
        assert pair.video_emotion == emotion[pair.video_segment_id]
        assert pair.music_emotion == emotion[pair.music_segment_id]
        if pair.label == 1:
            assert pair.pair_id == pair.video_segment_id == pair.music_segment_id
        else:
            # Never a same-emotion or an excluded (fearful-tense, sad-relaxing) mismatch.
            assert is_allowed_mismatch(pair.video_emotion, pair.music_emotion)
            assert pair.pair_id == f"{pair.video_segment_id}_PAIR_{pair.music_segment_id}"

    # Swaps: every mismatched x_PAIR_y has its y_PAIR_x, so the count matrix is symmetric.
    mismatched = {(p.video_segment_id, p.music_segment_id) for p in pairs if not p.label}
    assert all((m, v) in mismatched for v, m in mismatched)
    indices = [
        (EMOTIONS.index(p.video_emotion), EMOTIONS.index(p.music_emotion)) for p in pairs if not p.label
    ]
    matrix = mismatch_matrix(indices)
    assert all(matrix[i][j] == matrix[j][i] for i in range(5) for j in range(5))
    assert sum(result.swaps.values()) * 2 == result.num_mismatched

    # Cluster 2 holds half of each emotion (rounded down); the number of swaps is the most it allows.
    per_emotion = Counter(s.emotion for s in segments)
    swapped = Counter(p.video_emotion for p in pairs if not p.label)
    assert all(swapped[e] <= per_emotion[e] // 2 for e in EMOTIONS)
    assert sum(result.swaps.values()) == max_swaps({e: n // 2 for e, n in per_emotion.items()})

    if balance:
        assert result.num_matched == result.num_mismatched
        # Balancing only drops matched pairs; every segment is either in a pair or reported unused.
        assert not set(result.unused_segment_ids) & set(videos)
        assert sorted([*result.unused_segment_ids, *videos]) == sorted(emotion)
    else:
        # Leftovers return to the matched side: every segment is in exactly one pair as video.
        assert sorted(videos) == sorted(emotion) and result.unused_segment_ids == ()


@PROPERTY_SETTINGS
@given(segments=segment_sets(), seed=st.integers(0, 1000), shuffle_seed=st.integers(0, 1000))
def test_make_pairs_is_pure_and_order_independent(segments, seed, shuffle_seed):
    shuffled = list(segments)
    random.Random(shuffle_seed).shuffle(shuffled)
    assert make_pairs(segments, seed=seed) == make_pairs(shuffled, seed=seed)
    assert make_pairs(segments, seed=seed) == make_pairs(list(segments), seed=seed)


def test_make_pairs_seed_changes_clusters():
    segments = make_segments([20, 20, 20, 20, 20])
    results = {make_pairs(segments, seed=seed).pairs for seed in range(5)}
    assert len(results) > 1


def test_make_pairs_paper_example():
    # Paper 3.1: 843 exciting train segments are split 422 (matched) + 421 (mismatch cluster).
    segments = make_segments([843, 0, 0, 0, 0])
    result = make_pairs(segments, seed=0, balance=False)
    # Nothing to swap with: all 843 stay matched.
    assert result.num_matched == 843 and result.num_mismatched == 0


def test_make_pairs_accepts_mappings_tuples_and_spellings():
    rows = [
        {"segment_id": "a_01", "emotion": "Exciting"},
        ("b_01", "fear"),
        ("c_01", 0, "c"),
        LabelledSegment("d_01", "fearful"),
    ]
    result = make_pairs(rows, seed=1, balance=False)
    assert {p.video_emotion for p in result.pairs} == {"exciting", "fearful"}
    assert result.num_mismatched == 2


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("a", "sad"), ("a", "sad")], "duplicated"),
        ([("a", "angry")], "unknown emotion"),
        ([("x_PAIR_y", "sad")], "_PAIR_"),
    ],
)
def test_make_pairs_rejects_bad_segments(rows, message):
    with pytest.raises(ValueError, match=message):
        make_pairs(rows)


# --------------------------------------------------------------------------------------------------------
# Swap allocation
# --------------------------------------------------------------------------------------------------------


def test_swap_groups_are_disjoint_and_give_exactly_the_allowed_pairs():
    groups = pairing._GROUPS
    assert len(set().union(*groups)) == sum(len(group) for group in groups) == len(EMOTIONS)
    assert {frozenset(pair) for pair in ALLOWED_MISMATCH_PAIRS} == {
        frozenset({a, b})
        for a in EMOTIONS
        for b in EMOTIONS
        if a != b and not any({a, b} <= g for g in groups)
    }


@cache
def brute_force_max(counts: tuple[int, ...]) -> int:
    best = 0
    for a, b in ALLOWED_MISMATCH_PAIRS:
        i, j = EMOTIONS.index(a), EMOTIONS.index(b)
        if counts[i] and counts[j]:
            rest = list(counts)
            rest[i] -= 1
            rest[j] -= 1
            best = max(best, 1 + brute_force_max(tuple(rest)))
    return best


def test_max_swaps_closed_form_matches_brute_force():
    for counts in itertools.product(range(4), repeat=5):
        assert max_swaps(dict(zip(EMOTIONS, counts, strict=True))) == brute_force_max(counts), counts


@PROPERTY_SETTINGS
@given(counts=counts_strategy)
def test_allocate_swaps_is_maximal_feasible_and_even(counts):
    available = dict(zip(EMOTIONS, counts, strict=True))
    swaps = allocate_swaps(available)
    assert set(swaps) == set(ALLOWED_MISMATCH_PAIRS)
    used = Counter()
    for (a, b), n in swaps.items():
        used[a] += n
        used[b] += n
    assert all(used[e] <= available[e] for e in EMOTIONS)
    assert sum(swaps.values()) == max_swaps(available)
    # Evenness: no swap can move from an emotion pair to one with at least two fewer swaps.
    remaining = {e: available[e] - used[e] for e in EMOTIONS}
    for p, q in itertools.permutations(ALLOWED_MISMATCH_PAIRS, 2):
        if swaps[p] >= swaps[q] + 2:
            after = Counter(remaining)
            after.update({p[0]: 1, p[1]: 1})
            after.subtract({q[0]: 1, q[1]: 1})
            assert min(after.values()) < 0, (counts, p, q, swaps)


def test_allocate_swaps_examples():
    even = allocate_swaps(dict.fromkeys(EMOTIONS, 20))
    assert sum(even.values()) == 50
    assert max(even.values()) - min(even.values()) <= 3
    # Sad + relaxing outnumber everything else: every exciting, fearful and tense segment pairs with them.
    swaps = allocate_swaps({"exciting": 70, "fearful": 14, "tense": 21, "sad": 56, "relaxing": 70})
    assert swaps[("exciting", "fearful")] == swaps[("exciting", "tense")] == 0
    assert sum(swaps.values()) == 105
    assert allocate_swaps({}) == dict.fromkeys(ALLOWED_MISMATCH_PAIRS, 0)


# --------------------------------------------------------------------------------------------------------
# Grouped split
# --------------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    segments=segment_sets(),
    seed=st.integers(0, 1000),
    fraction=st.floats(0.0, 1.0),
    cap=st.sampled_from([None, 1, 2, 3]),
)
def test_split_by_source_invariants(segments, seed, fraction, cap):
    split = split_by_source(segments, seed=seed, validation_fraction=fraction, max_per_source=cap)
    train_sources = {s.source for s in split.train}
    validation_sources = {s.source for s in split.validation}
    assert not train_sources & validation_sources
    kept = [*split.train, *split.validation]
    assert sorted(s.segment_id for s in [*kept, *split.dropped]) == sorted(s.segment_id for s in segments)
    per_source = Counter(s.source for s in kept)
    if cap is not None:
        assert max(per_source.values(), default=0) <= cap
        # Only sources above the cap lose segments.
        before = Counter(s.source for s in segments)
        assert all(per_source[source] == min(n, cap) for source, n in before.items())
    assert len(split.validation) <= round(fraction * len(kept))
    assert split == split_by_source(
        list(reversed(segments)), seed=seed, validation_fraction=fraction, max_per_source=cap
    )


def test_split_by_source_is_about_80_20():
    segments = make_segments([60, 60, 60, 60, 60], per_source=2)
    split = split_by_source(segments, seed=3)
    assert len(split.validation) == 60 and len(split.train) == 240 and not split.dropped


def test_group_by_source_links_the_sources_of_mismatched_pairs():
    # Pairs 0 (a-a) and 2 (b-b) are linked by the mismatched pair 1 (a video, b music); c stays alone.
    groups = group_by_source(["a", "a", "b", "c"], ["a", "b", "b", "c"])
    assert sorted(groups.values()) == [[0, 1, 2], [3]]
    assert group_by_source(["s1", "s2", "s1"], ["s1", "s2", "s1"]) == {"s1": [0, 2], "s2": [1]}


def test_source_video_id():
    assert source_video_id("yA9WhYnsD_4_06") == "yA9WhYnsD_4"
    assert source_video_id("rp1lHx8vCgc_02") == "rp1lHx8vCgc"
    assert source_video_id("-Wz9_Q5Um1c") == "-Wz9_Q5Um1c"  # EmoMV-B: a bare YouTube id
    assert source_video_id("_12") == "_12"
    assert source_video_id("abc") == "abc"
    assert LabelledSegment("x_1", "sad", source_id="movie").source == "movie"


def test_the_segments_of_one_mved_video_are_one_source(release_dir):
    """EmoMV-A (MVED) segment ids are ``<emotion>_<video>-<k>-of-<n>``, segment k of the n cut from one video (which
    may carry other emotions): one source, so a grouped split (and the held-out and cv protocols) keeps a video's
    segments on one side. Checked on the real EmoMV-A training pairs."""
    assert (
        source_video_id("fear_TEST_MV(63)-2-of-9")
        == source_video_id("tense_TEST_MV(63)-8-of-9")
        == "TEST_MV(63)"
    )
    assert source_video_id("exciting_ORG_EXT(52)") == "exciting_ORG_EXT(52)"  # a whole MVED clip
    pairs = read_pair_csv(release_dir / get_layout("emomv-a").pair_splits[0].csv)
    # Numbered MVED clips ("relax_112", 232 segments of EmoMV-A train) are not segments 112 etc. of one video
    # "relax": each is its own source, or a grouped split would keep all of one emotion's on one side.
    numbered = {p.video_segment_id for p in pairs if re.fullmatch(r"[a-z]+_\d+", p.video_segment_id)}
    assert len(numbered) > 100
    assert {source_video_id(segment) for segment in numbered} == numbered
    assert (
        source_video_id("rp1lHx8vCgc_02") == "rp1lHx8vCgc"
        and source_video_id("Fear-video1_02") == "Fear-video1"
    )
    split = split_by_source(
        [LabelledSegment(p.video_segment_id, p.video_emotion) for p in pairs if p.label], max_per_source=None
    )

    def videos(segments):
        cut = (re.fullmatch(r"[a-z]+_(.+)-\d+-of-\d+", s.segment_id) for s in segments)
        return {match.group(1) for match in cut if match}

    assert len(videos(split.validation)) > 10
    assert videos(split.train).isdisjoint(videos(split.validation))
