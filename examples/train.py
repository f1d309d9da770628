#!/usr/bin/env python
"""Train an EmoMV model (or the paper's baseline) on an EmoMV dataset with Accelerate, then evaluate it.

    accelerate launch examples/train.py --dataset emomv/emomv-c --task correspondence --output-dir OUT
    torchrun --nproc_per_node 2 examples/train.py --dataset ./datasets/emomv-c --task retrieval --output-dir OUT

Writes OUT/config.json, model.safetensors, training_args.json, eval_results.json, README.md (model card) and
plots; prints the results next to the paper's. Under torchrun or accelerate launch the processes split every
batch (on a machine without a GPU as one CPU job, gloo) and only the main process prints and writes; the run
records `num_processes`. `--checkpointing-epochs N` saves resumable states (safetensors and JSON, plus
Accelerate's optimizer.bin read with weights_only=True); `--resume-from-checkpoint latest` refuses a checkpoint
of other arguments, of changed dataset Parquet files, or holding a file it does not write.
"""

from __future__ import annotations

import sys
import warnings

from huggingface_hub.utils import validate_repo_id

from emomv_hf.cli import make_parser, parse_or_exit
from emomv_hf.hub import push_to_hub
from emomv_hf.reporting import dataset_key, single_run_table
from emomv_hf.training import EmoMVTrainingArguments, run_training


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(EmoMVTrainingArguments, description=__doc__.split("\n\n")[0])
    (args,) = parse_or_exit(parser, argv)
    if not args.output_dir:
        parser.error("--output-dir is required")
    try:
        if args.push_to_hub:  # an id the Hub refuses is refused before training, not after it
            validate_repo_id(args.hub_model_id)
        with warnings.catch_warnings():
            # The package's warnings (e.g. a paper-protocol run is not calibrated) as one `warning:` line each,
            # not Python's two lines that quote the source.
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = lambda message, *_: print(f"warning: {message}", file=sys.stderr)
            result = run_training(args)
    except (OSError, ValueError) as error:
        # Bad input the package explains (a used output folder, a foreign checkpoint, a bad dataset, a Hub id that
        # cannot be reached: FileExistsError, FileNotFoundError and ConnectionError are OSErrors): one line.
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not result.is_main_process:
        return 0
    outcome = result.outcome
    print(
        f"\n{args.run_name} on {args.dataset} (protocol {args.protocol}, seed {args.seed}): "
        f"best epoch {outcome.best_epoch} of {outcome.epochs_run}, {outcome.train_seconds:.1f} s of training; "
        f"evaluated on {result.report.eval_split}\n"
    )
    print(
        single_run_table(
            result.metrics,
            dataset=dataset_key(args.dataset),
            model=args.model,
            task=args.task,
            variant="single" if args.single_task else "multi",
        )
    )
    print(f"\nSaved to {args.output_dir}")
    if args.push_to_hub:
        try:
            print(f"Pushed to {push_to_hub(args.output_dir, args.hub_model_id, private=args.hub_private)}")
        except OSError as error:  # no network, offline mode, no token: the run is saved, push it later
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
