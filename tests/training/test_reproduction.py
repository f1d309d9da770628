"""reproduce_paper.py's arguments and the keying of finished runs (no training: runs are faked)."""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from emomv_hf import reproduction
from emomv_hf.reproduction import (
    dataset_fingerprint,
    parse_reproduction_arguments,
    reproduction_grid,
    run_grid,
)
from emomv_hf.training.arguments import RESULT_INDEPENDENT_FIELDS, EmoMVTrainingArguments

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "examples" / "reproduce_paper.py"


def test_the_readme_reproduction_command_parses_with_the_training_defaults():
    readme = (REPO_ROOT / "README.md").read_text()
    command = (
        "python examples/reproduce_paper.py --dataset datasets/emomv-c --seeds 5 --protocols cv "
        "--output-dir outputs/reproduction"
    )
    assert command in readme
    grid, base = parse_reproduction_arguments(shlex.split(command)[2:])
    assert (
        grid.seeds == 5 and base.dataset == "datasets/emomv-c" and base.output_dir == "outputs/reproduction"
    )
    assert grid.protocols == ["cv"]  # each of the 5 folds once: every row of Tables 8-13
    assert (
        len(reproduction_grid(range(grid.seeds), grid.protocols, grid.models, grid.tasks, grid.variants))
        == 40
    )
    defaults = EmoMVTrainingArguments()
    for name in (
        "max_epochs",
        "patience",
        "learning_rate",
        "weight_decay",
        "batch_size",
        "held_out_fraction",
    ):
        assert getattr(base, name) == getattr(defaults, name), name


def test_every_result_affecting_training_flag_is_accepted():
    grid, base = parse_reproduction_arguments(
        [
            "--output-dir",
            "out",
            "--max-epochs",
            "7",
            "--patience",
            "3",
            "--learning-rate",
            "1e-3",
            "--batch_size",
            "64",
            "--eval-batch-size",
            "32",
            "--held-out-fraction",
            "0.3",
            "--weight-decay",
            "0",
            "--no-progress",
            "--workers",
            "3",
        ]
    )
    assert (base.max_epochs, base.patience, base.learning_rate, base.batch_size) == (7, 3, 1e-3, 64)
    assert (base.eval_batch_size, base.held_out_fraction, base.weight_decay) == (32, 0.3, 0.0)
    assert base.progress is False and grid.workers == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--seeds", "0"], "--seeds must be a positive number of seeds, got 0"),
        (["--seeds", "-2"], "--seeds must be a positive number of seeds, got -2"),
        (["--workers", "0"], "--workers must be positive, got 0"),
        (["--max-epochs", "0"], "--max-epochs must be positive, got 0"),
        (["--models", "emomv", "emomv"], "--models lists a value twice"),
        (["--seed", "3"], "not used by the HfArgumentParser: ['--seed', '3']"),  # per-run; no abbreviation
    ],
)
def test_invalid_arguments_are_one_line_errors(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_reproduction_arguments(["--output-dir", "out", *arguments])
    with pytest.raises(ValueError, match="--output-dir is required"):
        parse_reproduction_arguments([])


def test_script_reports_bad_seeds_in_one_line_and_fails(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--seeds", "0", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert completed.returncode == 2
    assert (
        completed.stderr.strip()
        == "reproduce_paper.py: error: --seeds must be a positive number of seeds, got 0"
    )
    assert completed.stdout == "" and list(tmp_path.iterdir()) == []


def _fake_dataset(folder: Path, content: bytes) -> str:
    shard = folder / "data" / "pairs" / "train-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(content)
    return str(folder)


def test_dataset_fingerprint_follows_the_parquet_content(tmp_path):
    first = dataset_fingerprint(_fake_dataset(tmp_path / "a", b"PAR1 one"))
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    assert (
        dataset_fingerprint(_fake_dataset(tmp_path / "b", b"PAR1 one")) == first
    )  # same content, other place
    assert dataset_fingerprint(_fake_dataset(tmp_path / "c", b"PAR1 two")) != first
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no Parquet files"):
        dataset_fingerprint(str(tmp_path / "empty"))


def test_finished_runs_are_reused_only_with_the_same_dataset_and_settings(tmp_path, monkeypatch):
    trained = []

    def fake_job(job, base, threads):
        (spec,) = job
        trained.append((spec.key, base.dataset, base.max_epochs))
        return [{"spec": spec.__dict__, "metrics": {"accuracy": base.max_epochs / 100}, "train_seconds": 0.0}]

    monkeypatch.setattr(reproduction, "_run_job", fake_job)
    specs = reproduction_grid(
        range(2), protocols=["paper"], models=["emomv"], tasks=["correspondence"], variants=["multi"]
    )
    runs_dir = tmp_path / "out" / "runs"
    dataset = _fake_dataset(tmp_path / "emomv-c", b"PAR1 one")
    base = EmoMVTrainingArguments(dataset=dataset, max_epochs=6, output_dir=str(tmp_path / "out"))

    first = run_grid(specs, base, runs_dir, progress=False)
    assert first.reused == 0 and len(trained) == 2
    again = run_grid(
        specs, dataclasses.replace(base, progress=True, output_dir="elsewhere"), runs_dir, progress=False
    )
    assert again.reused == 2 and len(trained) == 2 and again.runs == first.runs  # output fields do not count

    other_settings = run_grid(specs, dataclasses.replace(base, max_epochs=7), runs_dir, progress=False)
    assert other_settings.reused == 0 and len(trained) == 4
    assert [run["metrics"]["accuracy"] for run in other_settings.runs] == [0.07, 0.07]

    other_data = dataclasses.replace(base, dataset=_fake_dataset(tmp_path / "other" / "emomv-c", b"PAR1 two"))
    assert run_grid(specs, other_data, runs_dir, progress=False).reused == 0 and len(trained) == 6

    monkeypatch.setattr(reproduction, "__version__", "999.0")
    newest = run_grid(specs, base, runs_dir, progress=False)
    assert newest.reused == 0 and len(trained) == 8

    # One run file per settings: seed 0 now has four (6 and 7 epochs, other data, other version).
    assert len(list(runs_dir.glob("emomv-correspondence-multi-paper-seed0-*.json"))) == 4
    settings = newest.runs[0]["settings"]
    assert set(settings) == {"emomv_hf_version", "dataset_fingerprint", "training_arguments"}
    assert settings["dataset_fingerprint"] == dataset_fingerprint(dataset)
    assert settings["training_arguments"]["max_epochs"] in (6, 7)
    assert (
        "output_dir" not in settings["training_arguments"]
        and "progress" not in settings["training_arguments"]
    )
    training_fields = {item.name for item in dataclasses.fields(EmoMVTrainingArguments)}
    assert set(settings["training_arguments"]) < training_fields - RESULT_INDEPENDENT_FIELDS


def test_a_hub_dataset_is_fingerprinted_by_its_revision_or_offline_by_its_cache(tmp_path, monkeypatch):
    import types

    import huggingface_hub

    import emomv_hf.data.loading

    class OnlineApi:
        def dataset_info(self, repo_id):
            return types.SimpleNamespace(sha="0123abcd")

    monkeypatch.setattr(huggingface_hub, "HfApi", OnlineApi)
    assert dataset_fingerprint("emomv/emomv-c") == "hub:emomv/emomv-c@0123abcd"

    class OfflineApi:
        def dataset_info(self, repo_id):
            raise ConnectionError("offline")

    cache = tmp_path / "cache-train.arrow"
    cache.write_bytes(b"arrow one")

    def cached(dataset, config):
        return {"train": types.SimpleNamespace(cache_files=[{"filename": str(cache)}])}

    monkeypatch.setattr(huggingface_hub, "HfApi", OfflineApi)
    monkeypatch.setattr(emomv_hf.data.loading, "load_emomv", cached)
    first = dataset_fingerprint("emomv/emomv-c")
    assert first.startswith("cache:")
    cache.write_bytes(b"arrow two")
    assert dataset_fingerprint("emomv/emomv-c") != first


def test_the_baselines_two_tasks_share_one_training_per_variant_protocol_and_seed():
    specs = reproduction_grid(range(2), protocols=["paper", "held-out"], variants=["multi"])
    jobs = reproduction.training_jobs(specs)
    shared = [job for job in jobs if len(job) == 2]
    assert len(shared) == 4 and len(jobs) == len(specs) - 4
    for correspondence, retrieval in shared:
        assert correspondence.model == retrieval.model == "baseline"
        assert (correspondence.task, retrieval.task) == ("correspondence", "retrieval")
        assert dataclasses.replace(correspondence, task="retrieval") == retrieval
    assert sorted(spec.key for job in jobs for spec in job) == sorted(spec.key for spec in specs)
    # A retrieval run whose correspondence twin is already finished trains on its own.
    alone = [spec for spec in specs if not (spec.model == "baseline" and spec.task == "correspondence")]
    assert all(len(job) == 1 for job in reproduction.training_jobs(alone))
