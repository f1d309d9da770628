#!/usr/bin/env python
"""Train the emotion tagger with several seeds and report every seed and the mean on the reported split.

    python examples/tagging/seed_runs.py --dataset DIR --seeds 10 --output docs/tagging-emomv-c.json \\
        [--save-dir OUT] [train.py flags, e.g. --learning-rate 5e-4 --batch-size 30 --weight-decay 0.01]

Each seed is one ``examples/train.py --task tagging --protocol held-out --seed S`` run (early stopping on a
grouped held-out slice of the training segments, seed S; reported on the validation segments). Prints one row
per seed (accuracy and macro-F1 from video only, music only and both, and how many classes each predicts: a seed
predicting one class is flagged), the mean and standard deviation, and writes them with the per-seed confusion
matrices to --output (JSON). --save-dir keeps seed S's model in OUT/seed-S (the tagger for create_dataset.py).
In --projections-from, ``{seed}`` stands for the seed (``--projections-from runs/correspondence/seed-{seed}``), so
each seed's projections come from the correspondence model of the same seed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from emomv_hf.cli import make_parser
from emomv_hf.io_utils import atomic_write_json
from emomv_hf.training import EmoMVTrainingArguments, run_training

MODES = ("video", "music", "joint")
SHOWN = ("accuracy", "macro_f1", "roc_auc")


def main(argv: list[str] | None = None) -> int:
    # No prefix matching: `--seed 3` would be read as `--seeds 3`.
    own = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    own.add_argument("--seeds", type=int, default=10)
    own.add_argument("--output", required=True)
    own.add_argument("--save-dir", default=None)
    options, rest = own.parse_known_args(argv)
    if any(flag == "--seed" or flag.startswith("--seed=") for flag in rest):
        own.error("the runs' seeds are 0 .. --seeds - 1: give --seeds N, not --seed")
    parser = make_parser(EmoMVTrainingArguments, description=__doc__.splitlines()[0])
    (base,) = parser.parse_args_into_dataclasses(
        args=["--task", "tagging", "--protocol", "held-out", "--no-progress", "--no-plots", *rest]
    )
    runs = []
    header = (
        "seed | " + " | ".join(f"{mode} acc / F1 / AUC" for mode in MODES) + " | classes predicted | epoch"
    )
    print(header)
    for seed in range(options.seeds):
        output_dir = str(Path(options.save_dir) / f"seed-{seed}") if options.save_dir else None
        projections_from = base.projections_from and base.projections_from.format(seed=seed)
        args = replace(
            base,
            seed=seed,
            output_dir=output_dir,
            overwrite_output_dir=True,
            projections_from=projections_from,
        )
        result = run_training(args, save=output_dir is not None)
        predicted = {
            mode: int(len(np.unique(result.report.predictions[f"{mode}_emotion_predictions"])))
            for mode in MODES
        }
        run = {
            "seed": seed,
            **result.metrics,
            "classes_predicted": predicted,
            "best_epoch": result.outcome.best_epoch,
            "epochs_run": result.outcome.epochs_run,
            "confusion_matrices": result.report.confusion_matrices,
        }
        runs.append(run)
        flag = "  <- ONE CLASS" if min(predicted.values()) < 2 else ""
        cells = " | ".join(
            " / ".join(f"{run[f'{mode}_emotion_{name}']:.3f}" for name in SHOWN) for mode in MODES
        )
        print(f"{seed} | {cells} | {predicted} | {run['best_epoch']}{flag}", flush=True)
    means = {
        f"{mode}_emotion_{name}": (
            float(np.mean([run[f"{mode}_emotion_{name}"] for run in runs])),
            float(np.std([run[f"{mode}_emotion_{name}"] for run in runs], ddof=1)) if len(runs) > 1 else 0.0,
        )
        for mode in MODES
        for name in SHOWN
    }
    print(
        "mean | "
        + " | ".join(
            " / ".join(f"{means[f'{mode}_emotion_{name}'][0]:.3f}" for name in SHOWN) for mode in MODES
        )
    )
    print(
        "std | "
        + " | ".join(
            " / ".join(f"{means[f'{mode}_emotion_{name}'][1]:.3f}" for name in SHOWN) for mode in MODES
        )
    )
    atomic_write_json(
        options.output,
        {
            "command": "python examples/tagging/seed_runs.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "arguments": {k: v for k, v in base.to_dict().items() if k not in ("output_dir", "seed")},
            "mean_std": means,
            "runs": runs,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
