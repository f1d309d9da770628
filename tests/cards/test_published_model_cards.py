"""Issue 26.6: model_cards/ holds the cards of the published checkpoints, exactly as examples/write_model_cards.py
writes them today from the stored results files, with cv metrics and their uncertainty."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = REPO_ROOT / "model_cards"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location(
        "write_model_cards", REPO_ROOT / "examples" / "write_model_cards.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def files(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_model_cards_are_what_the_script_writes_today(script, tmp_path):
    assert script.main(["--output-dir", str(tmp_path / "cards")]) == 0
    written = files(tmp_path / "cards")
    assert sorted(written) == [
        "README.md",
        "emomv-c-correspondence/README.md",
        "emomv-c-retrieval/README.md",
        "emomv-c-tagger/README.md",
    ]
    assert written == files(PUBLISHED), "model_cards/ is stale: run python examples/write_model_cards.py"


def test_cards_report_the_cv_folds_with_their_uncertainty():
    runs = json.loads((REPO_ROOT / "docs/reproduction-emomv-c/results.json").read_text())
    accuracies = [
        run["metrics"]["accuracy"]
        for run in runs
        if run["spec"] == {**run["spec"], "model": "emomv", "task": "correspondence", "variant": "multi"}
    ]
    assert len(accuracies) == 5
    card = (PUBLISHED / "emomv-c-correspondence/README.md").read_text()
    metadata = yaml.safe_load(card.split("---")[1])
    (result,) = metadata["model-index"][0]["results"]
    assert result["dataset"]["type"] == "emomv/emomv-c"  # a Hub id, not a folder
    accuracy = next(metric for metric in result["metrics"] if metric["type"] == "accuracy")
    assert accuracy["value"] == pytest.approx(100 * np.mean(accuracies), abs=1e-4)
    mean, std = 100 * np.mean(accuracies), 100 * np.std(accuracies, ddof=1)
    row = next(line for line in card.splitlines() if line.startswith("| Accuracy (%) |"))
    assert f"| {mean:.2f} ± {std:.2f} |" in row
    low, high = (float(value) for value in row.split("| [")[1].split("]")[0].split(", "))
    assert low < mean < high and high - low > 2 * std  # the corrected interval, wider than ± 1 std
    assert "corrected resampled t" in card and "`cv` protocol over 5 outer folds" in card
    for text in ("/tmp/", "/work/", "/home/"):  # no machine's folders
        assert all(text not in page for page in files(PUBLISHED).values())


def test_left_out_cards_say_why(script, tmp_path):
    index = (PUBLISHED / "README.md").read_text()
    assert "emomv-a-correspondence, emomv-a-retrieval, emomv-a-tagger: no results file was given" in index
    assert "no SlowFast (video) features of EmoMV-A and EmoMV-B" in index
    # A reproduction without retrieval runs and no tagger results: those two cards are left out, with the reason.
    reproduction = tmp_path / "reproduction"
    reproduction.mkdir()
    runs = json.loads((REPO_ROOT / "docs/reproduction-emomv-c/results.json").read_text())
    (reproduction / "results.json").write_text(
        json.dumps([run for run in runs if run["spec"]["task"] == "correspondence"])
    )
    output = tmp_path / "cards"
    (output / "emomv-c-retrieval").mkdir(parents=True)  # a card of an earlier run: removed
    argv = ["--reproduction", f"emomv-c={reproduction}", "--tagger", "emomv-a=docs/tagging-emomv-c.json"]
    assert script.main([*argv, "--output-dir", str(output)]) == 0
    assert sorted(path.name for path in output.iterdir()) == [
        "README.md",
        "emomv-a-tagger",
        "emomv-c-correspondence",
    ]
    index = (output / "README.md").read_text()
    assert "- emomv-c-retrieval: reproduction has no `cv` runs of `emomv-retrieval-multi`." in index
    assert "- emomv-c-tagger: no results file was given for EmoMV-C." in index


def test_bad_arguments_are_one_line(script, tmp_path, capsys):
    assert script.main(["--reproduction", "emomv-x=docs", "--output-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert script.main(["--reproduction", f"emomv-c={tmp_path}", "--output-dir", str(tmp_path / "o")]) == 1
    assert "holds no results" in capsys.readouterr().err


@pytest.mark.parametrize("overrides", ["num_hidden_layers=2", "num_hidden_layers=2,neutral_class=true"])
def test_a_taggers_card_says_whether_it_has_a_neutral_class(script, tmp_path, overrides):
    report = json.loads((REPO_ROOT / "docs/tagging-emomv-c.json").read_text())
    report["arguments"]["config_overrides"] = overrides
    (tmp_path / "tagger.json").write_text(json.dumps(report))
    argv = ["--tagger", f"emomv-c={tmp_path / 'tagger.json'}", "--output-dir", str(tmp_path / "cards")]
    assert script.main(argv) == 0
    card = (tmp_path / "cards" / "emomv-c-tagger" / "README.md").read_text()
    neutral = "neutral_class=true" in overrides
    assert ("and a `neutral` class." in card) is neutral and ("no neutral class" in card) is not neutral
