"""The grouped held-out slice of the ``held-out`` protocol."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emomv_hf.data import source_video_id


def grouped_holdout_indices(
    video_segment_ids: Sequence[str],
    music_segment_ids: Sequence[str],
    fraction: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Split pair indices into (fit, held-out) so that no source video appears on both sides.

    Pairs are linked when they share a source video through either stream (a mismatched pair joins two
    sources); whole linked groups are drawn in a seeded order until ``fraction`` of the pairs is held out.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"held-out fraction must be in (0, 1), got {fraction}")
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

    group_keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(group_keys))
    target = round(fraction * len(pair_sources))
    held_out: list[int] = []
    for position in order:
        if len(held_out) >= target:
            break
        held_out.extend(groups[group_keys[position]])
    if not held_out or len(held_out) == len(pair_sources):
        raise ValueError("cannot hold out a grouped slice: too few source-video groups")
    held_out_mask = np.zeros(len(pair_sources), dtype=bool)
    held_out_mask[held_out] = True
    return np.flatnonzero(~held_out_mask), np.flatnonzero(held_out_mask)
