"""Results tables: our fractions on the paper's scale, next to the paper's numbers."""

from __future__ import annotations

import pytest

from emomv_hf.paper_results import PAPER_RESULTS, metric_names
from emomv_hf.reporting import seed_summary, single_run_table


def test_single_run_table_puts_the_paper_value_beside_ours():
    metrics = {"accuracy": 0.7083333, "f1": 0.68, "roc_auc": 0.7412, "video_emotion_accuracy": 0.40625}
    table = single_run_table(
        metrics, dataset="emomv-c", model="emomv", task="correspondence", variant="multi"
    )
    lines = table.splitlines()
    assert lines[0] == "| Metric | This run | Paper |"
    assert "| Accuracy (%) | 70.83 | 70.83 |" in lines
    assert "| F1 (matched) | 0.68 | 0.68 |" in lines
    assert "| ROC-AUC | 0.74 | 0.74 |" in lines
    assert "| Video emotion accuracy (%) | 40.62 | – |" in lines


def test_single_run_table_shows_counterpart_metrics_for_retrieval():
    metrics = {name: 0.5 for name in metric_names("retrieval")}
    metrics.update({"video_to_music/recall@5": 0.0625, "video_to_music/median_rank": 49.5})
    table = single_run_table(metrics, dataset="emomv-c", model="emomv", task="retrieval", variant="single")
    assert "| video → music mAP (%) | 50.00 | 38.20 |" in table
    assert "| music → video Top-5 (%) | 50.00 | 87.50 |" in table
    assert "| video → music Recall@5 of the counterpart (%) | 6.25 | – |" in table
    assert "| video → music Median rank of the counterpart | 49.5 | – |" in table


def test_seed_summary_is_mean_sample_std_and_range_on_the_paper_scale():
    # accuracies 0.60, 0.70, 0.80 -> 60, 70, 80 %: mean 70, sample std 10
    assert seed_summary([0.6, 0.7, 0.8], "accuracy") == "70.00 ± 10.00 (60.00–80.00)"
    assert seed_summary([0.74], "roc_auc") == "0.74 ± 0.00 (0.74–0.74)"


def test_paper_results_cover_every_row_of_tables_8_to_13():
    for dataset in ("emomv-a", "emomv-b", "emomv-c"):
        rows = PAPER_RESULTS[dataset]
        assert len(rows) == 8
        for (model, task, variant), values in rows.items():
            assert set(values) == set(metric_names(task)), (dataset, model, task, variant)


def test_paper_tables_are_csv_shipped_as_package_data():
    from pathlib import Path

    from emomv_hf.paper_results import TABLES_DIR

    names = {path.name for path in TABLES_DIR.glob("*.csv")}
    assert {"correspondence.csv", "retrieval.csv", "survey.csv", "survey_agreement.csv"} <= names
    # Spot checks against the paper: Table 9 (EmoMV-A, baseline) and Table 13 (EmoMV-C, baseline).
    assert PAPER_RESULTS["emomv-a"][("baseline", "correspondence", "single")] == {
        "accuracy": 62.10,
        "f1": 0.62,
        "roc_auc": 0.70,
    }
    assert (
        PAPER_RESULTS["emomv-c"][("baseline", "retrieval", "single")]["video_to_music/top5_accuracy"] == 100.0
    )
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "paper_tables/*.csv" in pyproject["tool"]["setuptools"]["package-data"]["emomv_hf"]
