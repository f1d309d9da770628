"""examples/evaluate.py ends with one `error:` line, not a traceback, for a model it cannot load."""

from __future__ import annotations

from pathlib import Path

EVALUATE = Path(__file__).resolve().parents[2] / "examples" / "evaluate.py"


def test_a_hub_model_that_cannot_be_loaded_is_one_error_line(emomv_c_dir, tmp_path, run_script):
    # A mistyped Hub id (or any id while offline, as the tests run): transformers raises OSError.
    arguments = ["--model", "emomv-hf-tests/no-such-model", "--dataset", emomv_c_dir]
    arguments += ["--output-dir", tmp_path]
    completed = run_script(EVALUATE, arguments)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert completed.stderr.startswith("error: ") and not list(tmp_path.iterdir())
