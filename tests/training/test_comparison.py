"""Paired comparisons over the same cv folds (emomv_hf.comparison, examples/compare.py); no training: the result
folders are written in the layout reproduce_paper.py writes."""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from emomv_hf.comparison import (
    ComparisonError,
    Fold,
    comparison_markdown,
    corrected_resampled_t,
    paired_comparison,
    read_results,
    verdict,
)
from emomv_hf.io_utils import dataset_folder_sha256

REPO_ROOT = Path(__file__).resolve().parents[2]
FINGERPRINT = "sha256:" + "ab" * 32


def _compare_script():
    spec = importlib.util.spec_from_file_location("compare_script", REPO_ROOT / "examples" / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reproduction_run(
    model, task, seed, metrics, *, folds=5, protocol="cv", fingerprint=FINGERPRINT, **settings
):
    """One run record as reproduction.run_grid writes it (runs/<key>-<digest>.json and results.json)."""
    repetition, fold = divmod(seed, folds)
    config = "segments" if task == "retrieval" else "pairs"
    split = (
        f"{config}/cv-fold-{fold}-of-{folds}-repetition-{repetition}"
        if protocol == "cv"
        else f"{config}/validation"
    )
    arguments = {
        "batch_size": 256,
        "config_overrides": None,
        "cv_folds": folds,
        "ensemble_size": 1,
        "held_out_fraction": 0.2,
        "learning_rate": 0.0001,
        "max_epochs": 1000,
        "patience": 100,
        "projections_from": None,
        "stopping_loss": "total",
        "weight_decay": 0.1,
        **settings,
    }
    return {
        "best_epoch": 3,
        "epochs_run": 4,
        "eval_split": split,
        "majority_share": 0.5 if task == "correspondence" else None,
        "metrics": metrics,
        "settings": {
            "dataset_fingerprint": fingerprint,
            "emomv_hf_version": "0.1.0",
            "training_arguments": arguments,
        },
        "spec": {"model": model, "protocol": protocol, "seed": seed, "task": task, "variant": "multi"},
        "train_seconds": 1.0,
    }


def _write_reproduction(folder: Path, runs) -> Path:
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(runs))
    (folder / "results.md").write_text("# Reproduction\n")
    return folder


def _accuracies(seeds, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    base = 0.70 + 0.04 * rng.standard_normal(len(seeds))
    return base, base + shift + 0.01 * rng.standard_normal(len(seeds))


def _correspondence(accuracy):
    return {"accuracy": accuracy, "f1": accuracy + 0.01, "roc_auc": accuracy + 0.05}


def _two_reproductions(tmp_path, shift, seeds=range(10), **b_settings):
    a_values, b_values = _accuracies(seeds, shift)
    a = _write_reproduction(
        tmp_path / "a",
        [
            _reproduction_run("emomv", "correspondence", s, _correspondence(v))
            for s, v in zip(seeds, a_values, strict=True)
        ],
    )
    b = _write_reproduction(
        tmp_path / "b",
        [
            _reproduction_run("emomv", "correspondence", s, _correspondence(v), **b_settings)
            for s, v in zip(seeds, b_values, strict=True)
        ],
    )
    return a, b


# --------------------------------------------------------------------------------------------------
# The test itself
# --------------------------------------------------------------------------------------------------

DIFFERENCES = [0.021, -0.004, 0.013, 0.030, 0.008, -0.011, 0.017, 0.025, 0.002, 0.010]
N_TRAIN, N_TEST = 365.0, 91.0


def test_corrected_interval_matches_an_independent_calculation():
    result = corrected_resampled_t(DIFFERENCES, N_TRAIN, N_TEST)
    # Written out: J = 10, mean, sample variance, (1/J + n2/n1) s², t_{0.975, 9} = 2.262157 (tables).
    j = len(DIFFERENCES)
    mean = sum(DIFFERENCES) / j
    variance = sum((d - mean) ** 2 for d in DIFFERENCES) / (j - 1)
    standard_error = math.sqrt((1 / j + N_TEST / N_TRAIN) * variance)
    quantile = 2.262157
    assert result.mean == pytest.approx(mean, abs=1e-15)
    assert result.standard_error == pytest.approx(standard_error, rel=1e-12)
    assert result.ci_low == pytest.approx(mean - quantile * standard_error, rel=1e-6)
    assert result.ci_high == pytest.approx(mean + quantile * standard_error, rel=1e-6)
    # p from the Student t's regularised incomplete beta: P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2).
    t = mean / standard_error
    assert result.p_value == pytest.approx(stats.beta.cdf(9 / (9 + t * t), 4.5, 0.5), rel=1e-9)


def test_the_plain_paired_t_is_narrower_and_is_the_uncorrected_case():
    rng = np.random.default_rng(3)
    a = 0.7 + 0.04 * rng.standard_normal(10)
    b = a + np.asarray(DIFFERENCES)
    plain = stats.ttest_rel(b, a)
    plain_ci = plain.confidence_interval(0.95)
    uncorrected = corrected_resampled_t(b - a, N_TRAIN, 0.0)
    assert uncorrected.p_value == pytest.approx(plain.pvalue, rel=1e-9)
    assert (uncorrected.ci_low, uncorrected.ci_high) == pytest.approx((plain_ci.low, plain_ci.high), rel=1e-9)
    corrected = corrected_resampled_t(b - a, N_TRAIN, N_TEST)
    assert corrected.ci_high - corrected.ci_low > plain_ci.high - plain_ci.low
    assert corrected.p_value > plain.pvalue
    # Here the plain t calls the difference significant and the corrected one does not.
    assert plain_ci.low > 0 and corrected.ci_low < 0


def test_the_test_refuses_bad_input():
    with pytest.raises(ComparisonError, match="at least 2"):
        corrected_resampled_t([0.1], N_TRAIN, N_TEST)
    with pytest.raises(ComparisonError, match="finite"):
        corrected_resampled_t([0.1, float("nan")], N_TRAIN, N_TEST)
    with pytest.raises(ComparisonError, match="confidence"):
        corrected_resampled_t([0.1, 0.2], N_TRAIN, N_TEST, confidence=95)
    constant = corrected_resampled_t([0.02, 0.02, 0.02], N_TRAIN, N_TEST)
    assert (constant.ci_low, constant.ci_high, constant.p_value) == (0.02, 0.02, 0.0)


def test_verdicts_follow_the_interval_and_the_metric_direction():
    up = corrected_resampled_t([0.05, 0.06, 0.04, 0.05, 0.055], N_TRAIN, N_TEST)
    down = corrected_resampled_t([-0.05, -0.06, -0.04, -0.05, -0.055], N_TRAIN, N_TEST)
    around = corrected_resampled_t(DIFFERENCES, N_TRAIN, N_TEST)
    assert up.ci_low > 0 and down.ci_high < 0 and around.ci_low < 0 < around.ci_high
    assert verdict("accuracy", up) == "better"
    assert verdict("accuracy", down) == "worse"
    assert verdict("accuracy", around) == "no difference"
    assert verdict("video_to_music/median_rank", up) == "worse"  # a higher rank is worse
    assert verdict("video_to_music/median_rank", down) == "better"
    # An interval that only touches 0 does not exclude it.
    touching = corrected_resampled_t([0.0, 0.0, 0.0], N_TRAIN, N_TEST)
    assert verdict("accuracy", touching) == "no difference"


def test_paired_comparison_of_two_reproductions(tmp_path):
    a, b = _two_reproductions(tmp_path, shift=0.05, learning_rate=0.001)
    results_a, results_b = (
        read_results(a)["emomv-correspondence-multi"],
        read_results(b)["emomv-correspondence-multi"],
    )
    assert results_a.folds == [Fold(r, f, 5) for r in (0, 1) for f in range(5)]
    comparison = paired_comparison(results_a, results_b, ["accuracy", "roc_auc"])
    accuracy = comparison.rows[0]
    differences = [
        results_b.metrics[f]["accuracy"] - results_a.metrics[f]["accuracy"] for f in results_a.folds
    ]
    expected = corrected_resampled_t(differences, 4.0, 1.0)  # sizes not recorded: 1/(k-1)
    assert accuracy.test == expected and accuracy.verdict == "better"
    assert accuracy.mean_b - accuracy.mean_a == pytest.approx(expected.mean)
    assert comparison.sizes_source == "assumed"
    assert comparison.settings_difference == "learning_rate 0.0001 vs 0.001"

    no_gain_a, no_gain_b = _two_reproductions(tmp_path / "same", shift=0.0)
    same = paired_comparison(
        read_results(no_gain_a)["emomv-correspondence-multi"],
        read_results(no_gain_b)["emomv-correspondence-multi"],
    )
    assert [row.metric for row in same.rows] == [
        "accuracy",
        "f1",
        "roc_auc",
    ]  # the paper's metrics by default
    assert {row.verdict for row in same.rows} == {"no difference"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"seeds_b": range(5, 15)},
            r"different folds: only in A .*: fold 0 of 5 \(repetition 0\).*only in B",
        ),
        ({"folds_b": 4}, "different folds: A .* used 5-fold cv, B .* 4-fold cv"),
        ({"fingerprint_b": "sha256:" + "cd" * 32}, "different datasets"),
        ({"protocol_b": "held-out"}, "no runs of the cv protocol"),
    ],
    ids=["seeds", "cv_folds", "dataset", "protocol"],
)
def test_mismatched_folds_datasets_and_protocols_are_refused(tmp_path, change, message):
    seeds_b = change.get("seeds_b", range(10))
    a = _write_reproduction(
        tmp_path / "a",
        [_reproduction_run("emomv", "correspondence", s, _correspondence(0.7)) for s in range(10)],
    )
    b = _write_reproduction(
        tmp_path / "b",
        [
            _reproduction_run(
                "emomv",
                "correspondence",
                s,
                _correspondence(0.7 + s / 1000),
                folds=change.get("folds_b", 5),
                fingerprint=change.get("fingerprint_b", FINGERPRINT),
                protocol=change.get("protocol_b", "cv"),
            )
            for s in seeds_b
        ],
    )
    with pytest.raises(ComparisonError, match=message):
        paired_comparison(
            read_results(a)["emomv-correspondence-multi"], read_results(b)["emomv-correspondence-multi"]
        )


def test_other_tasks_and_metrics_are_refused(tmp_path):
    cv = read_results(_two_reproductions(tmp_path, shift=0.0)[0])["emomv-correspondence-multi"]
    retrieval = _write_reproduction(
        tmp_path / "r",
        [_reproduction_run("emomv", "retrieval", s, {"video_to_music/map": 0.4}) for s in range(10)],
    )
    with pytest.raises(ComparisonError, match="different tasks"):
        paired_comparison(cv, read_results(retrieval)["emomv-retrieval-multi"])
    with pytest.raises(
        ComparisonError, match="metric 'map' is not recorded .*available: accuracy, f1, roc_auc"
    ):
        paired_comparison(cv, cv, ["map"])
    # The per-fold differences the corrected t receives are checked here, where the metric can be named.
    broken = read_results(_two_reproductions(tmp_path / "nan", shift=0.0)[1])["emomv-correspondence-multi"]
    broken.metrics[broken.folds[3]]["f1"] = float("nan")
    with pytest.raises(ComparisonError, match="metric 'f1' is NaN or infinite in some fold of A .* or B"):
        paired_comparison(cv, broken)


def test_a_folder_without_results_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComparisonError, match="holds no results"):
        read_results(tmp_path / "empty")
    # One configuration with one fold: not enough to compare.
    (single,) = read_results(
        _write_reproduction(
            tmp_path / "one", [_reproduction_run("emomv", "correspondence", 0, _correspondence(0.7))]
        )
    ).values()
    with pytest.raises(ComparisonError, match="at least 2 folds"):
        paired_comparison(single, single)


def test_local_fingerprint_is_the_reproductions(tmp_path):
    from emomv_hf.reproduction import dataset_fingerprint

    shard = tmp_path / "emomv-c" / "data" / "pairs" / "train-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"PAR1 content")
    assert dataset_folder_sha256(tmp_path / "emomv-c") == dataset_fingerprint(str(tmp_path / "emomv-c"))
    assert dataset_folder_sha256(tmp_path / "missing") is None


def test_markdown_names_the_method_under_the_table(tmp_path):
    a, b = _two_reproductions(tmp_path, shift=0.05)
    comparison = paired_comparison(
        read_results(a)["emomv-correspondence-multi"], read_results(b)["emomv-correspondence-multi"]
    )
    lines = comparison_markdown(comparison).splitlines()
    header = lines.index("| Metric | Mean A | Mean B | Mean diff (B − A) | 95 % CI | p | Verdict |")
    accuracy = lines[header + 2].split(" | ")
    row = comparison.rows[0]
    assert accuracy[0] == "| Accuracy (%)" and accuracy[1] == f"{100 * row.mean_a:.2f}"
    assert accuracy[3] == f"{100 * row.test.mean:+.2f}" and accuracy[-1] == "better |"
    assert accuracy[4] == f"[{100 * row.test.ci_low:+.2f}, {100 * row.test.ci_high:+.2f}]"
    method = lines[header + 6]
    assert method.startswith("Method: corrected resampled t (Nadeau & Bengio 2003), 10 folds (5-fold")
    assert "n_test/n_train = 1/(k-1) = 0.25 assumed" in method


def test_compare_script_end_to_end_on_reproduce_paper_outputs(tmp_path, monkeypatch, capsys):
    """Two folders written by examples/reproduce_paper.py itself (training faked), compared row by row."""
    from emomv_hf import reproduction

    spec = importlib.util.spec_from_file_location(
        "reproduce_script", REPO_ROOT / "examples" / "reproduce_paper.py"
    )
    reproduce = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reproduce)
    rng = np.random.default_rng(7)
    noise = {seed: 0.04 * rng.standard_normal() for seed in range(10)}

    def fake_job(job, base, threads):
        outcomes = []
        for item in job:
            gain = 0.05 if base.learning_rate == 0.001 and item.model == "emomv" else 0.0
            value = 0.7 + noise[item.seed] + gain + 0.005 * rng.standard_normal()
            if item.task == "correspondence":
                metrics = _correspondence(value)
            else:
                metrics = {
                    f"{d}/{m}": value - 0.3
                    for d in ("video_to_music", "music_to_video")
                    for m in ("top1_accuracy", "top3_accuracy", "top5_accuracy", "map")
                }
            outcomes.append(
                {
                    "spec": item.__dict__,
                    "metrics": metrics,
                    "best_epoch": 1,
                    "epochs_run": 2,
                    "train_seconds": 0.0,
                    "eval_split": f"{'pairs' if item.task == 'correspondence' else 'segments'}/cv-fold-{item.seed % 5}-of-5-repetition-{item.seed // 5}",
                    "majority_share": None,
                }
            )
        return outcomes

    monkeypatch.setattr(reproduction, "_run_job", fake_job)
    dataset = tmp_path / "emomv-c"
    (dataset / "data").mkdir(parents=True)
    (dataset / "data" / "pairs.parquet").write_bytes(b"PAR1 fake")
    common = ["--dataset", str(dataset), "--seeds", "10", "--protocols", "cv", "--variants", "multi"]
    common += ["--workers", "1", "--no-progress"]
    assert reproduce.main([*common, "--output-dir", str(tmp_path / "paper")]) == 0
    assert reproduce.main([*common, "--learning-rate", "1e-3", "--output-dir", str(tmp_path / "lr3")]) == 0
    capsys.readouterr()

    compare = _compare_script()
    assert (
        compare.main([str(tmp_path / "paper"), str(tmp_path / "lr3"), "--metrics", "accuracy", "roc_auc"])
        == 2
    )
    assert (
        "metric 'accuracy' is not recorded" in capsys.readouterr().err
    )  # the retrieval rows have no accuracy

    assert (
        compare.main(
            [str(tmp_path / "paper"), str(tmp_path / "lr3"), "--config", "emomv-correspondence-multi"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("## emomv-correspondence-multi\n")
    assert "Settings that differ (A vs B): learning_rate 0.0001 vs 0.001" in out
    assert "| Accuracy (%) |" in out and "| better |" in out
    assert "Method: corrected resampled t (Nadeau & Bengio 2003), 10 folds" in out

    # Two rows of one reproduction: the baseline against the proposed model.
    argv = [str(tmp_path / "lr3")] * 2 + ["--config", "baseline-correspondence-multi"]
    assert compare.main([*argv, "--config-b", "emomv-correspondence-multi"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## baseline-correspondence-multi (A) vs emomv-correspondence-multi (B)")
    assert "Settings that differ" not in out and "| better |" in out

    # Every row common to both folders: four sections.
    assert compare.main([str(tmp_path / "paper"), str(tmp_path / "lr3")]) == 0
    assert capsys.readouterr().out.count("\n## ") == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{tmp}/missing", "{tmp}/a"], "missing: not a folder"),
        (["{tmp}/other", "{tmp}/a"], "results.json: not a results.json of reproduce_paper.py"),
        (["{tmp}/listed", "{tmp}/a"], "results.json: not a results.json of reproduce_paper.py"),
        (["{tmp}/no-folds", "{tmp}/a"], "results.json: not a results.json of reproduce_paper.py"),
        (["{tmp}/a", "{tmp}/b", "--config", "nope"], "holds no nope (it holds emomv-correspondence-multi)"),
        (["{tmp}/a", "{tmp}/b", "--config-b", "x"], "--config-b needs --config"),
        (["{tmp}/a", "{tmp}/short"], "different folds: only in A"),
        (["{tmp}/a", "{tmp}/b", "--confidence", "2"], "confidence must be between 0 and 1"),
        (["{tmp}/a", "{tmp}/b", "--dataset", "{tmp}/nowhere"], "nowhere: not a local dataset folder"),
    ],
    ids=[
        "missing",
        "other-results",
        "metrics-list",
        "zero-folds",
        "config",
        "config-b",
        "folds",
        "confidence",
        "dataset",
    ],
)
def test_compare_script_bad_input_is_one_line(tmp_path, capsys, argv, message):
    _two_reproductions(tmp_path, shift=0.0)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.json").write_text('{"accuracy": 0.7}')
    # A run whose metrics are a list, not an object.
    _write_reproduction(
        tmp_path / "listed", [_reproduction_run("emomv", "correspondence", 0, {}) | {"metrics": []}]
    )
    # A run of 0-fold cv (someone else's, or a damaged file): its fold is seed mod 0.
    no_folds = _reproduction_run("emomv", "correspondence", 0, {})
    no_folds["settings"]["training_arguments"]["cv_folds"] = 0
    _write_reproduction(tmp_path / "no-folds", [no_folds])
    _write_reproduction(
        tmp_path / "short",
        [_reproduction_run("emomv", "correspondence", s, _correspondence(0.7)) for s in range(5)],
    )
    compare = _compare_script()
    assert compare.main([arg.format(tmp=tmp_path) for arg in argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("compare.py: error: ")
    assert message in captured.err


def test_compare_script_computes_fold_sizes_from_the_dataset(tmp_path, capsys, emomv_c_dir):
    """Runs that do not record their fold sizes: --dataset computes them as the cv protocol draws the folds."""
    from emomv_hf.reproduction import dataset_fingerprint

    fingerprint = dataset_fingerprint(str(emomv_c_dir))
    a_values, b_values = _accuracies(range(5), shift=0.0)
    for folder, values in (("a", a_values), ("b", b_values)):
        _write_reproduction(
            tmp_path / folder,
            [
                _reproduction_run(
                    "emomv", "correspondence", s, _correspondence(float(values[s])), fingerprint=fingerprint
                )
                for s in range(5)
            ],
        )
    compare = _compare_script()
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "b"), "--dataset", str(emomv_c_dir)]) == 0
    out = capsys.readouterr().out
    # EmoMV-C: 456 pooled pairs in five folds; the mean test fold is 456 / 5.
    assert (
        "n_train/n_test 364.8/91.2 (mean over the folds, computed from the dataset's fold assignment)" in out
    )
    sizes = compare.fold_sizes(str(emomv_c_dir), [Fold(0, f, 5) for f in range(5)], fingerprint)
    assert sum(n_test for _, n_test in sizes.values()) == 456
    assert all(n_train + n_test == 456 and 89 <= n_test <= 93 for n_train, n_test in sizes.values())

    (tmp_path / "other" / "data").mkdir(parents=True)
    (tmp_path / "other" / "data" / "x.parquet").write_bytes(b"PAR1 other")
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "b"), "--dataset", str(tmp_path / "other")]) == 2
    assert "is not the dataset the runs used" in capsys.readouterr().err


def test_fold_sizes_the_runs_recorded_enter_the_correction(tmp_path):
    seeds = range(5)
    a_values, b_values = _accuracies(seeds, 0.02)
    sizes = {seed: (360 + seed, 96 - seed) for seed in seeds}  # unequal folds, as EmoMV-C's 89-93
    runs = {
        name: [
            {
                **_reproduction_run("emomv", "correspondence", s, _correspondence(v)),
                "num_train_pairs": sizes[s][0],
                "num_test_pairs": sizes[s][1],
            }
            for s, v in zip(seeds, values, strict=True)
        ]
        for name, values in (("a", a_values), ("b", b_values))
    }
    a, b = (
        read_results(_write_reproduction(tmp_path / name, runs[name]))["emomv-correspondence-multi"]
        for name in "ab"
    )
    comparison = paired_comparison(a, b, ["accuracy"])
    assert comparison.sizes_source == "recorded"
    assert (comparison.train_size, comparison.test_size) == (362.0, 94.0)
    expected = corrected_resampled_t(b_values - a_values, 362.0, 94.0)  # the mean sizes enter the correction
    assert astuple(comparison.rows[0].test) == pytest.approx(astuple(expected), rel=1e-12)
    assert (
        "n_train/n_test 362/94 (mean over the folds, as the runs recorded them)" in comparison.method_line()
    )
    # Sizes given explicitly (computed from the dataset) take precedence.
    given = paired_comparison(a, b, ["accuracy"], fold_sizes={fold: (400, 50) for fold in a.folds})
    assert given.sizes_source == "computed" and given.test_size / given.train_size == 50 / 400
    # Runs without recorded sizes: assumed, as before.
    plain = paired_comparison(
        *(
            read_results(
                _write_reproduction(
                    tmp_path / f"plain-{n}",
                    [{k: v for k, v in run.items() if not k.startswith("num_")} for run in runs[n]],
                )
            )["emomv-correspondence-multi"]
            for n in "ab"
        ),
        ["accuracy"],
    )
    assert plain.sizes_source == "assumed"


def test_calibration_metrics_are_lower_is_better():
    down = corrected_resampled_t([-0.02, -0.03, -0.025, -0.02, -0.03], N_TRAIN, N_TEST)
    assert verdict("ece", down) == "better" and verdict("brier", down) == "better"


@pytest.mark.parametrize("stream", ["video", "music"])
def test_the_emotion_heads_calibration_metrics_are_lower_is_better(stream):
    down = corrected_resampled_t([-0.02, -0.03, -0.025, -0.02, -0.03], N_TRAIN, N_TEST)
    for metric in (f"{stream}_emotion_ece", f"{stream}_emotion_brier"):
        assert verdict(metric, down) == "better", metric


def test_folds_that_hold_other_pairs_are_not_paired(emomv_c_dir, tmp_path, monkeypatch, capsys):
    """Two real reproductions over the same dataset and seeds whose fold assignments differ (as another
    scikit-learn may draw them): each run records its test fold's pairs, and the comparison refuses to pair them."""
    import hashlib

    from emomv_hf.data.loading import load_emomv
    from emomv_hf.reproduction import dataset_fingerprint, reproduction_grid, run_grid
    from emomv_hf.training import protocols
    from emomv_hf.training.arguments import EmoMVTrainingArguments

    dataset = str(emomv_c_dir)
    base = EmoMVTrainingArguments(dataset=dataset, max_epochs=2, patience=1, progress=False, plots=False)
    specs = reproduction_grid([0, 1], ["cv"], ["emomv"], ["correspondence"], ["multi"])

    def reproduce(name):
        runs = run_grid(specs, base, tmp_path / name / "runs", progress=False).runs
        return _write_reproduction(tmp_path / name / "out", runs), runs

    a, runs_a = reproduce("a")
    drawn = protocols.cv_folds
    monkeypatch.setattr(protocols, "cv_folds", lambda pairs, k, repetition: drawn(pairs, k, repetition + 7))
    b, _ = reproduce("b")
    # Each run records the sha256 of its test fold's sorted pair ids.
    pooled, folds = drawn(load_emomv(dataset, "pairs"), 5, 0)
    for run, (_, test_rows) in zip(runs_a, folds, strict=False):
        pair_ids = "\n".join(sorted(pooled.select(test_rows)["pair_id"]))
        assert run["test_pairs_sha256"] == hashlib.sha256(pair_ids.encode()).hexdigest()
    assert runs_a[0]["settings"]["dataset_fingerprint"] == dataset_fingerprint(dataset)

    name = "emomv-correspondence-multi"
    results_a, results_b = read_results(a)[name], read_results(b)[name]
    assert results_a.folds == results_b.folds and results_a.dataset == results_b.dataset
    with pytest.raises(
        ComparisonError, match=r"fold 0 of 5 \(repetition 0\) holds other pairs in A .* than in B"
    ):
        paired_comparison(results_a, results_b, ["accuracy"])
    capsys.readouterr()  # the trainings' output
    assert _compare_script().main([str(a), str(b)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("compare.py: error: ") and str(a) in line and str(b) in line
    # The same folds pair; runs recorded before the digest are compared unchecked, and the method line says so.
    assert "not checked" not in paired_comparison(results_a, results_a, ["accuracy"]).method_line()
    results_b.test_pairs.clear()
    method = paired_comparison(results_a, results_b, ["accuracy"]).method_line()
    assert "The pairs of 2 of the 2 folds are not checked to be the same in A and B" in method
