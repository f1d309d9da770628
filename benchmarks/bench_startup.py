#!/usr/bin/env python
"""Fixed start-up cost of the package's commands, measured against a bare floor in one run.

    python benchmarks/bench_startup.py --release-dir ../shared/emomv-release [--repeats 5]
    python benchmarks/bench_startup.py --dataset datasets/emomv-c [--baseline-tree ../emomv-hf-before]

Every figure comes from fresh subprocesses; the variants are interleaved (each repeat runs all
of them, in an order rotated from one repeat to the next) and reported as differences from the floor, a script
that only imports torch, transformers and datasets and exits. Each figure is given as wall time (what a user
waits; median and minimum) and as the child's CPU time (user + system); on a shared machine other jobs add
to both, so the minima are the least disturbed figure there. Goals (issue 14, with issue 22's floor: the floor
plus transformers' `PreTrainedModel`, the least that can build a transformers model):

- a one-epoch `examples/train.py` run within 1.5 s of floor + `PreTrainedModel` (with and without plots);
- `import emomv_hf` no slower than `import torch` + `from transformers import PreTrainedModel`;
- an `examples/recommend.py --segment ID` query against a prebuilt index within 1 s of floor +
  `PreTrainedModel` (the benchmark trains a one-epoch retrieval model and builds its index of the dataset's
  segments first).

`import emomv_hf` pauses Python's garbage collector while it imports torch and transformers (see its
`__init__`), and a command freezes its objects at exit, so that Python's finalization does not walk them
(`emomv_hf.cli.parse_or_exit`); the floor scripts do neither. One more reference, floor + `PreTrainedModel` with
the same two collector settings, shows how much of a command's lead over the floor is those settings alone.
`--baseline-tree` also times the train commands of another checkout (say a `git worktree` of an older commit)
in the same interleaved rounds, for a before/after comparison within one run.

The children cache their bytecode under a scratch `PYTHONPYCACHEPREFIX` (an installed package has its `.pyc`
files), so a `PYTHONDONTWRITEBYTECODE=1` environment does not make every run recompile the package.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FLOOR = "import torch, transformers, datasets"
IMPORT_GOAL = "import torch; from transformers import PreTrainedModel"
MODEL_FLOOR = "import torch, transformers, datasets; from transformers import PreTrainedModel"
PAUSED_MODEL_FLOOR = (
    f"import atexit, gc; gc.disable(); {MODEL_FLOOR}; gc.freeze(); gc.unfreeze(); gc.enable(); "
    "atexit.register(gc.freeze)"
)
"""Floor + `PreTrainedModel` with the package's collector settings: paused for the imports (``import emomv_hf``)
and objects frozen at exit (``emomv_hf.cli.parse_or_exit`` for a command)."""
IMPORT_TOLERANCE_S = 0.05
"""`import emomv_hf` counts as no slower than the reference within this much (the medians' resolution here)."""


@dataclass
class Variant:
    argv: list[str]
    tree: Path = REPO
    output_dir: bool = False
    """Whether the command takes `--output-dir` (a fresh folder per run)."""


def environment(tree: Path, scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache" / tree.name)
    return env


def build_dataset(release_dir: str | None, into: Path, env: dict[str, str]) -> Path:
    command = [sys.executable, str(REPO / "dataset_scripts" / "build_emomv.py"), "--dataset", "emomv-c"]
    command += ["--output-dir", str(into)] + (["--release-dir", release_dir] if release_dir else [])
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, cwd=REPO)
    return into / "emomv-c"


def train_variants(dataset: Path, tree: Path, suffix: str = "") -> dict[str, Variant]:
    train = [str(tree / "examples" / "train.py"), "--dataset", str(dataset), "--max-epochs", "1"]
    return {
        f"train.py, 1 epoch{suffix}": Variant(train, tree, output_dir=True),
        f"train.py, 1 epoch, --no-plots{suffix}": Variant(train + ["--no-plots"], tree, output_dir=True),
    }


def prepare_recommendation(dataset: Path, scratch: Path) -> Variant:
    """A one-epoch retrieval model and its prebuilt index of ``dataset``; the variant queries one segment."""
    env = environment(REPO, scratch)
    model, index = scratch / "retrieval-model", scratch / "retrieval-index"
    train = [
        sys.executable,
        str(REPO / "examples" / "train.py"),
        "--dataset",
        str(dataset),
        "--task",
        "retrieval",
    ]
    train += ["--max-epochs", "1", "--no-plots", "--output-dir", str(model)]
    subprocess.run(train, check=True, env=env, stdout=subprocess.DEVNULL, cwd=REPO)
    recommend = [str(REPO / "examples" / "recommend.py"), "--model", str(model), "--library", str(dataset)]
    recommend += ["--index-dir", str(index), "--no-progress"]
    subprocess.run(
        [sys.executable, *recommend, "--build-index"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        cwd=REPO,
    )
    import datasets

    first = datasets.load_from_disk(str(index / "video"))[0]["segment_id"]  # any indexed segment will do
    return Variant(recommend + ["--segment", first])


def variants(dataset: Path, baseline_tree: Path | None, recommendation: Variant) -> dict[str, Variant]:
    found = {
        "floor": Variant(["-c", FLOOR]),
        "torch + PreTrainedModel": Variant(["-c", IMPORT_GOAL]),
        "floor + PreTrainedModel": Variant(["-c", MODEL_FLOOR]),
        "floor + PreTrainedModel, same collector": Variant(["-c", PAUSED_MODEL_FLOOR]),
        "import emomv_hf": Variant(["-c", "import emomv_hf"]),
        **train_variants(dataset, REPO),
        "recommend.py --segment (prebuilt index)": recommendation,
    }
    if baseline_tree is not None:
        found.update(train_variants(dataset, baseline_tree, " (baseline tree)"))
    return found


def run_once(variant: Variant, scratch: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one fresh process."""
    argv = [sys.executable, *variant.argv]
    if variant.output_dir:
        output_dir = Path(tempfile.mkdtemp(dir=scratch))
        argv += ["--output-dir", str(output_dir), "--overwrite-output-dir"]
    env = environment(variant.tree, scratch)
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    child = subprocess.Popen(
        argv, env=env, cwd=variant.tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, stderr = child.communicate()
    wall = time.perf_counter() - started
    # communicate() has reaped the child: its resource use is what RUSAGE_CHILDREN grew by.
    cpu = cpu_seconds() - cpu_before
    if child.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({child.returncode}):\n{stderr[-3000:]}")
    if variant.output_dir:
        shutil.rmtree(output_dir)
    return wall, cpu


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="a built EmoMV-C folder (default: build one from the release)")
    parser.add_argument(
        "--release-dir", help="the authors' release, to build EmoMV-C when --dataset is not given"
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant (median reported)")
    parser.add_argument("--baseline-tree", type=Path, help="another checkout whose train runs are timed too")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch_name:
        scratch = Path(scratch_name)
        if options.dataset:
            dataset = Path(options.dataset)
        else:
            dataset = build_dataset(options.release_dir, scratch, environment(REPO, scratch))
        baseline = options.baseline_tree.resolve() if options.baseline_tree else None
        runs = variants(dataset.resolve(), baseline, prepare_recommendation(dataset.resolve(), scratch))
        names = list(runs)
        # One unmeasured round: bytecode, the datasets cache and the page cache are warm for the measured ones.
        for name in names:
            run_once(runs[name], scratch)
        wall: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for repeat in range(options.repeats):
            shift = repeat % len(names)
            for name in names[shift:] + names[:shift]:
                seconds, cpu_used = run_once(runs[name], scratch)
                wall[name].append(seconds)
                cpu[name].append(cpu_used)

    med_wall = {name: statistics.median(values) for name, values in wall.items()}
    min_wall = {name: min(values) for name, values in wall.items()}
    med_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"medians (and minima) of {options.repeats} fresh processes each, interleaved; floor = `{FLOOR}`\n")
    print(f"| {'command':<46} | wall s | vs floor | min s | vs floor | CPU s | vs floor |")
    print(f"|{'-' * 48}|--------|----------|-------|----------|-------|----------|")
    for name in names:
        print(
            f"| {name:<46} | {med_wall[name]:6.2f} | {med_wall[name] - med_wall['floor']:+8.2f} "
            f"| {min_wall[name]:5.2f} | {min_wall[name] - min_wall['floor']:+8.2f} "
            f"| {med_cpu[name]:5.2f} | {med_cpu[name] - med_cpu['floor']:+8.2f} |"
        )

    def versus(name: str, reference: str) -> str:
        return f"{med_wall[name] - med_wall[reference]:+.2f} s wall, {med_cpu[name] - med_cpu[reference]:+.2f} s CPU"

    model_floor, paused = "floor + PreTrainedModel", "floor + PreTrainedModel, same collector"
    print(f"\nGoals (verdicts on wall time; floor + PreTrainedModel = `{MODEL_FLOOR}`):")
    for name in train_variants(dataset, REPO):
        verdict = "met" if med_wall[name] - med_wall[model_floor] <= 1.5 else "missed"
        print(
            f"- {name}: {versus(name, model_floor)} vs floor + PreTrainedModel (goal: within 1.5 s): {verdict}"
        )
        print(
            f"    vs the bare floor: {versus(name, 'floor')}; vs floor + PreTrainedModel with the package's "
            f"collector settings: {versus(name, paused)}"
        )
        if baseline is not None:
            print(f"    vs the baseline tree: {versus(name, name + ' (baseline tree)')}")
    extra = med_wall["import emomv_hf"] - med_wall["torch + PreTrainedModel"]
    verdict = "met" if extra <= IMPORT_TOLERANCE_S else "missed"
    print(
        f"- import emomv_hf: {versus('import emomv_hf', 'floor')} vs the floor; "
        f"{versus('import emomv_hf', 'torch + PreTrainedModel')} vs `{IMPORT_GOAL}` "
        f"(goal: no slower, within {IMPORT_TOLERANCE_S} s): {verdict}"
    )
    name = "recommend.py --segment (prebuilt index)"
    verdict = "met" if med_wall[name] - med_wall[model_floor] <= 1.0 else "missed"
    print(f"- {name}: {versus(name, model_floor)} vs floor + PreTrainedModel (goal: within 1 s): {verdict}")
    print(f"    vs floor + PreTrainedModel with the package's collector settings: {versus(name, paused)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
