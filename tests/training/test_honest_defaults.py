"""`held-out` is the default protocol of every command that trains; `evaluate.py` says when the split it scores
was used by the model's training run (issue 26, item 3)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from emomv_hf.cli import make_parser, parse_or_exit
from emomv_hf.evaluation import training_caveat
from emomv_hf.reproduction import parse_reproduction_arguments, reproduction_grid
from emomv_hf.training import EmoMVTrainingArguments

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_train_py_defaults_to_the_held_out_protocol():
    (args,) = parse_or_exit(make_parser(EmoMVTrainingArguments), ["--output-dir", "out"])
    assert args.protocol == "held-out" and args.stopping_patience == 100
    # The tagger, which requires held-out, needs no --protocol flag.
    (tagging,) = parse_or_exit(
        make_parser(EmoMVTrainingArguments), ["--task", "tagging", "--output-dir", "o"]
    )
    assert tagging.protocol == "held-out"


def test_the_reproduction_names_every_runs_protocol_itself():
    # reproduce_paper.py's runs take their protocol from the grid, never from train.py's default, so the
    # reproduction's numbers do not depend on it.
    grid, base = parse_reproduction_arguments(["--output-dir", "out", "--protocols", "paper"])
    specs = reproduction_grid(range(1), grid.protocols, grid.models, grid.tasks, grid.variants)
    assert {spec.training_arguments(base).protocol for spec in specs} == {"paper"}


@pytest.mark.parametrize(
    ("protocol", "split", "warned"),
    [
        ("paper", "validation", "early stopping and calibration"),
        ("paper", "train", "training"),
        ("held-out", "validation", None),
        ("held-out", "train", "training, early stopping and calibration"),
        ("cv", "validation", "training, early stopping and calibration"),
    ],
)
def test_evaluate_caveat_names_what_the_training_run_used_the_split_for(tmp_path, protocol, split, warned):
    dataset = tmp_path / "datasets" / "emomv-c"
    dataset.mkdir(parents=True)
    model = tmp_path / "model"
    model.mkdir()
    (model / "training_args.json").write_text(json.dumps({"protocol": protocol, "dataset": str(dataset)}))
    caveat = training_caveat(str(model), str(dataset), split)
    if warned is None:
        assert caveat is None
    else:
        assert caveat == (
            f"{model} was trained on {dataset} with --protocol {protocol}, which used its {split} split for "
            f"{warned}: these scores are optimistic"
        )
    # Another dataset, or a model without a training record (a Hub id, other code), gets no caveat.
    other = tmp_path / "datasets" / "emomv-b"
    other.mkdir()
    assert training_caveat(str(model), str(other), split) is None
    assert training_caveat(str(tmp_path), str(dataset), split) is None


def test_a_paper_protocol_run_warns_in_one_line(emomv_c_dir, tmp_path, capsys, load_script):
    # The paper protocol cannot calibrate on its reported split: train.py says so as one `warning:` line, not
    # Python's two-line UserWarning that quotes the package's source.
    train_script = load_script(REPO_ROOT / "examples" / "train.py")
    arguments = ["--dataset", str(emomv_c_dir), "--protocol", "paper", "--max-epochs", "2", "--no-plots"]
    assert train_script.main([*arguments, "--no-progress", "--output-dir", str(tmp_path / "paper")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    warned = [line for line in err if "calibrat" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: --calibrate: not calibrating"), err
    assert not [line for line in err if "UserWarning" in line or "run_temperatures(" in line], err


def test_a_run_on_a_relative_dataset_path_is_recognised_from_another_working_folder(
    emomv_c_dir, tmp_path, monkeypatch
):
    # train.py records --dataset as typed, relative to the folder it ran in; evaluate.py's caveat and the tagger's
    # --projections-from refusal must still recognise that dataset when run from elsewhere.
    from emomv_hf.training import run_training
    from emomv_hf.training.pipeline import projection_source

    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(emomv_c_dir, project / "emomv-c")
    monkeypatch.chdir(project)
    model = project / "paper-run"
    arguments = ["--dataset", "emomv-c", "--protocol", "paper", "--max-epochs", "1", "--no-plots"]
    (args,) = parse_or_exit(make_parser(EmoMVTrainingArguments), [*arguments, "--output-dir", str(model)])
    run_training(replace(args, progress=False))

    monkeypatch.chdir(tmp_path)
    assert training_caveat(str(model), "project/emomv-c", "validation") == (
        f"{model} was trained on project/emomv-c with --protocol paper, which used its validation split for "
        "early stopping and calibration: these scores are optimistic"
    )
    tagger = EmoMVTrainingArguments(dataset="project/emomv-c", task="tagging", projections_from=str(model))
    with pytest.raises(ValueError, match="with --protocol paper, which sees the validation split"):
        projection_source(tagger)


@pytest.mark.parametrize(
    "content", ["[1, 2]", "{not json", '"paper"', "\udcff", '{"protocol": ["paper"]}', '{"dataset": 3}']
)
def test_a_training_record_that_is_not_a_json_object_is_one_error_naming_it(tmp_path, content):
    # A model folder from someone else: its training_args.json is read before anything trusts it.
    from emomv_hf.training.pipeline import projection_source

    model = tmp_path / "model"
    model.mkdir()
    record = model / "training_args.json"
    record.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match=f"^{record}: not a training record of train.py"):
        training_caveat(str(model), str(tmp_path / "emomv-c"), "validation")
    tagger = EmoMVTrainingArguments(dataset=str(tmp_path), task="tagging", projections_from=str(model))
    with pytest.raises(ValueError, match=f"^{record}: not a training record of train.py"):
        projection_source(tagger)
