"""Start-up cost, checked without timing: what the package and a training run import (issue 14).

The speed itself is measured by `benchmarks/bench_startup.py`; these tests pin the imports that made start-up
slow, each checked through `sys.modules` in one fresh interpreter that imported only the floor and then runs the
probes in order, recording after each what it holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

OPTIONAL_STACKS = ("matplotlib", "sklearn", "evaluate", "pytorchvideo", "av", "h5py", "faiss")
"""Plotting, the baseline's second stage, the Hub metric modules, feature extraction, the authors' HDF5 files,
the recommendation index (the pipeline task is registered on import without it)."""


FLOOR = "import torch, transformers, datasets"
"""What the probes' interpreter imports first: the floor any package with transformers models pays. It holds none
of `OPTIONAL_STACKS` (checked), so a stack in `sys.modules` after a probe came from the probes' code."""

PROBE = """
import json, sys
{floor}
def loaded():
    return sorted({{name.split(".")[0] for name in sys.modules}})
results = {{"floor": loaded()}}
for key, code in json.loads(sys.argv[1]).items():
    exec(compile(code, key, "exec"), {{"__name__": "probe"}})
    results[key] = loaded()
print(json.dumps(results))
"""


def imported_after(codes: dict[str, str]) -> dict[str, set[str]]:
    """The top-level packages of `OPTIONAL_STACKS` in `sys.modules` after each of ``codes``, run in order in one
    fresh interpreter that has imported only `FLOOR`. What a probe finds includes what the probes before it
    imported: order them so that each allows all that the ones before it may import."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    probe = [sys.executable, "-c", PROBE.format(floor=FLOOR), json.dumps(codes)]
    done = subprocess.run(probe, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert not set(results.pop("floor")) & set(OPTIONAL_STACKS)
    return {key: set(loaded) & set(OPTIONAL_STACKS) for key, loaded in results.items()}


MODULES = ["emomv_hf", "emomv_hf.training", "emomv_hf.evaluation"]


def training_run(dataset: Path, output: Path, plots: bool) -> str:
    """``examples/train.py`` for one epoch as ``__main__``, as the command runs it."""
    argv = ["train.py", "--dataset", str(dataset), "--output-dir", str(output), "--max-epochs", "1"]
    argv += ["--threads", "1", "--no-progress"] + ([] if plots else ["--no-plots"])
    return (
        "import runpy, sys\n"
        f"sys.argv = {argv!r}\n"
        "try:\n"
        f"    runpy.run_path({str(REPO_ROOT / 'examples' / 'train.py')!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
    )


def test_the_package_and_a_training_run_import_only_what_they_need(emomv_c_dir, tmp_path):
    """Importing the package (or its training and evaluation modules) loads no optional stack; a one-epoch run
    imports scikit-learn to score (inside the metric functions, not at import time), and matplotlib only when it
    draws plots. One test, not one per probe: the probes share one interpreter (each probe allows what the ones
    before it may import), which test parameters would start once per pytest-xdist worker."""
    codes = {module: f"import {module}" for module in MODULES}
    for plots in (False, True):
        codes[f"train, plots={plots}"] = training_run(emomv_c_dir, tmp_path / f"plots={plots}", plots)
    assert imported_after(codes) == {
        **{module: set() for module in MODULES},
        "train, plots=False": {"sklearn"},
        "train, plots=True": {"sklearn", "matplotlib"},
    }
    for plots in (False, True):
        output = tmp_path / f"plots={plots}"
        assert (output / "model.safetensors").is_file() and (output / "README.md").is_file()
        assert bool(list(output.glob("*.png"))) == plots
