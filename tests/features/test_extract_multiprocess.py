"""Extraction under ``torchrun --nproc_per_node 2`` (CPU, gloo): the shards are split between the processes and
the folder equals a single-process run's, byte for byte. Both use the suite's SlowFast stand-in
(``tests/stand_in_slowfast.py``): what is tested is the split, not the network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_extract_dataset import REPO_ROOT, _shard_bytes

pytest.importorskip("pytorchvideo")


def test_two_torchrun_processes_equal_one(media_dir: Path, reference: Path, tmp_path: Path, free_port: int):
    out = tmp_path / "features"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port),
        str(REPO_ROOT / "tests" / "stand_in_slowfast.py"), str(REPO_ROOT / "dataset_scripts" / "extract_features.py"),
        "--media", str(media_dir), "--output-dir", str(out), "--random-init", "--files-per-shard", "1",
        "--no-progress",
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("2 segment(s), 2 extracted now, 0 already present") == 1  # main process only
    assert _shard_bytes(out) == _shard_bytes(reference)
    assert (out / "README.md").read_text() == (reference / "README.md").read_text()
