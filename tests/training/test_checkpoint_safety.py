"""A checkpoint is data, never code, and belongs to one dataset content (issue 24 finding 4, issue 23 finding 6).

Each attack is run through `examples/train.py --resume-from-checkpoint latest`, the way a user resumes a
checkpoint someone shared with them.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from emomv_hf.training import EmoMVTrainingArguments, make_accelerator, run_training

TRAIN_SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "train.py"


class _RunsShellCommand:
    """Unpickling this calls ``os.system(command)``: what a tampered checkpoint file would do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _resume(args: EmoMVTrainingArguments, run_script):
    """``examples/train.py --resume-from-checkpoint latest`` with ``args``' flags."""
    flags = ["--dataset", args.dataset, "--output-dir", args.output_dir, "--seed", args.seed]
    flags += [
        "--max-epochs",
        args.max_epochs,
        "--patience",
        args.patience,
        "--learning-rate",
        args.learning_rate,
    ]
    flags += ["--checkpointing-epochs", args.checkpointing_epochs, "--no-progress"]
    return run_script(TRAIN_SCRIPT, [*flags, "--resume-from-checkpoint", "latest"])


@pytest.fixture
def stopped_run(emomv_c_dir, tmp_path) -> EmoMVTrainingArguments:
    """A run on its own copy of EmoMV-C that saved checkpoints at epochs 3 and 6, then stopped."""
    dataset = tmp_path / "emomv-c"
    shutil.copytree(emomv_c_dir, dataset)
    args = EmoMVTrainingArguments(
        dataset=str(dataset),
        output_dir=str(tmp_path / "out"),
        seed=3,
        max_epochs=6,
        patience=100,
        learning_rate=1e-3,
        checkpointing_epochs=3,
        plots=False,
        progress=False,
    )
    run_training(args, make_accelerator(args, cpu=True))
    return args


def _latest_checkpoint(args: EmoMVTrainingArguments) -> Path:
    return Path(args.output_dir) / "checkpoints" / "checkpoint_1"


def test_checkpoints_hold_no_pickle_the_package_wrote(stopped_run):
    names = {path.name for path in _latest_checkpoint(stopped_run).iterdir()}
    # optimizer.bin is Accelerate's, loaded with torch.load(weights_only=True) (see the next test).
    assert names == {
        "emomv_run.json",
        "early_stopping_best.safetensors",
        "model.safetensors",
        "optimizer.bin",
        "rng_state_0.safetensors",
    }


@pytest.mark.parametrize("planted", ["custom_checkpoint_0.pkl", "random_states_0.pkl", "optimizer.bin"])
def test_a_tampered_pickle_is_refused_before_it_runs(stopped_run, tmp_path, planted, run_script):
    marker = tmp_path / "the-pickle-ran"
    checkpoint = _latest_checkpoint(stopped_run)
    (checkpoint / planted).write_bytes(pickle.dumps(_RunsShellCommand(f"touch {marker}")))
    completed = _resume(stopped_run, run_script)
    assert completed.returncode != 0
    assert not marker.exists(), "resuming the checkpoint ran the tampered pickle"
    if planted != "optimizer.bin":
        # A file the package never writes: one line naming it, before anything of the checkpoint is loaded.
        last = completed.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: {checkpoint / planted}: not a file an EmoMV checkpoint holds")
        assert "Traceback" not in completed.stderr
    else:
        assert "Weights only load failed" in completed.stderr


@pytest.mark.parametrize("marker", ["[]", "{not json", '{"run": 1}', "without_early_stopping"])
def test_a_broken_run_marker_is_one_line_naming_it(stopped_run, marker, run_script):
    path = _latest_checkpoint(stopped_run) / "emomv_run.json"
    if marker == "without_early_stopping":
        marker = json.dumps(
            {key: value for key, value in json.loads(path.read_text()).items() if key != "early_stopping"}
        )
    path.write_text(marker)
    completed = _resume(stopped_run, run_script)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert (
        completed.stderr.strip().splitlines()[-1].startswith(f"error: {path}: not the run marker of an EmoMV")
    )


def test_a_checkpoint_without_its_best_weights_is_refused(stopped_run, run_script):
    """The best epoch's weights are what a resumed run restores: without them it kept its last epoch's weights
    under the best epoch's name (run markers record the best epoch, a damaged copy may lack the file)."""
    checkpoint = _latest_checkpoint(stopped_run)
    (checkpoint / "early_stopping_best.safetensors").unlink()
    results = Path(stopped_run.output_dir) / "eval_results.json"
    before = results.read_bytes()
    completed = _resume(stopped_run, run_script)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert completed.stderr.strip().splitlines()[-1] == (
        f"error: {checkpoint} lacks early_stopping_best.safetensors, the weights of the best epoch its run "
        "marker records: not a complete EmoMV checkpoint"
    )
    assert results.read_bytes() == before


def test_resume_refuses_a_dataset_whose_parquet_changed(stopped_run, run_script):
    train_file = Path(stopped_run.dataset) / "data" / "pairs" / "train-00000-of-00001.parquet"
    table = pq.read_table(train_file)
    flipped = pc.subtract(1, table["label"]).cast(table.schema.field("label").type)
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", flipped), train_file)
    completed = _resume(stopped_run, run_script)
    assert completed.returncode == 2, completed.stderr[-2000:]
    last = completed.stderr.strip().splitlines()[-1]
    assert "was trained on other contents of" in last and "data/**/*.parquet" in last
    assert "Traceback" not in completed.stderr


def test_resume_on_the_same_dataset_continues(stopped_run, run_script):
    stopped_run.max_epochs = 8
    completed = _resume(stopped_run, run_script)
    assert completed.returncode == 2  # --max-epochs is part of the run's identity
    assert "--max-epochs 6 there, 8 now" in completed.stderr
    stopped_run.max_epochs = 6
    completed = _resume(stopped_run, run_script)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Resumed from" in completed.stdout and "Saved to" in completed.stdout


def test_resuming_with_fewer_processes_says_so(stopped_run, run_script):
    marker_path = _latest_checkpoint(stopped_run) / "emomv_run.json"
    marker = json.loads(marker_path.read_text())
    marker_path.write_text(json.dumps({**marker, "num_processes": 2}))  # as a 2-process run writes it
    completed = _resume(stopped_run, run_script)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert (
        f"warning: {marker_path.parent} was written by 2 process(es) and resumes with 1: training goes on "
        "correctly, but not bit-identical to an uninterrupted run"
    ) in completed.stderr.splitlines()


def test_resume_keys_a_hub_dataset_by_its_revision(tmp_path, monkeypatch):
    import json
    import types

    import huggingface_hub

    from emomv_hf.training.loop import (
        RUN_MARKER,
        EarlyStopping,
        check_checkpoint_identity,
        dataset_fingerprint,
    )

    revision = {"sha": "0123abcd"}

    class Api:
        def dataset_info(self, repo_id):
            return types.SimpleNamespace(sha=revision["sha"])

    monkeypatch.setattr(huggingface_hub, "HfApi", Api)
    args = EmoMVTrainingArguments(dataset="emomv/emomv-c", output_dir=str(tmp_path))
    checkpoint = tmp_path / "checkpoints" / "checkpoint_0"
    checkpoint.mkdir(parents=True)
    marker = {"run": args.run_identity(), "dataset_sha256": dataset_fingerprint(args.dataset)}
    marker["early_stopping"] = dict.fromkeys(EarlyStopping._STATE)
    (checkpoint / RUN_MARKER).write_text(json.dumps(marker))
    assert check_checkpoint_identity(checkpoint, args)["dataset_sha256"] == "hub:emomv/emomv-c@0123abcd"
    revision["sha"] = "4567ef01"  # the Hub dataset changed since the checkpoint
    with pytest.raises(ValueError, match="was trained on other contents of emomv/emomv-c"):
        check_checkpoint_identity(checkpoint, args)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"protocol": "cv", "checkpointing_epochs": 1}, "--protocol cv trains twice"),
        ({"protocol": "cv", "resume_from_checkpoint": "latest"}, "--protocol cv trains twice"),
        ({"protocol": "held-out", "ensemble_size": 2, "checkpointing_epochs": 1}, "--ensemble-size trains"),
    ],
)
def test_runs_that_train_more_than_once_refuse_to_checkpoint(emomv_c_dir, tmp_path, flags, message):
    """A cv run (budget, then refit) and an ensemble (members one after another) have no single state to resume:
    asking for checkpoints or a resume is refused in one line before anything trains."""
    args = EmoMVTrainingArguments(dataset=str(emomv_c_dir), output_dir=str(tmp_path / "run"), **flags)
    with pytest.raises(ValueError, match=message):
        run_training(args, make_accelerator(args, cpu=True), save=False)
