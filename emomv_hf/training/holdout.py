"""Source-grouped splits of a pairs split: the held-out slice of the ``held-out`` protocol and the folds of ``cv``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emomv_hf.data.schema import source_video_id


def source_groups(video_segment_ids: Sequence[str], music_segment_ids: Sequence[str]) -> dict[str, list[int]]:
    """Pair indices grouped so that no source video is in two groups.

    Pairs are linked when they share a source video through either stream (a mismatched pair joins two
    sources); each group is one linked component, keyed by one of its sources.
    """
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    pair_sources = [
        (source_video_id(video), source_video_id(music))
        for video, music in zip(video_segment_ids, music_segment_ids, strict=True)
    ]
    for video_source, music_source in pair_sources:
        parent[find(video_source)] = find(music_source)
    groups: dict[str, list[int]] = {}
    for index, (video_source, _) in enumerate(pair_sources):
        groups.setdefault(find(video_source), []).append(index)
    return groups


def grouped_holdout_indices(
    video_segment_ids: Sequence[str],
    music_segment_ids: Sequence[str],
    fraction: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Split pair indices into (fit, held-out) so that no source video appears on both sides.

    Whole :func:`source_groups` are drawn in a seeded order until ``fraction`` of the pairs is held out.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"held-out fraction must be in (0, 1), got {fraction}")
    groups = source_groups(video_segment_ids, music_segment_ids)
    total = sum(len(rows) for rows in groups.values())
    group_keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(group_keys))
    target = round(fraction * total)
    held_out: list[int] = []
    for position in order:
        if len(held_out) >= target:
            break
        held_out.extend(groups[group_keys[position]])
    if not held_out or len(held_out) == total:
        raise ValueError("cannot hold out a grouped slice: too few source-video groups")
    held_out_mask = np.zeros(total, dtype=bool)
    held_out_mask[held_out] = True
    return np.flatnonzero(~held_out_mask), np.flatnonzero(held_out_mask)


def grouped_kfold_indices(
    video_segment_ids: Sequence[str],
    music_segment_ids: Sequence[str],
    labels: Sequence[int],
    folds: int,
    seed: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) pair indices of each of ``folds`` folds; no source video is in two folds.

    scikit-learn's shuffled `StratifiedGroupKFold` over the :func:`source_groups`, stratified by the
    matched/mismatched label: on EmoMV-C's 456 pooled pairs the five folds hold 89-93 pairs, 49-52 % matched.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    groups = source_groups(video_segment_ids, music_segment_ids)
    if len(groups) < folds:
        raise ValueError(f"cannot make {folds} source-grouped folds from {len(groups)} source-video groups")
    group_of_pair = np.empty(sum(len(rows) for rows in groups.values()), dtype=np.int64)
    for number, key in enumerate(sorted(groups)):
        group_of_pair[groups[key]] = number
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(group_of_pair, np.asarray(labels), groups=group_of_pair))
