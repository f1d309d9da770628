#!/usr/bin/env python
"""Fixed start-up cost of the package's commands, measured against a bare floor in one run.

    python benchmarks/bench_startup.py --release-dir ../shared/emomv-release [--repeats 5]
    python benchmarks/bench_startup.py --dataset datasets/emomv-c

Every figure is the median wall time of a fresh subprocess; the variants are interleaved (each repeat runs all
of them, in an order rotated from one repeat to the next) and reported as differences from the floor, a script
that only imports torch, transformers and datasets and exits. Goals (issue 14):

- a one-epoch `examples/train.py` run within 1.5 s of the floor (with and without plots);
- `import emomv_hf` no slower than `import torch` + `from transformers import PreTrainedModel`.

A third reference, the floor plus transformers' `PreTrainedModel` (the least that can build a transformers
model), splits the train run's extra seconds into what transformers costs and what this package adds.

The recommendation-query goal (within 1 s of the floor against a prebuilt index) is not measured: the
recommendation command does not exist yet (issue 11).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FLOOR = "import torch, transformers, datasets"
IMPORT_GOAL = "import torch; from transformers import PreTrainedModel"
MODEL_FLOOR = "import torch, transformers, datasets; from transformers import PreTrainedModel"


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    return env


def build_dataset(release_dir: str | None, into: Path, env: dict[str, str]) -> Path:
    command = [sys.executable, str(REPO / "dataset_scripts" / "build_emomv.py"), "--dataset", "emomv-c"]
    command += ["--output-dir", str(into)] + (["--release-dir", release_dir] if release_dir else [])
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, cwd=REPO)
    return into / "emomv-c"


def variants(dataset: Path) -> dict[str, tuple[list[str] | None, str]]:
    """Name -> (command or None for a `python -c` statement, statement)."""
    train = [str(REPO / "examples" / "train.py"), "--dataset", str(dataset), "--max-epochs", "1"]
    return {
        "floor": (None, FLOOR),
        "torch + PreTrainedModel": (None, IMPORT_GOAL),
        "floor + PreTrainedModel": (None, MODEL_FLOOR),
        "import emomv_hf": (None, "import emomv_hf"),
        "train.py, 1 epoch": (train, ""),
        "train.py, 1 epoch, --no-plots": (train + ["--no-plots"], ""),
    }


def run_once(command: list[str] | None, statement: str, scratch: Path, env: dict[str, str]) -> float:
    if command is None:
        argv = [sys.executable, "-c", statement]
    else:
        output_dir = Path(tempfile.mkdtemp(dir=scratch))
        argv = [sys.executable, *command, "--output-dir", str(output_dir), "--overwrite-output-dir"]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    if command is not None:
        shutil.rmtree(output_dir)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="a built EmoMV-C folder (default: build one from the release)")
    parser.add_argument(
        "--release-dir", help="the authors' release, to build EmoMV-C when --dataset is not given"
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant (median reported)")
    options = parser.parse_args()

    env = environment()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch_name:
        scratch = Path(scratch_name)
        dataset = (
            Path(options.dataset) if options.dataset else build_dataset(options.release_dir, scratch, env)
        )
        runs = variants(dataset.resolve())
        names = list(runs)
        # One unmeasured round: the datasets cache and the page cache are warm for every measured one.
        for name in names:
            run_once(*runs[name], scratch, env)
        times: dict[str, list[float]] = {name: [] for name in names}
        for repeat in range(options.repeats):
            shift = repeat % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(run_once(*runs[name], scratch, env))

    median = {name: statistics.median(values) for name, values in times.items()}
    floor = median["floor"]
    print(f"median of {options.repeats} fresh processes each, interleaved; floor = `{FLOOR}`\n")
    print(f"| {'command':<30} | median s | vs floor | spread s |")
    print(f"|{'-' * 32}|----------|----------|----------|")
    for name in names:
        spread = max(times[name]) - min(times[name])
        print(f"| {name:<30} | {median[name]:8.2f} | {median[name] - floor:+8.2f} | {spread:8.2f} |")

    print("\nGoals:")
    for name in ("train.py, 1 epoch", "train.py, 1 epoch, --no-plots"):
        extra = median[name] - floor
        verdict = "met" if extra <= 1.5 else "missed"
        print(f"- {name}: {extra:+.2f} s vs the floor (goal: within 1.5 s): {verdict}")
        print(
            f"  of which transformers' PreTrainedModel import {median['floor + PreTrainedModel'] - floor:+.2f} s, "
            f"the rest {median[name] - median['floor + PreTrainedModel']:+.2f} s"
        )
    extra = median["import emomv_hf"] - median["torch + PreTrainedModel"]
    verdict = "met" if extra <= 0 else "missed"
    print(
        f"- import emomv_hf: {median['import emomv_hf'] - floor:+.2f} s vs the floor, {extra:+.2f} s vs "
        f"`{IMPORT_GOAL}` (goal: no slower): {verdict}"
    )
    print(
        "- recommendation query: not measured, the recommendation command does not exist yet (issue 11); "
        "its goal is within 1 s of the floor."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
