"""Start-up cost, checked without timing: what the package and a training run import (issue 14).

The speed itself is measured by `benchmarks/bench_startup.py`; these tests pin the imports that made start-up
slow, each checked in a fresh interpreter through `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

OPTIONAL_STACKS = ("matplotlib", "sklearn", "evaluate", "pytorchvideo", "av", "h5py", "faiss")
"""Plotting, the baseline's second stage, the Hub metric modules, feature extraction, the authors' HDF5 files,
the recommendation index (the pipeline task is registered on import without it)."""


def imported_after(code: str) -> set[str]:
    """The top-level packages of `OPTIONAL_STACKS` in `sys.modules` after running ``code`` in a fresh Python."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1])) & set(OPTIONAL_STACKS)


@pytest.mark.parametrize("module", ["emomv_hf", "emomv_hf.training", "emomv_hf.evaluation"])
def test_importing_the_package_loads_no_optional_stack(module):
    assert imported_after(f"import {module}") == set()


@pytest.mark.parametrize("plots", [False, True], ids=["no-plots", "plots"])
def test_a_training_run_imports_only_what_its_outputs_need(emomv_c_dir, tmp_path, plots):
    output = tmp_path / "run"
    argv = ["train.py", "--dataset", str(emomv_c_dir), "--output-dir", str(output), "--max-epochs", "1"]
    argv += ["--threads", "1"] + ([] if plots else ["--no-plots"])
    code = (
        "import runpy, sys\n"
        f"sys.argv = {argv!r}\n"
        "try:\n"
        f"    runpy.run_path({str(REPO_ROOT / 'examples' / 'train.py')!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
    )
    # Scoring the run imports scikit-learn (inside the metric functions, not at import time: see the test above);
    # matplotlib only draws the plots that were asked for.
    assert imported_after(code) == ({"sklearn", "matplotlib"} if plots else {"sklearn"})
    assert (output / "model.safetensors").is_file() and (output / "README.md").is_file()
    assert bool(list(output.glob("*.png"))) == plots
