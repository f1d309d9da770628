#!/usr/bin/env python
"""Training-loop speed on EmoMV-C, measured in one run.

    python benchmarks/bench_training.py --release-dir ../shared/emomv-release

Prints (1) the time per epoch of `emomv_hf.training.train_model` against bare forward/backward/Adam steps on
pre-stacked tensors with the same batches (target: loop overhead below 25 %), and (2) the wall time of full
paper-protocol runs on EmoMV-C through `run_training` (target: under 5 s of training, interpreter start-up
excluded).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

import torch

from emomv_hf.data import build_hub_dataset, resolve_release_dir
from emomv_hf.data.loading import load_emomv
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.training import (
    EmoMVTrainingArguments,
    build_model,
    make_accelerator,
    run_training,
    train_model,
)
from emomv_hf.training.loop import make_optimizer


def bare_steps(model: torch.nn.Module, data: TensorPairs, args: EmoMVTrainingArguments, epochs: int) -> float:
    """Seconds per epoch of forward/backward/step on pre-sliced batches: the floor any loop pays."""
    optimizer = make_optimizer(model, args)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    batches = [
        data.__getitems__(order[i : i + args.batch_size].tolist())
        for i in range(0, len(data), args.batch_size)
    ]
    model.train()
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in batches:
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return (time.perf_counter() - started) / epochs


def loop_epochs(
    model: torch.nn.Module, train: TensorPairs, stop: TensorPairs, args: EmoMVTrainingArguments, epochs: int
) -> float:
    """Seconds per epoch of the real training loop (Accelerate, early-stopping bookkeeping, validation loss)."""
    args = replace(args, max_epochs=epochs, patience=epochs + 1, progress=False)
    outcome = train_model(model, train, stop, args, make_accelerator(args, cpu=True))
    return outcome.train_seconds / outcome.epochs_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release-dir", default=None, help="The EmoMV release (default: EMOMV_RELEASE_DIR).")
    parser.add_argument("--epochs", type=int, default=200, help="Epochs per timing.")
    parser.add_argument(
        "--repeats", type=int, default=5, help="Timings per measurement (the median is reported)."
    )
    parser.add_argument("--runs", type=int, default=5, help="Full paper-protocol runs to time.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice).")
    options = parser.parse_args()
    if options.threads:
        torch.set_num_threads(options.threads)

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_hub_dataset(resolve_release_dir(options.release_dir), "emomv-c", tmp)
        args = EmoMVTrainingArguments(dataset=str(folder), progress=False, plots=False)
        pairs = load_emomv(args.dataset)
        train = TensorPairs.from_dataset(pairs["train"])
        validation = TensorPairs.from_dataset(pairs["validation"])

        rows = []
        for model_name, task in (
            ("emomv", "correspondence"),
            ("emomv", "retrieval"),
            ("baseline", "correspondence"),
        ):
            loop_times, bare_times = [], []
            for repeat in range(options.repeats):
                torch.manual_seed(repeat)
                model = build_model(model_name, task)
                model.fit_standardization(train.inputs["video_features"], train.inputs["music_features"])
                bare_times.append(bare_steps(model, train, args, options.epochs))
                torch.manual_seed(repeat)
                model = build_model(model_name, task)
                model.fit_standardization(train.inputs["video_features"], train.inputs["music_features"])
                loop_times.append(
                    loop_epochs(
                        model, train, validation, replace(args, task=task, model=model_name), options.epochs
                    )
                )
            loop, bare = statistics.median(loop_times), statistics.median(bare_times)
            rows.append((f"{model_name}/{task}", loop, bare))

        print(
            f"Training loop vs bare steps, EmoMV-C train ({len(train)} pairs, batch {args.batch_size}), "
            f"median of {options.repeats} x {options.epochs} epochs, torch threads {torch.get_num_threads()}"
        )
        print("| model | loop ms/epoch | bare ms/epoch | overhead |")
        print("|---|---|---|---|")
        for name, loop, bare in rows:
            print(f"| {name} | {1e3 * loop:.2f} | {1e3 * bare:.2f} | {100 * (loop / bare - 1):+.1f} % |")

        print(f"\nFull paper-protocol runs (emomv correspondence, multi-task), {options.runs} seeds:")
        print("| seed | epochs | training s | run s (load, train, evaluate) |")
        print("|---|---|---|---|")
        for seed in range(options.runs):
            run_args = replace(args, seed=seed)
            started = time.perf_counter()
            result = run_training(run_args, make_accelerator(run_args, cpu=True), save=False)
            wall = time.perf_counter() - started
            print(
                f"| {seed} | {result.outcome.epochs_run} | {result.outcome.train_seconds:.2f} | {wall:.2f} |"
            )


if __name__ == "__main__":
    main()
