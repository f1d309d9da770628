"""A run never writes over, or resumes from, another run's outputs without being told (issue: stale checkpoints)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from safetensors.torch import load_file

from emomv_hf.training import EmoMVTrainingArguments, make_accelerator, run_training

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _train(args: EmoMVTrainingArguments):
    return run_training(args, make_accelerator(args, cpu=True))


@pytest.fixture
def seed_3_run(emomv_c_dir, tmp_path) -> EmoMVTrainingArguments:
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        output_dir=str(tmp_path / "out"),
        seed=3,
        max_epochs=12,
        patience=100,
        learning_rate=1e-3,
        checkpointing_epochs=5,
        progress=False,
    )
    _train(args)
    return args


def test_a_new_run_refuses_a_folder_holding_another_runs_outputs(seed_3_run):
    output = Path(seed_3_run.output_dir)
    assert (output / "roc_curve.png").exists() and (output / "checkpoints").is_dir()
    with pytest.raises(FileExistsError, match="--overwrite-output-dir"):
        _train(replace(seed_3_run, seed=5))
    assert json.loads((output / "eval_results.json").read_text())["seed"] == 3, (
        "the refused run wrote nothing"
    )


def test_overwrite_removes_the_old_runs_checkpoints_and_plots(seed_3_run):
    output = Path(seed_3_run.output_dir)
    old_weights = load_file(output / "model.safetensors")
    retrieval = replace(seed_3_run, seed=5, task="retrieval", overwrite_output_dir=True, max_epochs=6)
    _train(retrieval)
    names = {path.name for path in output.iterdir()}
    assert "roc_curve.png" not in names and "confusion_matrix.png" not in names  # correspondence plots gone
    assert "precision_recall_video_to_music.png" in names
    markers = [json.loads(path.read_text()) for path in output.glob("checkpoints/*/emomv_run.json")]
    assert markers and all(marker["run"]["seed"] == 5 for marker in markers)
    assert [marker["epoch"] for marker in markers] == [5]  # 6 epochs: one save, none of seed 3's left
    assert load_file(output / "model.safetensors").keys() != old_weights.keys()


def test_a_refused_run_leaves_the_old_outputs_with_overwrite(seed_3_run, tmp_path):
    """--overwrite-output-dir deletes the old run's outputs only for a run that passed its checks: a refused one
    (cv cannot checkpoint; a dataset folder that does not exist; a tagger's --projections-from that is no run)
    leaves them all."""
    output = Path(seed_3_run.output_dir)
    before = sorted(path.relative_to(output) for path in output.rglob("*"))
    no_source = replace(
        seed_3_run, task="tagging", projections_from=str(tmp_path / "no-run"), checkpointing_epochs=None
    )
    for refused, error in (
        (replace(seed_3_run, protocol="cv"), ValueError),
        (replace(seed_3_run, dataset=str(tmp_path / "missing")), FileNotFoundError),
        (no_source, ValueError),
    ):
        with pytest.raises(error):
            _train(replace(refused, seed=5, overwrite_output_dir=True))
        assert sorted(path.relative_to(output) for path in output.rglob("*")) == before
    assert json.loads((output / "eval_results.json").read_text())["seed"] == 3


def test_resume_refuses_a_checkpoint_of_other_arguments(seed_3_run):
    with pytest.raises(ValueError, match=r"belongs to another run \(--seed 3 there, 5 now\)"):
        _train(replace(seed_3_run, seed=5, resume_from_checkpoint="latest"))
    with pytest.raises(ValueError, match="--learning-rate"):
        _train(replace(seed_3_run, learning_rate=5e-4, resume_from_checkpoint="latest"))
    # The same arguments resume; the finished run's last checkpoint (epoch 10) continues to epoch 12.
    result = _train(replace(seed_3_run, resume_from_checkpoint="latest"))
    assert result.outcome.resumed_from.endswith("checkpoint_1") and result.outcome.epochs_run == 12


def test_resuming_another_folders_checkpoint_refuses_a_folder_of_another_run(seed_3_run, tmp_path):
    """A checkpoint from elsewhere resumes into OUTPUT_DIR only as a new run would write there: a folder holding
    another run is refused without --overwrite-output-dir (its checkpoints were rotated away, its model replaced)."""
    output = Path(seed_3_run.output_dir)
    other = replace(seed_3_run, seed=5, output_dir=str(tmp_path / "other"), max_epochs=6)
    _train(other)
    before = {path.relative_to(output): path.read_bytes() for path in output.rglob("*") if path.is_file()}
    checkpoint = str(Path(other.output_dir) / "checkpoints" / "checkpoint_0")
    resumed = replace(other, output_dir=str(output), resume_from_checkpoint=checkpoint)
    with pytest.raises(FileExistsError, match="--overwrite-output-dir"):
        _train(resumed)
    assert {
        path.relative_to(output): path.read_bytes() for path in output.rglob("*") if path.is_file()
    } == before
    result = _train(replace(resumed, overwrite_output_dir=True))  # told to: it replaces seed 3's run
    assert result.outcome.resumed_from == checkpoint and result.outcome.epochs_run == 6
    assert json.loads((output / "eval_results.json").read_text())["seed"] == 5


def test_train_script_says_so_in_one_line(seed_3_run, run_script):
    train = ["--dataset", seed_3_run.dataset, "--output-dir", seed_3_run.output_dir]
    completed = run_script(EXAMPLES / "train.py", [*train, "--seed", "5", "--max-epochs", "2"])
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1].startswith("error: --output-dir")
    assert "Traceback" not in completed.stderr
    for bad, message in (("--seed=-1", "--seed must be"), ("--learning-rate=0", "--learning-rate must be")):
        completed = run_script(EXAMPLES / "train.py", [*train, bad])
        assert (
            completed.returncode == 2 and message in completed.stderr and "Traceback" not in completed.stderr
        )
    help_text = run_script(EXAMPLES / "train.py", ["--help"]).stdout
    assert "Turn off --plots." in help_text and "Turn off --progress." in help_text


def test_a_mistyped_folder_is_named_not_looked_up_on_the_hub(emomv_c_dir, tmp_path, run_script):
    model_typo = [EXAMPLES / "evaluate.py", "--model", tmp_path / "outputs-typo", "--dataset", emomv_c_dir]
    dataset_typo = [EXAMPLES / "train.py", "--dataset", emomv_c_dir.parent / "emomv-x"]
    for (script, *arguments), message in ((model_typo, "model folder"), (dataset_typo, "does not exist")):
        completed = run_script(script, [*arguments, "--output-dir", tmp_path / "out"])
        assert completed.returncode == 2, completed.stderr[-2000:]
        last = completed.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and message in last and "Traceback" not in completed.stderr
        assert "Repo id" not in last


def test_a_hub_dataset_that_cannot_be_reached_is_one_line(tmp_path, run_script, monkeypatch):
    # Offline (or a mistyped id online): load_emomv's ConnectionError, an OSError, was a traceback from train.py.
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", True)
    arguments = ["--dataset", "emomv-hf-tests/no-such-dataset", "--output-dir", tmp_path / "out"]
    completed = run_script(EXAMPLES / "train.py", arguments)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    (line,) = completed.stderr.strip().splitlines()
    assert line.startswith("error: cannot load EmoMV dataset 'emomv-hf-tests/no-such-dataset'")
    assert not (tmp_path / "out").exists()


def test_an_output_dir_that_is_a_file_is_refused_before_training(
    emomv_c_dir, tmp_path, run_script, monkeypatch
):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although the output folder is a file")

    monkeypatch.setattr("emomv_hf.training.pipeline.train_on_splits", no_training)
    output = tmp_path / "results.txt"
    output.write_text("mine")
    completed = run_script(EXAMPLES / "train.py", ["--dataset", emomv_c_dir, "--output-dir", output])
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    last = completed.stderr.strip().splitlines()[-1]  # after datasets' bars, when it caches the folder now
    assert last == f"error: --output-dir {output} is a file, not a folder: choose a folder"
    assert output.read_text() == "mine"


def test_overwrite_never_deletes_files_no_run_wrote(emomv_c_dir, tmp_path):
    # A project folder as --output-dir: its README.md and scripts match what a run writes (README.md, *.py), but
    # no run of train.py is there (no training_args.json, no checkpoints): refused, and nothing is deleted.
    project = tmp_path / "project"
    project.mkdir()
    own = {"README.md": "# my project\n", "analysis.py": "print('mine')\n", "figure.png": "not a plot"}
    for name, text in own.items():
        (project / name).write_text(text)
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        output_dir=str(project),
        max_epochs=1,
        overwrite_output_dir=True,
        progress=False,
    )
    with pytest.raises(FileExistsError, match="no run of train.py"):
        _train(args)
    assert {path.name: path.read_text() for path in project.iterdir()} == own
