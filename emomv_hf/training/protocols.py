"""The protocols: which pairs a run fits, which stop its training and which it reports on.

``paper`` stops on the validation split, ``held-out`` on a slice of the training split grouped by source video,
``cv`` runs grouped k-fold cross-validation; the tagger (``--task tagging``) holds out a grouped slice of the
training pairs' segments. Groups never split a source video (:func:`source_groups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import datasets
import numpy as np
import torch

from emomv_hf.data.loading import first_unlabelled, reporting_split
from emomv_hf.data.pairing import group_by_source
from emomv_hf.data.schema import segments_from_pairs, source_video_id
from emomv_hf.data.tensors import TAGGING_COLUMN_TO_ARGUMENT, TensorPairs

if TYPE_CHECKING:
    from emomv_hf.training.arguments import EmoMVTrainingArguments

PROTOCOLS = ("cv", "held-out", "paper")
"""The protocols, honest ones first: results tables list their columns in this order."""

PROTOCOL_DESCRIPTIONS = {
    "paper": "early stopping on the validation split, metrics reported on the test split when the dataset "
    "has one, else on the validation split (as the paper did for EmoMV-B and EmoMV-C)",
    "held-out": "early stopping on a seeded slice of the training split grouped by source video; the "
    "reported split is never seen during training",
    "cv": "grouped k-fold cross-validation over the training and validation pairs pooled (no source video in "
    "two folds); in each outer training fold the epoch budget is chosen by early stopping on a grouped "
    "held-out slice, then the model is retrained on the whole outer training fold for that many epochs and "
    "reported on the outer test fold; seed s is fold s mod k of repetition s div k",
}

DEFAULT_PATIENCE = {"paper": 20, "held-out": 100, "cv": 100}
"""Early-stopping patience when `--patience` is not given: the released code's 20 for the paper protocol, 100
where early stopping watches a small grouped slice of the training pairs (see docs/held-out-patience.md)."""


def source_groups(video_segment_ids: Sequence[str], music_segment_ids: Sequence[str]) -> dict[str, list[int]]:
    """Pair indices grouped so that no source video is in two groups (:func:`~emomv_hf.data.pairing.group_by_source`
    over the pairs' segment ids)."""
    return group_by_source(
        [source_video_id(video) for video in video_segment_ids],
        [source_video_id(music) for music in music_segment_ids],
    )


def grouped_holdout_indices(
    video_segment_ids: Sequence[str],
    music_segment_ids: Sequence[str],
    fraction: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Split pair indices into (fit, held-out) so that no source video appears on both sides.

    Whole :func:`source_groups` are drawn in a seeded order until ``fraction`` of the pairs is held out.
    """
    groups = source_groups(video_segment_ids, music_segment_ids)
    total = sum(len(rows) for rows in groups.values())
    group_keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(group_keys))
    target = round(fraction * total)
    if target == 0:
        raise ValueError(
            f"--held-out-fraction {fraction} holds out none of the {total} pairs: give a larger one"
        )
    held_out: list[int] = []
    for position in order:
        if len(held_out) >= target:
            break
        held_out.extend(groups[group_keys[position]])
    if len(held_out) == total:
        raise ValueError(f"cannot hold out a grouped slice: too few source-video groups ({len(groups)})")
    return np.setdiff1d(np.arange(total), held_out), np.sort(held_out)


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


@dataclass
class TrainingSplits:
    """The roles a protocol assigns: what is fitted, what stops training, what is reported (a split of the
    dataset, or the ``cv`` protocol's outer test fold as ``report_pairs``) and, for ``cv``, what the model is
    retrained on for the epoch budget that early stopping found (``refit``)."""

    train: TensorPairs
    stopping: TensorPairs
    stopping_name: str
    report_split: str
    report_pairs: datasets.Dataset | None = None
    refit: TensorPairs | None = None


def cv_folds(
    pairs: datasets.DatasetDict, num_folds: int, repetition: int
) -> tuple[datasets.Dataset, list[tuple[list[int], list[int]]]]:
    """The ``cv`` protocol's outer folds of one repetition: train + validation pooled, and the (training rows,
    test rows) of each source-grouped fold drawn with seed ``repetition``."""
    pooled = datasets.concatenate_datasets([pairs["train"], pairs["validation"]])
    folds = grouped_kfold_indices(
        pooled["video_segment_id"], pooled["music_segment_id"], pooled["label"], num_folds, repetition
    )
    return pooled, folds


def protocol_splits(
    pairs: datasets.DatasetDict, args: EmoMVTrainingArguments, device: torch.device | str = "cpu"
) -> TrainingSplits:
    """The splits ``args.protocol`` assigns for ``args.seed``, as tensors on ``device``.

    ``paper``: fit on train, stop on validation, report on the reported split. ``held-out``: fit on train less a
    grouped slice (seed ``args.seed``, no source video on both sides) that stops training; ``--task tagging``
    fits the segments of the training pairs instead (`segments_from_pairs`: each segment's video, music and
    emotion) and reports on the segments of the reported split. ``cv``, seed s: outer fold ``s % cv_folds`` of
    the source-grouped folds drawn with seed ``s // cv_folds`` over train + validation pooled is reported on;
    inside its outer training fold (``refit``), a grouped held-out slice (seed s) stops training.
    """
    read = {"train", reporting_split(pairs)} | ({"validation"} if args.protocol != "held-out" else set())
    # datasets' 'no label' (-1) would be trained on as a class index, or scored.
    if missing := first_unlabelled(pairs, sorted(read), ("label", "video_emotion", "music_emotion")):
        raise ValueError(f"{args.dataset}: {missing}: a run reads labelled pairs only")
    if args.protocol == "paper":
        train = TensorPairs.from_dataset(pairs["train"], device)
        stopping = TensorPairs.from_dataset(pairs["validation"], device)
        return TrainingSplits(train, stopping, "validation", reporting_split(pairs))
    report, report_pairs, fitted = reporting_split(pairs), None, pairs["train"]
    name = "train (grouped held-out slice, {held_out} pairs)"
    if args.protocol == "cv":
        repetition, fold = divmod(args.seed, args.cv_folds)
        pooled, folds = cv_folds(pairs, args.cv_folds, repetition)
        fitted, report_pairs = pooled.select(folds[fold][0]), pooled.select(folds[fold][1])
        report = f"cv-fold-{fold}-of-{args.cv_folds}-repetition-{repetition}"
        name = f"cv fold {fold} training pairs (grouped held-out slice, {{held_out}} pairs)"
    if args.task == "tagging":
        fitted = segments_from_pairs(pairs["train"])
        train = TensorPairs.from_dataset(fitted, device, TAGGING_COLUMN_TO_ARGUMENT)
        video_ids = music_ids = fitted["segment_id"]
        name = "train segments (grouped held-out slice, {held_out} of {total} segments)"
    else:
        train = TensorPairs.from_dataset(fitted, device)
        video_ids, music_ids = fitted["video_segment_id"], fitted["music_segment_id"]
    fit_rows, held_out_rows = grouped_holdout_indices(video_ids, music_ids, args.held_out_fraction, args.seed)
    name = name.format(held_out=len(held_out_rows), total=len(video_ids))
    refit = train if args.protocol == "cv" else None  # cv: retrained on for the epoch budget
    return TrainingSplits(
        train.select(fit_rows), train.select(held_out_rows), name, report, report_pairs, refit
    )
