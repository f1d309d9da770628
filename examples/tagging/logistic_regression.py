#!/usr/bin/env python
"""A reference for the emotion tagger: logistic regression on the standardised features, C chosen on train.

    python examples/tagging/logistic_regression.py --dataset DIR [--folds 5] [--c-grid 1e-4,3e-4,...]
        [--inputs video,music,joint] [--extra-music emomv-a,emomv-b --release-dir DIR]

For each input (video only, music only, both concatenated), scikit-learn's `StandardScaler` +
`LogisticRegression` is scored at every inverse regularisation strength C of the grid by the tagger's selection
cross-validation (`select_hyperparameters.py`'s source-grouped, emotion-stratified folds of the training
segments); the C with the highest mean selection-fold accuracy (ties to the smaller C, the stronger penalty) is
refitted on all training segments and scored on the segments of the reported split with the tagger's metrics
(`emomv_hf.metrics.tagging_metrics`). The reported split is read only for that final score. Prints one line per
(input, C) and the final metrics.

`--extra-music` adds the music segments of other EmoMV datasets' pairs (every split, each music segment once,
with its music emotion, read from the authors' release) to every fit of the music-only input: a test of whether
more labelled music, from other sources, helps on this dataset. The scoring folds stay this dataset's.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emomv_hf.data.loading import first_unlabelled, load_emomv, reporting_split
from emomv_hf.data.release import get_layout, read_features, read_pair_csv, resolve_release_dir
from emomv_hf.data.schema import MUSIC_FEATURE_DIM, segments_from_pairs
from emomv_hf.metrics import tagging_metrics
from emomv_hf.training.protocols import grouped_kfold_indices

C_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
"""Inverse L2 strengths tried (scikit-learn's default is 1.0)."""


def fit(
    features: np.ndarray, labels: np.ndarray, rows: np.ndarray, extra: tuple[np.ndarray, np.ndarray], c: float
):
    """Scaler + logistic regression at `c`, fitted on `rows` of (features, labels) and every row of `extra`."""
    x = np.concatenate([features[rows], extra[0]])
    y = np.concatenate([labels[rows], extra[1]])
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(x, y)


def probabilities(model, features: np.ndarray, num_labels: int) -> np.ndarray:
    """`(N, num_labels)` class probabilities; a class absent from the fitted labels gets 0."""
    scores = np.zeros((len(features), num_labels))
    scores[:, model.classes_] = model.predict_proba(features)
    return scores


def release_music_segments(release_dir: str | None, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Music features `(N, 128)` and music emotions `(N,)` of the distinct music segments of the pairs of the
    release datasets `names` (all pair splits)."""
    root = resolve_release_dir(release_dir)
    segments: dict[str, tuple[np.ndarray, int]] = {}
    for name in names:
        for files in get_layout(name).pair_splits:
            annotations = read_pair_csv(root / files.csv)
            music = read_features(root / files.music_h5, MUSIC_FEATURE_DIM)
            for pair, row in zip(annotations, music, strict=True):
                segments.setdefault(f"{name}/{pair.music_segment_id}", (row, pair.music_emotion))
    features = np.stack([row for row, _ in segments.values()])
    return features, np.array([label for _, label in segments.values()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c-grid", default=",".join(str(c) for c in C_GRID))
    parser.add_argument("--inputs", default="video,music,joint", help="which of video, music, joint to fit")
    parser.add_argument("--extra-music", default="", help="release datasets (emomv-a,emomv-b) of extra music")
    parser.add_argument("--release-dir", default=None)
    options = parser.parse_args(argv)
    if options.extra_music and "music" not in options.inputs.split(","):
        parser.error("--extra-music adds to the music input: include music in --inputs")
    grid = sorted(float(c) for c in options.c_grid.split(","))
    pairs = load_emomv(options.dataset, "pairs")
    # datasets' 'no label' (-1: a Hub dataset's unlabelled split) would be fitted as a class, or scored.
    if missing := first_unlabelled(pairs, ("train", reporting_split(pairs)), ("video_emotion",)):
        print(f"error: {options.dataset}: {missing}", file=sys.stderr)
        return 2
    columns = ["video_features", "music_features", "emotion"]
    train_segments = segments_from_pairs(pairs["train"])
    ids = train_segments["segment_id"]
    train = train_segments.with_format("numpy", columns=columns)[:]
    report = segments_from_pairs(pairs[reporting_split(pairs)]).with_format("numpy", columns=columns)[:]
    # The same folds as select_hyperparameters.py's, so the reference and the tagger are scored alike.
    folds = grouped_kfold_indices(ids, ids, train["emotion"], options.folds, 0)
    num_labels = pairs["train"].features["video_emotion"].num_classes
    all_inputs = {
        "video": lambda split: split["video_features"],
        "music": lambda split: split["music_features"],
        "joint": lambda split: np.concatenate([split["video_features"], split["music_features"]], axis=1),
    }
    inputs = {mode: all_inputs[mode] for mode in options.inputs.split(",")}
    no_extra = (np.zeros((0, MUSIC_FEATURE_DIM)), np.zeros(0, dtype=np.int64))
    extra = {mode: no_extra for mode in inputs}
    if options.extra_music:
        extra["music"] = release_music_segments(options.release_dir, options.extra_music.split(","))
        print(json.dumps({"extra_music_segments": len(extra["music"][1])}), flush=True)
    metrics = {}
    for mode, features in inputs.items():
        x, y = features(train), train["emotion"]
        cv_accuracy = {}
        for c in grid:
            fold_accuracies = [
                (fit(x, y, fitted, extra[mode], c).predict(x[held]) == y[held]).mean()
                for fitted, held in folds
            ]
            cv_accuracy[c] = float(np.mean(fold_accuracies))
            print(json.dumps({"input": mode, "C": c, "cv_accuracy": round(cv_accuracy[c], 4)}), flush=True)
        chosen = max(grid, key=lambda c: (cv_accuracy[c], -c))
        model = fit(x, y, np.arange(len(y)), extra[mode], chosen)
        metrics[f"{mode}_C"] = chosen
        metrics.update(
            tagging_metrics(mode, report["emotion"], probabilities(model, features(report), num_labels))
        )
    print(json.dumps({name: round(value, 4) for name, value in metrics.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
