"""Matched and mismatched music-video pairs from labelled segments (paper, section 3.1).

The paper's recipe, for each split:

1. split the segments into two clusters with equal counts per emotion (an odd count gives the extra
   segment to cluster 1);
2. cluster 1 stays as matched pairs (a segment's own video and music);
3. cluster 2 becomes mismatched pairs by *swapping music* between two segments whose emotions form one of
   the eight allowed pairs (:data:`emomv_hf.emotions.ALLOWED_MISMATCH_PAIRS`): segments ``x`` (emotion A) and
   ``y`` (emotion B) give ``x`` video + ``y`` music and ``y`` video + ``x`` music, so the mismatch count
   matrix is symmetric;
4. cluster-2 segments left without a partner go back to the matched side;
5. optionally, matched pairs are dropped at random until matched and mismatched counts are equal (EmoMV-B
   and C; the EmoMV-A test split).

How many swaps each allowed emotion pair gets is not in the paper; :data:`SWAP_ALLOCATION_RULE` states the
rule used here. For EmoMV-C-style data :func:`split_by_source` makes the 80/20 split grouped by source
video with at most two segments per source; :func:`group_by_source` is the one grouping by source video of the
package (the held-out and cross-validation protocols group pairs with it too). Everything is pure: the output depends only on the input set
of segments and ``seed`` (not on the input order).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from emomv_hf.emotions import (
    ALLOWED_MISMATCH_PAIRS,
    EMOTIONS,
    EXCLUDED_MISMATCH_PAIRS,
    emotion_name,
    normalize_emotion,
)

from .schema import PAIR_SEPARATOR, make_pair_id, source_video_id

SWAP_ALLOCATION_RULE = (
    "Swaps are handed out one at a time. Each goes to the allowed emotion pair that has received the fewest "
    "swaps so far, among the pairs whose two emotions both still have unused cluster-2 segments and whose "
    "choice still allows the largest possible total number of swaps (a closed form, see `max_swaps`); ties go "
    "to the pair whose two emotions have the most unused segments, then to the first pair in the order "
    "exciting-fearful, exciting-tense, exciting-sad, exciting-relaxing, fearful-sad, fearful-relaxing, "
    "tense-sad, tense-relaxing. So the number of mismatched pairs is always the maximum the cluster allows, "
    "and the swaps are spread as evenly over the eight emotion pairs as that maximum permits. The seed only "
    "decides which segments fall in each cluster and which of them are swapped."
)


@dataclass(frozen=True)
class LabelledSegment:
    """A music video segment whose video and music carry ``emotion`` (canonical name)."""

    segment_id: str
    emotion: str
    source_id: str | None = None

    @property
    def source(self) -> str:
        """The source video (``source_id``, else derived from the id by :func:`source_video_id`)."""
        return self.source_id if self.source_id else source_video_id(self.segment_id)


@dataclass(frozen=True)
class Pair:
    """A music-video pair: the video of one segment with the music of the same or another segment."""

    pair_id: str
    video_segment_id: str
    music_segment_id: str
    video_emotion: str
    music_emotion: str

    @property
    def label(self) -> int:
        """1 matched, 0 mismatched (index into :data:`emomv_hf.emotions.MATCH_LABELS`)."""
        return int(self.video_segment_id == self.music_segment_id)


@dataclass(frozen=True)
class PairingResult:
    """Output of :func:`make_pairs`.

    ``pairs``: matched pairs (by emotion) then mismatched pairs (by video emotion, music emotion).
    ``swaps``: number of music swaps per allowed emotion pair (each swap is two mismatched pairs).
    ``unused_segment_ids``: segments left out by balancing.
    """

    pairs: tuple[Pair, ...]
    swaps: dict[tuple[str, str], int] = field(default_factory=dict)
    unused_segment_ids: tuple[str, ...] = ()

    @property
    def num_matched(self) -> int:
        return sum(pair.label for pair in self.pairs)

    @property
    def num_mismatched(self) -> int:
        return len(self.pairs) - self.num_matched


def mismatch_matrix(emotion_pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """5 x 5 counts of (video emotion, music emotion) class indices over mismatched pairs."""
    matrix = [[0] * len(EMOTIONS) for _ in EMOTIONS]
    for video, music in emotion_pairs:
        matrix[video][music] += 1
    return matrix


# --------------------------------------------------------------------------------------------------------
# Swap allocation
# --------------------------------------------------------------------------------------------------------


# Emotions that may not be swapped with each other: each excluded pair, and every other emotion alone. The
# closed form of max_swaps needs the excluded pairs to be disjoint (true for the paper's two), so that the
# allowed pairs are exactly the pairs across groups: swapping is a matching in a complete multipartite graph
# (both facts are checked in tests/data/test_pairing.py).
_GROUPS: list[frozenset[str]] = [
    *EXCLUDED_MISMATCH_PAIRS,
    *(
        frozenset({emotion})
        for emotion in EMOTIONS
        if not any(emotion in pair for pair in EXCLUDED_MISMATCH_PAIRS)
    ),
]


def max_swaps(counts: Mapping[str, int]) -> int:
    """Largest number of swaps that the per-emotion segment ``counts`` allow.

    Swaps pair two segments from different groups ({fearful, tense}, {sad, relaxing}, {exciting}), so with
    group sizes ``g`` and total ``T`` the maximum is ``min(T // 2, T - max(g))``: everything pairs up unless
    one group outnumbers all the others together.
    """
    sizes = [sum(int(counts.get(emotion, 0)) for emotion in group) for group in _GROUPS]
    total = sum(sizes)
    return min(total // 2, total - max(sizes))


def allocate_swaps(counts: Mapping[str, int]) -> dict[tuple[str, str], int]:
    """Number of swaps per allowed emotion pair, given cluster-2 segment counts per emotion, by the deterministic
    rule of :data:`SWAP_ALLOCATION_RULE` (the total is :func:`max_swaps`, spread as evenly as it allows)."""
    remaining = {emotion: int(counts.get(emotion, 0)) for emotion in EMOTIONS}
    swaps = dict.fromkeys(ALLOWED_MISMATCH_PAIRS, 0)
    target = max_swaps(remaining)
    for step in range(target):
        best = None
        for order, (a, b) in enumerate(ALLOWED_MISMATCH_PAIRS):
            if remaining[a] == 0 or remaining[b] == 0:
                continue
            after = dict(remaining, **{a: remaining[a] - 1, b: remaining[b] - 1})
            if max_swaps(after) != target - step - 1:
                continue
            key = (swaps[(a, b)], -(remaining[a] + remaining[b]), order)
            if best is None or key < best[0]:
                best = (key, (a, b))
        assert best is not None, "max_swaps guarantees a feasible swap"
        a, b = best[1]
        swaps[(a, b)] += 1
        remaining[a] -= 1
        remaining[b] -= 1
    return swaps


# --------------------------------------------------------------------------------------------------------
# Pairing
# --------------------------------------------------------------------------------------------------------


def coerce_segments(segments: Iterable[LabelledSegment | Mapping | Sequence]) -> list[LabelledSegment]:
    """Accept :class:`LabelledSegment`, mappings (``segment_id``, ``emotion``, optional ``source_id``) or
    ``(segment_id, emotion[, source_id])`` tuples; normalise emotions and reject duplicated ids."""
    result = []
    seen = set()
    for item in segments:
        if isinstance(item, LabelledSegment):
            segment_id, emotion, source = item.segment_id, item.emotion, item.source_id
        elif isinstance(item, Mapping):
            segment_id, emotion, source = item["segment_id"], item["emotion"], item.get("source_id")
        else:
            segment_id, emotion, source = (*item, None)[:3]
        segment_id = str(segment_id)
        if not segment_id:
            raise ValueError("empty segment id")
        if PAIR_SEPARATOR in segment_id:
            raise ValueError(
                f"segment id {segment_id!r} contains {PAIR_SEPARATOR!r}, which separates pair ids"
            )
        if segment_id in seen:
            raise ValueError(f"duplicated segment id {segment_id!r}")
        seen.add(segment_id)
        name = emotion_name(emotion) if isinstance(emotion, int) else normalize_emotion(str(emotion))
        result.append(LabelledSegment(segment_id, name, str(source) if source else None))
    return result


def make_pairs(
    segments: Iterable[LabelledSegment | Mapping | Sequence], *, seed: int = 0, balance: bool = True
) -> PairingResult:
    """Matched and mismatched pairs from labelled segments, following the paper (section 3.1).

    Args:
        segments: segments with their emotion (see :func:`coerce_segments` for accepted forms).
        seed: seeds the cluster split, which segments are swapped, and which matched pairs balancing drops.
        balance: drop matched pairs at random until matched and mismatched counts are equal.

    Returns:
        A :class:`PairingResult`; the swaps among the eight allowed emotion pairs follow :func:`allocate_swaps`.
    """
    items = sorted(coerce_segments(segments), key=lambda segment: segment.segment_id)
    rng = random.Random(seed)
    by_emotion: dict[str, list[str]] = defaultdict(list)
    for segment in items:
        by_emotion[segment.emotion].append(segment.segment_id)

    # Step 1: equal per-emotion counts in both clusters; the odd segment stays matched (843 -> 422 + 421).
    matched_ids: dict[str, list[str]] = {}
    cluster2: dict[str, list[str]] = {}
    for emotion in EMOTIONS:
        ids = list(by_emotion.get(emotion, []))
        rng.shuffle(ids)
        keep = len(ids) - len(ids) // 2
        matched_ids[emotion], cluster2[emotion] = ids[:keep], ids[keep:]

    # Step 3: swap music within cluster 2.
    swaps = allocate_swaps({emotion: len(ids) for emotion, ids in cluster2.items()})
    unused = {emotion: iter(ids) for emotion, ids in cluster2.items()}
    mismatched: list[Pair] = []
    for (a, b), count in swaps.items():
        for _ in range(count):
            x, y = next(unused[a]), next(unused[b])
            mismatched.append(Pair(make_pair_id(x, y), x, y, a, b))
            mismatched.append(Pair(make_pair_id(y, x), y, x, b, a))

    # Step 4: cluster-2 leftovers are plain segments again, hence matched pairs.
    matched: list[Pair] = []
    for emotion in EMOTIONS:
        for segment_id in [*matched_ids[emotion], *unused[emotion]]:
            matched.append(Pair(segment_id, segment_id, segment_id, emotion, emotion))

    # Step 5: balancing only ever drops matched pairs (cluster 1 is at least as large as cluster 2).
    dropped: list[str] = []
    if balance and len(matched) > len(mismatched):
        keep_index = set(rng.sample(range(len(matched)), len(mismatched)))
        dropped = [pair.pair_id for i, pair in enumerate(matched) if i not in keep_index]
        matched = [pair for i, pair in enumerate(matched) if i in keep_index]

    order = {emotion: i for i, emotion in enumerate(EMOTIONS)}
    mismatched.sort(key=lambda pair: (order[pair.video_emotion], order[pair.music_emotion]))  # stable
    return PairingResult(pairs=(*matched, *mismatched), swaps=swaps, unused_segment_ids=tuple(dropped))


# --------------------------------------------------------------------------------------------------------
# Grouped train/validation split (EmoMV-C)
# --------------------------------------------------------------------------------------------------------


def group_by_source(video_sources: Sequence[str], music_sources: Sequence[str]) -> dict[str, list[int]]:
    """Indices of pairs grouped by connected source videos, so that no source is in two groups.

    Pair ``i`` has the source videos ``video_sources[i]`` and ``music_sources[i]`` (a segment, or a matched pair,
    has the same source twice; :func:`.schema.source_video_id` derives a source from a segment id). Pairs are
    linked when they share a source through either stream, so a mismatched pair joins two sources; each group
    is one linked component, keyed by one of its sources, with its pair indices in increasing order.
    """
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for video_source, music_source in zip(video_sources, music_sources, strict=True):
        parent[find(video_source)] = find(music_source)
    groups: dict[str, list[int]] = {}
    for index, video_source in enumerate(video_sources):
        groups.setdefault(find(video_source), []).append(index)
    return groups


@dataclass(frozen=True)
class SourceSplit:
    """Output of :func:`split_by_source`: segments per split and those dropped by the per-source cap."""

    train: tuple[LabelledSegment, ...]
    validation: tuple[LabelledSegment, ...]
    dropped: tuple[LabelledSegment, ...]


def split_by_source(
    segments: Iterable[LabelledSegment | Mapping | Sequence],
    *,
    seed: int = 0,
    validation_fraction: float = 0.2,
    max_per_source: int | None = 2,
) -> SourceSplit:
    """Train/validation split grouped by source video (EmoMV-C: 80/20, at most two segments per source).

    First, sources with more than ``max_per_source`` segments keep a seeded random ``max_per_source`` of them
    (the paper drops the rest as near-duplicates). Then sources, in seeded random order, fill validation as
    long as it stays within ``round(validation_fraction * kept)`` segments; the rest is train. Segments of one
    source never end up in both splits.
    """
    if not 0.0 <= validation_fraction <= 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1], got {validation_fraction}")
    if max_per_source is not None and max_per_source < 1:
        raise ValueError(f"max_per_source must be at least 1, got {max_per_source}")
    items = sorted(coerce_segments(segments), key=lambda segment: segment.segment_id)
    rng = random.Random(seed)
    segment_sources = [segment.source for segment in items]
    by_source = group_by_source(segment_sources, segment_sources)

    kept: dict[str, list[LabelledSegment]] = {}
    dropped: list[LabelledSegment] = []
    for source in sorted(by_source):
        group = [items[index] for index in by_source[source]]
        if max_per_source is not None and len(group) > max_per_source:
            rng.shuffle(group)
            dropped.extend(group[max_per_source:])
            group = sorted(group[:max_per_source], key=lambda segment: segment.segment_id)
        kept[source] = group

    target = round(validation_fraction * sum(len(group) for group in kept.values()))
    sources = sorted(kept)
    rng.shuffle(sources)
    validation_sources = set()
    size = 0
    for source in sources:
        if size + len(kept[source]) <= target:
            validation_sources.add(source)
            size += len(kept[source])
    train = [s for source in sorted(kept) if source not in validation_sources for s in kept[source]]
    validation = [s for source in sorted(kept) if source in validation_sources for s in kept[source]]
    return SourceSplit(tuple(train), tuple(validation), tuple(sorted(dropped, key=lambda s: s.segment_id)))
