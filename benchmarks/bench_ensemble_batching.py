#!/usr/bin/env python
"""Would training seeds as one batched model be faster? K members' training steps, one after the other against
one `torch.func.vmap` step over their stacked weights, measured in one run.

    python benchmarks/bench_ensemble_batching.py --release-dir ../shared/emomv-release [--members 5 10]

For each model and K, it builds K members (seeds 0..K-1), then times, interleaved, `--repeats` blocks of
`--steps` Adam steps on the same real EmoMV-C batch (the paper's batch of 256 pairs, one torch thread): (a) each
member's forward/backward/step in turn, as `--ensemble-size` and separate seed runs train; (b) one step of all
members at once, `vmap(functional_call)` over `torch.func.stack_module_state` weights with per-member dropout.
Before timing it checks that the batched forward of the K members equals their separate forwards (eval mode).
It prints milliseconds per member-step and the speed-up of batching (above 1: batching is faster).
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from dataclasses import dataclass, field

import torch
from torch.func import functional_call, stack_module_state, vmap

from emomv_hf.cli import flag, make_parser, parse_or_exit
from emomv_hf.data.build import build_hub_dataset
from emomv_hf.data.loading import load_emomv
from emomv_hf.data.release import resolve_release_dir
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.models_registry import build_model


@dataclass
class BenchmarkArguments:
    release_dir: str | None = flag("The EmoMV release (default: EMOMV_RELEASE_DIR).", default=None)
    members: list[int] = field(default_factory=lambda: [5, 10], metadata={"help": "Ensemble sizes K."})
    steps: int = flag("Training steps per timing block.", default=20)
    repeats: int = flag("Timing blocks per way (the median is reported).", default=5)
    batch_size: int = flag("Pairs per step (the paper's 256).", default=256)


def _batch(release_dir, batch_size: int) -> dict[str, torch.Tensor]:
    with tempfile.TemporaryDirectory() as tmp:
        pairs = load_emomv(str(build_hub_dataset(release_dir, "emomv-c", tmp)))
        return TensorPairs.from_dataset(pairs["train"])[:batch_size]


def _members(task: str, count: int, batch: dict[str, torch.Tensor]) -> list[torch.nn.Module]:
    members = []
    for seed in range(count):
        torch.manual_seed(seed)
        member = build_model("emomv", task)
        member.fit_standardization(batch["video_features"], batch["music_features"])
        members.append(member)
    return members


def _median_ms_per_member_step(step, steps: int, count: int, timings: list[float]) -> None:
    started = time.perf_counter()
    for _ in range(steps):
        step()
    timings.append((time.perf_counter() - started) * 1000 / steps / count)


def measure(task: str, count: int, batch: dict[str, torch.Tensor], options: BenchmarkArguments) -> dict:
    separate = _members(task, count, batch)
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-4, weight_decay=0.1, foreach=True) for m in separate]

    params, buffers = stack_module_state(_members(task, count, batch))
    params = {name: torch.nn.Parameter(value) for name, value in params.items()}
    template = copy.deepcopy(separate[0]).to("meta")
    batched_optimizer = torch.optim.Adam(params.values(), lr=1e-4, weight_decay=0.1, foreach=True)

    def member_loss(member_params, member_buffers, inputs):
        return functional_call(template, (member_params, member_buffers), (), inputs)

    stacked = {name: tensor.expand(count, *tensor.shape) for name, tensor in batch.items()}
    with torch.no_grad():
        eval_inputs = {name: stacked[name] for name in ("video_features", "music_features")}
        template.eval()
        batched = vmap(lambda p, b, i: member_loss(p, b, i).video_embeds)(params, buffers, eval_inputs)
        alone = torch.stack([m.eval()(**{k: batch[k] for k in eval_inputs}).video_embeds for m in separate])
        torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)
    template.train()
    for member in separate:
        member.train()

    def separate_step():
        for member, optimizer in zip(separate, optimizers, strict=True):
            member(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    def batched_step():
        losses = vmap(lambda p, b, i: member_loss(p, b, i).loss, randomness="different")(
            params, buffers, stacked
        )
        losses.sum().backward()  # the sum: each member gets exactly its own loss's gradients
        batched_optimizer.step()
        batched_optimizer.zero_grad(set_to_none=True)

    timings = {"separate": [], "batched": []}
    separate_step(), batched_step()  # warm-up
    for _ in range(options.repeats):
        _median_ms_per_member_step(separate_step, options.steps, count, timings["separate"])
        _median_ms_per_member_step(batched_step, options.steps, count, timings["batched"])
    result = {way: statistics.median(values) for way, values in timings.items()}
    result["speedup"] = result["separate"] / result["batched"]
    return result


def main() -> None:
    parser = make_parser(BenchmarkArguments, description=__doc__.split("\n\n")[0])
    (options,) = parse_or_exit(parser)
    torch.set_num_threads(1)
    batch = _batch(resolve_release_dir(options.release_dir), options.batch_size)
    print("| model | K | separate ms/member-step | vmap-batched ms/member-step | speed-up of batching |")
    print("|---|---|---|---|---|")
    for task in ("correspondence", "retrieval"):
        for count in options.members:
            result = measure(task, count, batch, options)
            print(
                f"| emomv/{task} | {count} | {result['separate']:.2f} | {result['batched']:.2f} | "
                f"{result['speedup']:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
