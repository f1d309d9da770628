"""reproduce_paper.py's arguments and the keying of finished runs (no training: runs are faked)."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from emomv_hf import reproduction
from emomv_hf.models_registry import MODEL_FAMILIES as MODELS
from emomv_hf.models_registry import PAPER_TASKS as TASKS
from emomv_hf.reproduction import (
    dataset_fingerprint,
    parse_reproduction_arguments,
    reproduction_grid,
    run_grid,
)
from emomv_hf.training.arguments import RESULT_INDEPENDENT_FIELDS, EmoMVTrainingArguments
from emomv_hf.training.protocols import PROTOCOLS

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
    ("name", "choices"),
    [("protocols", PROTOCOLS), ("models", MODELS), ("tasks", TASKS), ("variants", reproduction.VARIANTS)],
)
def test_the_grid_flags_default_to_all_their_choices_and_refuse_others(name, choices, capsys):
    assert getattr(reproduction.ReproductionArguments(), name) == list(choices)
    with pytest.raises(SystemExit):
        parse_reproduction_arguments(["--output-dir", "out", f"--{name}", "tagger"])
    assert f"argument --{name}: invalid choice: 'tagger'" in capsys.readouterr().err


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


def test_script_reports_bad_seeds_in_one_line_and_fails(tmp_path, run_script):
    completed = run_script(SCRIPT, ["--seeds", "0", "--output-dir", tmp_path])
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

    # A run recorded in an older layout (without the fold sizes and predictions) is redone, not shown as is.
    monkeypatch.setattr(reproduction, "RUN_RECORD", reproduction.RUN_RECORD + 1)
    assert run_grid(specs, base, runs_dir, progress=False).reused == 0 and len(trained) == 10
    monkeypatch.setattr(reproduction, "RUN_RECORD", reproduction.RUN_RECORD - 1)

    # One run file per settings: seed 0 now has five (6 and 7 epochs, other data, other version and layout).
    assert len(list(runs_dir.glob("emomv-correspondence-multi-paper-seed0-*.json"))) == 5
    settings = newest.runs[0]["settings"]
    assert set(settings) == {"run_record", "emomv_hf_version", "dataset_fingerprint", "training_arguments"}
    assert settings["dataset_fingerprint"] == dataset_fingerprint(dataset)
    assert settings["training_arguments"]["max_epochs"] in (6, 7)
    assert (
        "output_dir" not in settings["training_arguments"]
        and "progress" not in settings["training_arguments"]
    )
    training_fields = {item.name for item in dataclasses.fields(EmoMVTrainingArguments)}
    assert set(settings["training_arguments"]) < training_fields - RESULT_INDEPENDENT_FIELDS


def test_an_explicit_patience_equal_to_another_protocols_default_is_not_a_reused_run(tmp_path, monkeypatch):
    """The paper protocol's default patience is 20, held-out's 100: a run of the default is not one of
    --patience 100, although the base arguments (protocol held-out) resolve both to 100."""
    trained = []

    def fake_job(job, base, threads):
        (spec,) = job
        patience = spec.training_arguments(base).stopping_patience
        trained.append(patience)
        return [{"spec": spec.__dict__, "metrics": {"patience": patience}, "train_seconds": 0.0}]

    monkeypatch.setattr(reproduction, "_run_job", fake_job)
    specs = reproduction_grid(
        [0], protocols=["paper"], models=["emomv"], tasks=["correspondence"], variants=["multi"]
    )
    dataset = _fake_dataset(tmp_path / "emomv-c", b"PAR1 one")
    base = EmoMVTrainingArguments(dataset=dataset, output_dir=str(tmp_path / "out"))
    runs_dir = tmp_path / "out" / "runs"
    assert run_grid(specs, base, runs_dir, progress=False).runs[0]["metrics"] == {"patience": 20}
    explicit = run_grid(specs, dataclasses.replace(base, patience=100), runs_dir, progress=False)
    assert explicit.reused == 0 and explicit.runs[0]["metrics"] == {"patience": 100} and trained == [20, 100]


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
    # Tasks listed retrieval first: the twin still trains once, in its correspondence run's job.
    reversed_tasks = reproduction_grid(range(1), ["paper"], ["baseline"], ["retrieval", "correspondence"])
    jobs = reproduction.training_jobs(reversed_tasks)
    assert [spec.key for job in jobs for spec in job] == [
        "baseline-correspondence-multi-paper-seed0",
        "baseline-retrieval-multi-paper-seed0",
        "baseline-correspondence-single-paper-seed0",
        "baseline-retrieval-single-paper-seed0",
    ]


# --------------------------------------------------------------------------------------------------
# results.md: calibration rows and paired comparisons
# --------------------------------------------------------------------------------------------------


def _fake_cv_run(model, variant, seed, accuracy, scores, labels):
    return {
        "spec": {
            "model": model,
            "task": "correspondence",
            "variant": variant,
            "protocol": "cv",
            "seed": seed,
        },
        "metrics": {"accuracy": accuracy, "f1": accuracy, "roc_auc": accuracy, "ece": 0.1, "brier": 0.2},
        "train_seconds": 1.0,
        "majority_share": 0.5,
        "num_train_pairs": 365,
        "num_test_pairs": 91,
        "match_scores": {"labels": labels, "scores": scores},
        "settings": {
            "run_record": reproduction.RUN_RECORD,
            "emomv_hf_version": "0",
            "dataset_fingerprint": "sha256:" + "0" * 64,
            "training_arguments": {"cv_folds": 5},
        },
    }


def test_results_md_reports_calibration_and_paired_comparisons_against_the_proposed_model():
    from emomv_hf.metrics.functional import expected_calibration_error

    rng = np.random.default_rng(0)
    runs, pooled_scores, pooled_labels = [], [], []
    for seed in range(5):
        scores = rng.uniform(0.05, 0.95, 91).round(6).tolist()
        labels = (rng.random(91) < 0.5).astype(int).tolist()
        pooled_scores += scores
        pooled_labels += labels
        runs.append(_fake_cv_run("emomv", "multi", seed, 0.70 + 0.01 * seed, scores, labels))
        # The baseline is 5 points worse on every fold (± 0.2): a clear difference, -4.96 on average.
        runs.append(
            _fake_cv_run("baseline", "multi", seed, 0.65 + 0.01 * seed + 0.002 * (-1) ** seed, scores, labels)
        )
    markdown = reproduction.results_markdown(runs, dataset="datasets/emomv-c", command="cmd")
    assert "| Proposed (EmoMV) | ECE (10 bins), per fold | – | 0.100 ± 0.000 (0.100–0.100) |" in markdown
    assert "| Proposed (EmoMV) | Brier score, per fold | – | 0.200 ± 0.000 (0.200–0.200) |" in markdown
    pooled = expected_calibration_error(pooled_labels, pooled_scores)
    assert (
        f"| ECE (10 bins), pooled out-of-fold predictions | – | {pooled:.3f} (455 predictions) |" in markdown
    )
    assert "ECE of a perfectly calibrated model (simulated floor)" in markdown
    section = markdown[markdown.index("## Paired comparisons, correspondence, `cv`") :]
    row = next(line for line in section.splitlines() if "multi-task | Accuracy" in line)
    assert row.startswith("| Baseline (modified Li & Kumar), multi-task | Accuracy (%) | -4.96 |")
    assert row.endswith("| worse |")
    assert "n_train/n_test 365/91 (mean over the folds, as the runs recorded them)" in section


def test_results_md_says_why_rows_whose_folds_hold_other_pairs_are_not_compared():
    """Runs reused from an invocation whose folds held other pairs (another scikit-learn): results.md says why the
    rows are not compared instead of failing after the training."""
    runs = [
        {
            **_fake_cv_run(model, "multi", seed, 0.7 + 0.01 * seed, [0.5], [1]),
            "test_pairs_sha256": f"{model}{seed}",
        }
        for seed in range(5)
        for model in ("emomv", "baseline")
    ]
    markdown = reproduction.results_markdown(runs, dataset="datasets/emomv-c", command="cmd")
    assert (
        "Paired comparisons, correspondence, `cv`: not made: fold 0 of 5 (repetition 0) holds other pairs in A "
        "(emomv-correspondence-multi in this reproduction) than in B (baseline-correspondence-multi"
        in markdown
    )


def test_pooled_calibration_of_two_cv_repetitions_counts_each_pair_once_per_pooling():
    """Seeds 0-9 of a 5-fold cv are two repetitions over the same pairs: each repetition is pooled on its own
    (its 455 predictions are one per pair), and the pooled floor is that of 455 pairs, not of 910."""
    from emomv_hf.metrics.functional import expected_calibration_error
    from emomv_hf.training.calibration import ece_sampling_floor

    rng = np.random.default_rng(1)
    runs, by_repetition, every_score = [], [([], []), ([], [])], []
    for seed in range(10):
        scores = rng.uniform(0.05, 0.95, 91).round(6).tolist()
        labels = (rng.random(91) < (0.3 if seed < 5 else 0.7)).astype(int).tolist()
        by_repetition[seed // 5][0].extend(labels)
        by_repetition[seed // 5][1].extend(scores)
        every_score += scores
        runs.append(_fake_cv_run("emomv", "multi", seed, 0.7, scores, labels))
    markdown = reproduction.results_markdown(runs, dataset="datasets/emomv-c", command="cmd")
    mean = np.mean([expected_calibration_error(labels, scores) for labels, scores in by_repetition])
    assert f"| {mean:.3f} (mean of 2 repetitions of 455/455 predictions) |" in markdown
    floor = ece_sampling_floor(np.array(every_score), 455)
    assert f"per fold of 91, {floor:.3f} pooled |" in markdown


def test_ece_sampling_floor_is_the_expected_ece_of_a_calibrated_model():
    from scipy import stats

    from emomv_hf.training.calibration import ece_sampling_floor

    # Every P(matched) 0.5: one bin, the predicted class is 0, ECE = |share of label 0 - 0.5|, whose expectation
    # for n pairs is E|X/n - 1/2| with X ~ Binomial(n, 1/2).
    n = 92
    exact = sum(stats.binom.pmf(k, n, 0.5) * abs(k / n - 0.5) for k in range(n + 1))
    assert ece_sampling_floor(np.full(10, 0.5), n, draws=4000) == pytest.approx(exact, rel=0.05)
    spread = np.linspace(0.1, 0.9, 50)
    assert ece_sampling_floor(spread, 92) > 2 * ece_sampling_floor(spread, 912)


# --------------------------------------------------------------------------------------------------
# Nested selection (docs/nested-selection.md)
# --------------------------------------------------------------------------------------------------


def test_nested_selection_selects_inside_each_outer_training_fold(emomv_c_dir, tmp_path, monkeypatch):
    from emomv_hf.data.loading import load_emomv
    from emomv_hf.training.protocols import cv_folds

    base = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir), max_epochs=2, patience=1, progress=False, plots=False
    )
    candidates = {"paper": base, "lr3": dataclasses.replace(base, learning_rate=1e-3)}
    selection = reproduction.run_nested_selection(
        candidates, "correspondence", [0, 1], 2, tmp_path / "nested", progress=False
    )
    pooled, folds = cv_folds(load_emomv(str(emomv_c_dir), "pairs"), 5, 0)
    for seed in (0, 1):
        # The inner runs trained and reported on a dataset of the outer training fold alone.
        (folder,) = (tmp_path / "nested" / "datasets").glob(f"outer-seed{seed}-of-5-*")
        written = load_emomv(str(folder), "pairs")
        inner_ids = set(written["train"]["pair_id"]) | set(written["validation"]["pair_id"])
        train_rows, test_rows = folds[seed]
        assert inner_ids == set(pooled.select(train_rows)["pair_id"])
        assert not inner_ids & set(pooled.select(test_rows)["pair_id"])
        for name in candidates:
            inner_runs = sorted((tmp_path / "nested" / name / f"inner-seed{seed}").glob("*.json"))
            assert len(inner_runs) == 2
            for path in inner_runs:
                assert json.loads(path.read_text())["settings"]["dataset_fingerprint"] == dataset_fingerprint(
                    str(folder)
                )
        scores = selection.inner_scores[seed]
        assert selection.selected[seed] == max(scores, key=scores.get)
        outer = selection.outer_runs[selection.selected[seed]][seed]
        assert outer["spec"]["seed"] == seed and outer["num_test_pairs"] == len(test_rows)
    assert selection.nested_runs() == [
        selection.outer_runs[selection.selected[seed]][seed] for seed in (0, 1)
    ]
    markdown = reproduction.nested_markdown(selection, command="cmd", inner_folds=2)
    assert "## The nested result against the paper's configuration" in markdown
    assert "## Recommendation" in markdown

    # Resumed: every run is reused, nothing trains again.
    def no_training(*args):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(reproduction, "_run_job", no_training)
    again = reproduction.run_nested_selection(
        candidates, "correspondence", [0, 1], 2, tmp_path / "nested", progress=False
    )
    assert again.inner_scores == selection.inner_scores and again.outer_runs == selection.outer_runs


def test_an_outer_training_fold_written_before_the_fold_assignment_changed_is_not_reused(
    emomv_c_dir, tmp_path, monkeypatch
):
    # The folder of an outer training fold is reused by a resumed nested selection; a new scikit-learn or
    # package version may draw other folds for the same dataset and seed, and the inner runs must then not
    # train on the old fold (which holds pairs of the new outer test fold).
    from emomv_hf.data.loading import load_emomv
    from emomv_hf.training import protocols

    dataset, root = str(emomv_c_dir), tmp_path / "datasets"
    fingerprint = dataset_fingerprint(dataset)
    reproduction.outer_training_dataset(dataset, 0, 5, fingerprint, root)
    drawn = protocols.cv_folds
    monkeypatch.setattr(
        protocols, "cv_folds", lambda pairs, folds, repetition: drawn(pairs, folds, repetition + 7)
    )
    folder = reproduction.outer_training_dataset(dataset, 0, 5, fingerprint, root)
    written = load_emomv(folder, "pairs")
    pooled, folds = drawn(load_emomv(dataset, "pairs"), 5, 7)
    assert set(written["train"]["pair_id"]) | set(written["validation"]["pair_id"]) == set(
        pooled.select(folds[0][0])["pair_id"]
    )


def test_nested_rule_breaks_ties_for_the_paper_and_recommends_only_a_clear_gain():
    def run(seed, accuracy):
        scores = {"labels": [0, 1], "scores": [0.4, 0.6]}
        return _fake_cv_run("emomv", "multi", seed, accuracy, scores["scores"], scores["labels"])

    paper = [run(seed, 0.70 + 0.01 * seed) for seed in range(5)]
    better = [run(seed, 0.75 + 0.01 * seed + 0.001 * (-1) ** seed) for seed in range(5)]
    tied = {seed: {"paper": 0.6, "other": 0.6} for seed in range(5)}
    selection = reproduction.NestedSelection(
        "correspondence", ["paper", "other"], tied, {"paper": paper, "other": better}, "out"
    )
    assert set(selection.selected.values()) == {"paper"}  # a tie goes to the paper's configuration
    assert "the paper's configuration is the recommendation" in reproduction.nested_markdown(
        selection, command="cmd", inner_folds=3
    )
    chosen = {seed: {"paper": 0.6, "other": 0.7} for seed in range(5)}
    selection = reproduction.NestedSelection(
        "correspondence", ["paper", "other"], chosen, {"paper": paper, "other": better}, "out"
    )
    text = reproduction.nested_markdown(selection, command="cmd", inner_folds=3)
    assert "The nested selection is better" in text and "`other` (highest mean over the outer folds" in text
    # A higher mean whose interval includes 0 recommends nothing over the paper's configuration.
    noisy = [run(seed, 0.70 + 0.01 * seed + (0.06, -0.05, 0.07, -0.04, 0.03)[seed]) for seed in range(5)]
    selection = reproduction.NestedSelection(
        "correspondence", ["paper", "other"], chosen, {"paper": paper, "other": noisy}, "out"
    )
    text = reproduction.nested_markdown(selection, command="cmd", inner_folds=3)
    assert "No difference (nested − paper +1.40 points" in text
    assert "the paper's configuration is the recommendation for correspondence" in text
    # A clearly worse selection is called worse, and recommends the paper's configuration too.
    worse = [run(seed, 0.65 + 0.01 * seed + 0.001 * (-1) ** seed) for seed in range(5)]
    selection = reproduction.NestedSelection(
        "correspondence", ["paper", "other"], chosen, {"paper": paper, "other": worse}, "out"
    )
    text = reproduction.nested_markdown(selection, command="cmd", inner_folds=3)
    assert "Worse (nested − paper -4.98 points" in text
    assert "the paper's configuration is the recommendation for correspondence" in text


def test_script_names_the_output_folder_when_a_nested_selection_is_interrupted(
    emomv_c_dir, tmp_path, monkeypatch, capsys, load_script
):
    import signal

    script = load_script(SCRIPT)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(script, "run_nested_selection", interrupted)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the test process keeps its SIGTERM handler
    out = tmp_path / "out"
    argv = [
        *("--dataset", str(emomv_c_dir), "--seeds", "1", "--tasks", "correspondence", "--models", "emomv"),
        *("--variants", "multi", "--protocols", "cv", "--nested", "lr=--learning-rate 1e-3"),
        *("--output-dir", str(out)),
    ]
    assert script.main(argv) == 130
    assert f"interrupted; finished runs are kept in {out}, rerun" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("flags", ["--cv-folds 3", "--dataset other/emomv-c --learning-rate 1e-3"])
def test_a_nested_candidate_may_not_change_the_outer_folds(emomv_c_dir, tmp_path, capsys, load_script, flags):
    """Each candidate is selected on the paper's outer training folds and reported by its own outer cv run: a
    candidate of other folds (or another dataset) would report on pairs it was selected on (--cv-folds 3: 100 of
    seed 0's 152 test pairs), and the nested report then ended in a traceback. It is refused in one line."""
    out = tmp_path / "out"
    argv = [
        *("--dataset", str(emomv_c_dir), "--seeds", "1", "--tasks", "correspondence", "--models", "emomv"),
        *("--variants", "multi", "--protocols", "cv", "--nested", f"other={flags}", "--output-dir", str(out)),
    ]
    assert load_script(SCRIPT).main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [
        "reproduce_paper.py: error: --nested other: it may not change --dataset or --cv-folds (the outer folds "
        "are the command's)"
    ]
    assert not out.exists()
