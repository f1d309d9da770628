#!/usr/bin/env python
"""Training-loop speed on EmoMV-C, measured in one run.

    python benchmarks/bench_training.py --release-dir ../shared/emomv-release [--threads 1]

Prints (1) the time per epoch of `emomv_hf.training.train_model` against a plain PyTorch loop that does the same
work (the same shuffled batches, forward/backward/Adam, the early-stopping loss on the whole validation split
every epoch, the best-weights snapshot) and is checked to end with bit-identical weights, so the difference is
the framework's overhead (target: at most +15 %); (2) the wall time of full paper-protocol runs through
`run_training`.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from dataclasses import dataclass, replace

import torch

from emomv_hf.cli import flag, make_parser, parse_or_exit
from emomv_hf.data.build import build_hub_dataset
from emomv_hf.data.loading import load_emomv
from emomv_hf.data.release import resolve_release_dir
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.models_registry import build_model
from emomv_hf.training import EmoMVTrainingArguments, make_accelerator, run_training, train_model
from emomv_hf.training.loop import make_optimizer
from emomv_hf.training.pipeline import DATA_SEED_STRIDE


def reference_loop(
    model: torch.nn.Module, train: TensorPairs, stop: TensorPairs, args: EmoMVTrainingArguments, epochs: int
) -> tuple[float, dict[str, torch.Tensor]]:
    """Seconds per epoch of the same training in plain PyTorch, and the best epoch's weights."""
    optimizer = make_optimizer(model, args)
    generator = torch.Generator()
    live = model.state_dict()
    best_loss, best_state = math.inf, None
    started = time.perf_counter()
    for epoch in range(epochs):
        # The batches Accelerate's seedable sampler gives (see `make_accelerator`).
        generator.manual_seed(args.seed * DATA_SEED_STRIDE + epoch)
        order = torch.randperm(len(train), generator=generator)
        # A DataLoader draws its worker base seed from the global generator each epoch; so does this loop,
        # to keep dropout on the same random stream.
        torch.empty((), dtype=torch.int64).random_()
        model.train()
        for start in range(0, len(train), args.batch_size):
            index = order[start : start + args.batch_size]
            batch = {name: tensor.index_select(0, index) for name, tensor in train.inputs.items()}
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        model.eval()
        with torch.inference_mode():
            stopping_loss = model(**stop.inputs).loss.item() * len(stop) / len(stop)
        if stopping_loss < best_loss:
            best_loss = stopping_loss
            if best_state is None:
                best_state = {name: tensor.detach().clone() for name, tensor in live.items()}
            else:
                for name, tensor in live.items():
                    best_state[name].copy_(tensor)
    seconds = (time.perf_counter() - started) / epochs
    return seconds, best_state


def loop_epochs(
    model: torch.nn.Module, train: TensorPairs, stop: TensorPairs, args: EmoMVTrainingArguments, epochs: int
) -> float:
    """Seconds per epoch of the real training loop (Accelerate, early-stopping bookkeeping, validation loss)."""
    args = replace(args, max_epochs=epochs, patience=epochs + 1, progress=False)
    outcome = train_model(model, train, stop, args, make_accelerator(args, cpu=True))
    return outcome.train_seconds / outcome.epochs_run


def fresh_model(name: str, task: str, train: TensorPairs, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(name, task)
    model.fit_standardization(train.inputs["video_features"], train.inputs["music_features"])
    return model


@dataclass
class BenchmarkArguments:
    release_dir: str | None = flag("The EmoMV release (default: EMOMV_RELEASE_DIR).", default=None)
    epochs: int = flag("Epochs per timing.", default=200)
    repeats: int = flag("Timings per measurement (the median is reported).", default=5)
    runs: int = flag("Full paper-protocol runs to time.", default=5)
    threads: int = flag("torch threads (default 1, as training uses).", default=1)


def main() -> None:
    parser = make_parser(BenchmarkArguments, description=__doc__.split("\n\n")[0])
    (options,) = parse_or_exit(parser)
    torch.set_num_threads(options.threads)

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_hub_dataset(resolve_release_dir(options.release_dir), "emomv-c", tmp)
        args = EmoMVTrainingArguments(
            dataset=str(folder), protocol="paper", progress=False, plots=False, threads=options.threads
        )
        pairs = load_emomv(args.dataset)
        train = TensorPairs.from_dataset(pairs["train"])
        validation = TensorPairs.from_dataset(pairs["validation"])

        rows = []
        for model_name, task in (
            ("emomv", "correspondence"),
            ("emomv", "retrieval"),
            ("baseline", "correspondence"),
        ):
            loop_times, reference_times = [], []
            for repeat in range(options.repeats):
                run_args = replace(args, task=task, model=model_name, seed=repeat)
                reference = fresh_model(model_name, task, train, repeat)
                seconds, best_state = reference_loop(reference, train, validation, run_args, options.epochs)
                reference_times.append(seconds)
                model = fresh_model(model_name, task, train, repeat)
                loop_times.append(loop_epochs(model, train, validation, run_args, options.epochs))
                state = model.state_dict()
                if not all(torch.equal(state[name], best_state[name]) for name in state):
                    raise SystemExit(
                        f"{model_name}/{task} seed {repeat}: the reference loop's weights differ"
                    )
            loop, bare = statistics.median(loop_times), statistics.median(reference_times)
            rows.append((f"{model_name}/{task}", loop, bare))

        print(
            f"Training loop vs the same work in plain PyTorch (bit-identical weights checked), EmoMV-C train "
            f"({len(train)} pairs, batch {args.batch_size}), median of {options.repeats} x {options.epochs} "
            f"epochs, torch threads {torch.get_num_threads()}"
        )
        print("| model | loop ms/epoch | plain PyTorch ms/epoch | overhead |")
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
