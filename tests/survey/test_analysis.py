"""Tables 5-7 and the agreement rates on a hand-made answer set, against proportions computed by hand."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import traceback
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from emomv_hf.io_utils import file_sha256
from emomv_survey.analysis import (
    PAPER_AGREEMENT,
    PAPER_RATINGS,
    _plotted,
    analyze,
    format_markdown,
    percent,
    rating_bin,
)
from emomv_survey.store import SurveyStore

from .helpers import load_script

# (participant, sample): (matched in emotions, aligned in general, video emotion, music emotion)
ANSWERS = {
    ("p1", "S1"): (5, 4, "exciting", "exciting"),
    ("p2", "S1"): (4, 4, "exciting", "sad"),
    ("p3", "S1"): (3, 5, "tense", "exciting"),
    ("p1", "S2"): (2, 3, "sad", "sad"),
    ("p2", "S2"): (5, 5, "relaxing", "sad"),
    ("p3", "S2"): (1, 2, "sad", "relaxing"),
    ("p1", "S3"): (1, 1, "exciting", "sad"),
    ("p2", "S3"): (2, 1, "exciting", "relaxing"),
    ("p3", "S3"): (4, 3, "fearful", "sad"),
    ("p1", "S4"): (1, 2, "tense", "relaxing"),
    ("p2", "S4"): (3, 3, "fearful", "relaxing"),
    ("p3", "S4"): (2, 4, "tense", "relaxing"),
    ("p1", "S5"): (5, 5, "tense", "tense"),
    ("p2", "S5"): (4, 3, "sad", "tense"),
    ("p1", "S6"): (1, 2, "fearful", "exciting"),
    ("p2", "S6"): (3, 1, "tense", "exciting"),
}  # p3 skipped the two EmoMV-C samples

# Worked out by hand from ANSWERS (see the comments): percent with two decimals, half up.
EXPECTED_TABLES = {
    # emomv-a matched, emotions: 5 4 3 2 5 1 -> poor 2/6, moderate 1/6, good 3/6
    ("emomv-a", "matched", "emotion_match"): ("33.33", "16.67", "50.00"),
    # alignment: 4 4 5 3 5 2 -> 1/6, 1/6, 4/6
    ("emomv-a", "matched", "alignment"): ("16.67", "16.67", "66.67"),
    # mismatched, emotions: 1 2 4 1 3 2 -> 4/6, 1/6, 1/6
    ("emomv-a", "mismatched", "emotion_match"): ("66.67", "16.67", "16.67"),
    # alignment: 1 1 3 2 3 4 -> 3/6, 2/6, 1/6
    ("emomv-a", "mismatched", "alignment"): ("50.00", "33.33", "16.67"),
    ("emomv-c", "matched", "emotion_match"): ("0.00", "0.00", "100.00"),  # 5 4
    ("emomv-c", "matched", "alignment"): ("0.00", "50.00", "50.00"),  # 5 3
    ("emomv-c", "mismatched", "emotion_match"): ("50.00", "50.00", "0.00"),  # 1 3
    ("emomv-c", "mismatched", "alignment"): ("100.00", "0.00", "0.00"),  # 2 1
}
# video: A 2+2+2+2 of 12, C 1+1 of 4; music: A 2+2+2+3 of 12, C 4 of 4
EXPECTED_AGREEMENT = {
    ("emomv-a", "video"): ("66.67", 8, 12),
    ("emomv-a", "music"): ("75.00", 9, 12),
    ("emomv-c", "video"): ("50.00", 2, 4),
    ("emomv-c", "music"): ("100.00", 4, 4),
}


def _fill(store: SurveyStore) -> None:
    for participant in ("p1", "p2", "p3"):
        store.add_participant(participant)
    for (participant, sample_id), answer in ANSWERS.items():
        store.submit(participant, sample_id, *answer)


def test_bins_and_rounding() -> None:
    assert [rating_bin(rating) for rating in range(1, 6)] == ["poor", "poor", "moderate", "good", "good"]
    with pytest.raises(ValueError, match="1-5"):
        rating_bin(0)
    assert str(percent(Fraction(1, 8))) == "12.50"
    assert str(percent(Fraction(10, 220))) == "4.55"  # half up (the paper prints 4.54 in Table 7)
    assert str(percent(Fraction(2, 3))) == "66.67"


def test_plots_draw_a_share_in_percent_and_one_without_ratings_empty() -> None:
    assert _plotted(Fraction(1, 8)) == 12.5 and _plotted(Fraction(2, 3)) == float(Fraction(2, 3)) * 100
    assert _plotted(None) == 0.0


def test_hand_computed_proportions(store: SurveyStore) -> None:
    _fill(store)
    results = analyze(store)
    assert (results.participants, results.responses) == (3, 16)
    for (dataset, label, question), expected in EXPECTED_TABLES.items():
        shares = [results.share(dataset, label, question, b) for b in ("poor", "moderate", "good")]
        assert sum(shares) == 1
        assert tuple(str(percent(share)) for share in shares) == expected, (dataset, label, question)
    assert results.share("emomv-a", "matched", "emotion_match", "poor") == Fraction(1, 3)
    for (dataset, stream), (expected, agreeing, total) in EXPECTED_AGREEMENT.items():
        assert results.agreement[(dataset, stream)] == (agreeing, total)
        assert str(percent(results.agreement_share(dataset, stream))) == expected


def test_complete_only_drops_unfinished_participants(store: SurveyStore) -> None:
    _fill(store)
    results = analyze(store, complete_only=True)
    assert (results.participants, results.responses) == (2, 12)
    # p1, p2 on the matched EmoMV-A samples: 5 4 2 5 -> poor 1/4, moderate 0, good 3/4
    shares = [results.share("emomv-a", "matched", "emotion_match", b) for b in ("poor", "moderate", "good")]
    assert shares == [Fraction(1, 4), 0, Fraction(3, 4)]


def test_counts_are_in_the_right_number(store: SurveyStore) -> None:
    """Issue 26.8: "1 participants" read wrong."""
    for participant in ("p1", "p2"):
        store.add_participant(participant)
        store.submit(participant, "S1", *ANSWERS[(participant, "S1")])
        store.submit(participant, "S2", *ANSWERS[(participant, "S2")])
        if participant == "p1":
            assert "\n1 participant, 2 responses. Shares" in format_markdown(analyze(store))
    store.submit("p2", "S3", *ANSWERS[("p2", "S3")])
    assert "\n2 participants, 5 responses. Shares" in format_markdown(analyze(store))


def test_paper_tables_are_the_papers() -> None:
    assert PAPER_RATINGS[("emomv-a", "matched", "emotion_match")] == {
        "poor": 8.18,
        "moderate": 14.55,
        "good": 77.27,
    }
    assert PAPER_RATINGS[("emomv-c", "mismatched", "alignment")] == {
        "poor": 81.82,
        "moderate": 7.27,
        "good": 10.91,
    }
    for shares in PAPER_RATINGS.values():
        assert sum(shares.values()) == pytest.approx(100, abs=0.011)
    assert PAPER_AGREEMENT[("emomv-b", "music")] == 77.27 and PAPER_AGREEMENT[("emomv-c", "video")] == 53.18


def test_analyze_script_writes_the_report(store: SurveyStore, tmp_path: Path, capsys) -> None:
    _fill(store)
    output = tmp_path / "report"
    assert load_script("analyze").main(["--db", str(store.path), "--output-dir", str(output)]) == 0
    printed = capsys.readouterr().out
    markdown = (output / "survey_report.md").read_text()
    assert markdown in printed
    assert (
        "| Matched samples | Matched in emotions | 6 | 33.33 (8.18) | 16.67 (14.55) | 50.00 (77.27) |"
        in markdown
    )
    assert (
        "| Mismatched samples | General alignment | 2 | 100.00 (81.82) | 0.00 (7.27) | 0.00 (10.91) |"
        in markdown
    )
    assert "| EmoMV-A | 75.00 (57.27) | 66.67 (64.55) | 12 |" in markdown
    payload = json.loads((output / "survey_results.json").read_text())
    cell = payload["datasets"]["emomv-a"]["mismatched"]["alignment"]
    assert cell["n"] == 6 and cell["poor"] == {"fraction": "1/2", "percent": 50.0}
    assert cell["moderate"]["fraction"] == "1/3"
    assert payload["datasets"]["emomv-c"]["emotion_agreement"]["video"] == {
        "agreeing": 2,
        "n": 4,
        "share": {"fraction": "1/2", "percent": 50.0},
    }
    for name in ("survey_ratings_emomv-a.png", "survey_ratings_emomv-c.png", "survey_agreement.png"):
        assert (output / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(path.name for path in output.iterdir() if path.name.startswith(".")) == []  # no temporaries


def test_analyze_script_errors(tmp_path: Path, capsys) -> None:
    script = load_script("analyze")
    assert script.main(["--db", str(tmp_path / "missing.sqlite")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "junk.sqlite").write_text("not a database")
    assert script.main(["--db", str(tmp_path / "junk.sqlite")]) == 1
    assert "error:" in capsys.readouterr().err


def test_a_dataset_that_is_a_path_writes_no_plot_outside(tmp_path: Path, samples, capsys) -> None:
    """A database from someone else (or one served from their manifest) whose dataset is 'x/../../escaped':
    analyze.py wrote the plot survey_ratings_x/../../escaped.png, outside --output-dir (any '*.png' path with
    more '..'). Refused in one line before anything is written; --no-plots names no file by it and reads it."""
    store = SurveyStore(tmp_path / "db" / "responses.sqlite")
    store.set_samples([replace(sample, dataset="x/../../escaped") for sample in samples])
    output = tmp_path / "db" / "report"
    script = load_script("analyze")
    assert script.main(["--db", str(store.path), "--output-dir", str(output)]) == 1
    [error] = capsys.readouterr().err.splitlines()
    assert error.startswith("error: dataset 'x/../../escaped' cannot name a plot file")
    assert not output.exists() and not list(tmp_path.rglob("*.png"))
    assert script.main(["--db", str(store.path), "--output-dir", str(output), "--no-plots"]) == 0
    assert sorted(path.name for path in output.iterdir()) == ["survey_report.md", "survey_results.json"]


def _as_unprivileged_user(function) -> int:
    """``function()`` (an exit status) run by the user nobody in a forked child when the tests run as root, whom
    no permission bit stops; run directly otherwise."""
    if os.geteuid() != 0:
        return function()
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        status = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            status = function()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.parametrize("folder_mode", [0o555, 0o777], ids=["read-only-folder", "read-only-file"])
def test_analyze_reads_a_read_only_copy(store: SurveyStore, tmp_path: Path, folder_mode: int) -> None:
    # every store call took a write lock (BEGIN IMMEDIATE): a copy without write permission could not be read
    _fill(store)
    script = load_script("analyze")
    assert (
        script.main(["--db", str(store.path), "--output-dir", str(tmp_path / "expected"), "--no-plots"]) == 0
    )
    # under /tmp, where nobody reaches it (tmp_path is inside root's private folder)
    folder = Path(tempfile.mkdtemp(prefix="survey-copy-"))
    try:
        copy, output = folder / "copy" / "responses.sqlite", folder / "report"
        copy.parent.mkdir()
        shutil.copy(store.path, copy)  # the store's last connection folded the WAL into the file
        output.mkdir(mode=0o777)
        copy.chmod(0o444)
        for path in (folder, output, copy.parent):
            path.chmod(0o777 if path != copy.parent else folder_mode)
        digest = file_sha256(copy)
        arguments = script.AnalyzeArguments(db=str(copy), output_dir=str(output), plots=False)
        assert _as_unprivileged_user(lambda: script._run(arguments)) == 0  # main reads root's pytest folder
        for name in ("survey_report.md", "survey_results.json"):
            assert (output / name).read_bytes() == (tmp_path / "expected" / name).read_bytes()
        # read only whoever reads it: SQLite itself refuses a write, root's too
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            SurveyStore(copy, read_only=True).add_participant("p4")
        assert file_sha256(copy) == digest
    finally:
        copy.parent.chmod(0o755)
        shutil.rmtree(folder)
