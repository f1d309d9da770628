#!/usr/bin/env python
"""Choose the emotion tagger's training settings by grouped cross-validation on the training split alone.

    python examples/tagging/select_hyperparameters.py --dataset DIR [--folds 5] [--candidates NAME,NAME]

For each candidate (training flags and config overrides), fold k of a source-grouped, emotion-stratified k-fold
split of the training segments is the selection fold; the other folds train a tagger exactly as
``examples/train.py --task tagging --protocol held-out`` does (early stopping on a grouped held-out slice of
them, seed k; with ``"refit": True`` then retrained from the same initialisation on all of them for the epochs
early stopping chose, as the ``cv`` protocol does; with ``"members": K``, K such taggers with the seeds of
``--ensemble-size K`` and their mean probabilities scored; with ``"projections_from": "correspondence"``, the
tagger's projections come from a multi-task correspondence model, ``train.py --task correspondence --protocol
held-out --seed k`` on the training pairs whose two segments are both in the other folds). Prints each
candidate's mean selection-fold accuracy and macro-F1 per input. The validation split is never read: it stays
the reported split.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import datasets
import numpy as np
import torch
import transformers

from emomv_hf.data.loading import first_unlabelled, load_emomv
from emomv_hf.data.schema import segments_from_pairs
from emomv_hf.data.tensors import TAGGING_COLUMN_TO_ARGUMENT, TensorPairs
from emomv_hf.evaluation import evaluate_tagging
from emomv_hf.metrics import tagging_metrics
from emomv_hf.training import EmoMVTrainingArguments, make_accelerator
from emomv_hf.training.pipeline import member_seeds, projection_source, train_on_splits
from emomv_hf.training.protocols import TrainingSplits, grouped_holdout_indices, grouped_kfold_indices

BASE = {"learning_rate": 5e-4, "batch_size": 30, "max_epochs": 200, "patience": 30}
"""The paper's training of its tagger (section 3.2): Adam, lr 0.0005, batch 30, 200 epochs, patience 30."""

CANDIDATES: dict[str, dict] = {
    "paper": {},
    "no-weight-decay": {"weight_decay": 0.0},
    "weight-decay-0.01": {"weight_decay": 0.01},
    "input-dropout-0.8": {"config_overrides": "projection_dropout=0.8"},
    "hidden-32": {"config_overrides": "hidden_size=32,intermediate_size=64"},
    "lr-1e-4": {"learning_rate": 1e-4},
    "input-dropout-0.2": {"config_overrides": "projection_dropout=0.2"},
    "weight-decay-0.01-input-dropout-0.8": {
        "weight_decay": 0.01,
        "config_overrides": "projection_dropout=0.8",
    },
    "hidden-128": {"config_overrides": "hidden_size=128,intermediate_size=256"},
    "two-layers": {"config_overrides": "num_hidden_layers=2"},
    "batch-64": {"batch_size": 64},
    "weight-decay-0.001": {"weight_decay": 0.001},
    "weight-decay-0.01-patience-60": {"weight_decay": 0.01, "patience": 60, "max_epochs": 400},
    "weight-decay-0.01-hidden-dropout-0.3": {"weight_decay": 0.01, "config_overrides": "hidden_dropout=0.3"},
    "weight-decay-0.01-label-smoothing-0.1": {
        "weight_decay": 0.01,
        "config_overrides": "label_smoothing=0.1",
    },
    "weight-decay-0.01-two-layers": {"weight_decay": 0.01, "config_overrides": "num_hidden_layers=2"},
    "two-layers-input-dropout-0.8": {"config_overrides": "num_hidden_layers=2,projection_dropout=0.8"},
    "package-defaults": {"learning_rate": 1e-4, "batch_size": 256, "max_epochs": 1000, "patience": 100},
    "two-layers-refit": {"config_overrides": "num_hidden_layers=2", "refit": True},
    "package-defaults-two-layers": {
        "learning_rate": 1e-4,
        "batch_size": 256,
        "max_epochs": 1000,
        "patience": 100,
        "config_overrides": "num_hidden_layers=2",
    },
    "two-layers-balanced": {"config_overrides": "num_hidden_layers=2,class_weighting=balanced"},
    "two-layers-stream-heads": {"config_overrides": "num_hidden_layers=2,stream_heads=True"},
    "two-layers-balanced-stream-heads": {
        "config_overrides": "num_hidden_layers=2,class_weighting=balanced,stream_heads=True"
    },
    "balanced": {"config_overrides": "class_weighting=balanced"},
    "two-layers-stop-on-error": {"config_overrides": "num_hidden_layers=2", "stopping_loss": "error"},
    "stop-on-error": {"stopping_loss": "error"},
    "stream-heads": {"config_overrides": "stream_heads=True"},
    "two-layers-5-seeds": {"config_overrides": "num_hidden_layers=2", "members": 5},
    "two-layers-weight-decay-0.3": {"weight_decay": 0.3, "config_overrides": "num_hidden_layers=2"},
    "two-layers-weight-decay-1": {"weight_decay": 1.0, "config_overrides": "num_hidden_layers=2"},
    "two-layers-weight-decay-3": {"weight_decay": 3.0, "config_overrides": "num_hidden_layers=2"},
    "two-layers-correspondence-projections": {
        "config_overrides": "num_hidden_layers=2",
        "projections_from": "correspondence",
    },
    "correspondence-projections": {"projections_from": "correspondence"},
}


def fold_correspondence_model(
    dataset: str, pairs: datasets.Dataset, fitted_segments: set[str], seed: int, directory: Path
) -> str:
    """Train a multi-task correspondence model as ``train.py --task correspondence --protocol held-out --seed
    SEED`` would, but on the training ``pairs`` of ``dataset`` whose video and music segments are both in
    ``fitted_segments``; save it in ``directory`` and return that path."""
    rows = [
        row
        for row, (video, music) in enumerate(
            zip(pairs["video_segment_id"], pairs["music_segment_id"], strict=True)
        )
        if video in fitted_segments and music in fitted_segments
    ]
    fold_pairs = pairs.select(rows)
    args = EmoMVTrainingArguments(
        dataset=dataset, task="correspondence", protocol="held-out", seed=seed, progress=False
    )
    data = TensorPairs.from_dataset(fold_pairs)
    fit, held_out = grouped_holdout_indices(
        fold_pairs["video_segment_id"], fold_pairs["music_segment_id"], args.held_out_fraction, seed
    )
    splits = TrainingSplits(data.select(fit), data.select(held_out), "held-out slice", "selection fold")
    model, _ = train_on_splits(args, splits, make_accelerator(args, cpu=True), projection_source(args))
    model.save_pretrained(directory)
    return str(directory)


def cross_validate(dataset: str, candidate: dict, folds: int) -> dict[str, float]:
    pairs = load_emomv(dataset, "pairs")["train"]
    segments = segments_from_pairs(pairs)
    ids, emotions = segments["segment_id"], segments["emotion"]
    scores: dict[str, list[float]] = {}
    candidate = dict(candidate)
    refit = candidate.pop("refit", False)
    members = candidate.pop("members", 1)
    projections = candidate.pop("projections_from", None)
    scratch = tempfile.TemporaryDirectory(prefix="emomv-selection-")
    for fold, (train_rows, selection_rows) in enumerate(grouped_kfold_indices(ids, ids, emotions, folds, 0)):
        if projections == "correspondence":
            fitted_segments = {ids[row] for row in train_rows}
            directory = Path(scratch.name) / f"fold-{fold}"
            candidate["projections_from"] = fold_correspondence_model(
                dataset, pairs, fitted_segments, fold, directory
            )
        args = EmoMVTrainingArguments(
            dataset=dataset,
            task="tagging",
            protocol="held-out",
            seed=fold,
            progress=False,
            **{**BASE, **candidate},
        )
        data = TensorPairs.from_dataset(
            segments.select(train_rows), column_to_argument=TAGGING_COLUMN_TO_ARGUMENT
        )
        train_ids = [ids[row] for row in train_rows]
        fit, held_out = grouped_holdout_indices(train_ids, train_ids, args.held_out_fraction, args.seed)
        splits = TrainingSplits(
            data.select(fit),
            data.select(held_out),
            "held-out slice",
            "selection fold",
            refit=data if refit else None,
        )
        selection = segments.select(selection_rows)
        source = projection_source(args)  # the members share it
        reports = []
        for member_seed in member_seeds(args, members):  # the seeds `--ensemble-size` gives its members
            member_args = replace(args, seed=member_seed)
            member_accelerator = make_accelerator(member_args, cpu=True)
            model, _ = train_on_splits(member_args, splits, member_accelerator, source)
            reports.append(evaluate_tagging(model, selection, member_accelerator))
        metrics = reports[0].metrics
        if members > 1:  # the members' mean probabilities, scored as one tagger's
            metrics = {}
            for mode in ("video", "music", "joint"):
                labels = reports[0].predictions[f"{mode}_emotion_labels"]
                mean = np.mean([report.predictions[f"{mode}_emotion_probabilities"] for report in reports], 0)
                metrics.update(tagging_metrics(mode, labels, mean))
        for name, value in metrics.items():
            scores.setdefault(name, []).append(value)
    scratch.cleanup()
    return {name: float(np.mean(values)) for name, values in scores.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    options = parser.parse_args(argv)
    pairs = load_emomv(options.dataset, "pairs")  # datasets' 'no label' (-1) is no class index
    if missing := first_unlabelled(pairs, ("train",), ("label", "video_emotion", "music_emotion")):
        print(f"error: {options.dataset}: {missing}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()  # saving and loading each fold's correspondence model
    for name in options.candidates.split(","):
        means = cross_validate(options.dataset, CANDIDATES[name], options.folds)
        shown = {
            key: round(value, 4) for key, value in means.items() if "accuracy" in key or "macro_f1" in key
        }
        print(json.dumps({"candidate": name, **CANDIDATES[name], **shown}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
