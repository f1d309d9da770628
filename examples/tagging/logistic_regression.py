#!/usr/bin/env python
"""A reference for the emotion tagger: scikit-learn's logistic regression on the standardised features.

    python examples/tagging/logistic_regression.py --dataset DIR

Fits `StandardScaler` + `LogisticRegression` (scikit-learn's defaults, nothing chosen on any split) on the
segments of the training pairs from video only, music only and both (concatenated), and prints the tagger's
metrics (`emomv_hf.metrics.tagging_metrics`) on the segments of the reported split.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emomv_hf.data.loading import load_emomv, reporting_split
from emomv_hf.data.schema import segments_from_pairs
from emomv_hf.metrics import tagging_metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    options = parser.parse_args(argv)
    pairs = load_emomv(options.dataset, "pairs")
    columns = ["video_features", "music_features", "emotion"]
    train = segments_from_pairs(pairs["train"]).with_format("numpy", columns=columns)[:]
    report = segments_from_pairs(pairs[reporting_split(pairs)]).with_format("numpy", columns=columns)[:]
    inputs = {
        "video": lambda split: split["video_features"],
        "music": lambda split: split["music_features"],
        "joint": lambda split: np.concatenate([split["video_features"], split["music_features"]], axis=1),
    }
    metrics = {}
    for mode, features in inputs.items():
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        model.fit(features(train), train["emotion"])
        probabilities = np.zeros((len(report["emotion"]), 5))
        probabilities[:, model.classes_] = model.predict_proba(features(report))
        metrics.update(tagging_metrics(mode, report["emotion"], probabilities))
    print(json.dumps({name: round(value, 4) for name, value in metrics.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
