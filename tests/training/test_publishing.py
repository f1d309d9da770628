"""Model cards, atomic output folders and the Hub upload path (everything up to the network call)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from accelerate.tracking import GeneralTracker, register_tracker_class

import emomv_hf.hub
from emomv_hf.training import EmoMVTrainingArguments, make_accelerator, pipeline, run_training

REPO_ROOT = Path(__file__).resolve().parents[2]


class RecordingHfApi:
    """Stands in for huggingface_hub.HfApi: records the calls instead of reaching the Hub."""

    calls: list[tuple[str, dict]] = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return f"https://huggingface.co/{kwargs['repo_id']}/commit/0"


def quick_args(emomv_c_dir: Path, output_dir: Path | None, **overrides) -> EmoMVTrainingArguments:
    values = dict(
        dataset=str(emomv_c_dir),
        output_dir=str(output_dir) if output_dir else None,
        max_epochs=3,
        patience=3,
        progress=False,
    )
    return EmoMVTrainingArguments(**{**values, **overrides})


def test_model_card_has_the_model_index_with_protocol_and_split(emomv_c_dir):
    args = quick_args(
        emomv_c_dir, None, task="retrieval", protocol="held-out", hub_model_id="emomv/emomv-c-retrieval"
    )
    run_result = run_training(args, make_accelerator(args, cpu=True), save=False)
    card = run_result.model_card(plots=["precision_recall_video_to_music.png"])
    metadata = yaml.safe_load(str(card).split("---")[1])
    assert metadata["license"] == "mit" and metadata["library_name"] == "transformers"
    (entry,) = metadata["model-index"]
    assert entry["name"] == "emomv-c-retrieval"
    results = entry["results"]
    assert {result["dataset"]["split"] for result in results} == {"validation"}
    assert {result["dataset"]["config"] for result in results} == {"segments"}
    metrics = {metric["type"]: metric for result in results for metric in result["metrics"]}
    assert set(metrics) == {
        f"{d}/{m}"
        for d in ("video_to_music", "music_to_video")
        for m in ("top1_accuracy", "top3_accuracy", "top5_accuracy", "map")
    }
    assert metrics["video_to_music/map"]["value"] == pytest.approx(
        100 * run_result.metrics["video_to_music/map"], abs=1e-4
    )
    assert "held-out protocol" in metrics["video_to_music/map"]["name"]
    text = str(card)
    assert "41.64" in text  # the paper's mAP next to ours
    assert "EmoMVForRetrieval" in text and "predicted" in text and "@article{thao2023emomv" in text


def test_failed_save_leaves_the_output_folder_untouched(emomv_c_dir, tmp_path, monkeypatch):
    output = tmp_path / "run"
    output.mkdir()
    (output / "notes.txt").write_text("kept")

    def broken_plots(report, directory):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "write_plots", broken_plots)
    args = quick_args(emomv_c_dir, output)
    with pytest.raises(RuntimeError, match="disk full"):
        run_training(args, make_accelerator(args, cpu=True))
    assert sorted(path.name for path in output.iterdir()) == ["notes.txt"]
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")], (
        "staging folder left behind"
    )


def test_push_to_hub_uploads_the_run_folder(emomv_c_dir, tmp_path, monkeypatch, load_script):
    RecordingHfApi.calls = []
    monkeypatch.setattr(emomv_hf.hub, "HfApi", RecordingHfApi)
    train_script = load_script(REPO_ROOT / "examples" / "train.py")
    output = tmp_path / "pushed"
    exit_code = train_script.main(
        [
            "--dataset",
            str(emomv_c_dir),
            "--output-dir",
            str(output),
            "--max-epochs",
            "2",
            "--no-progress",
            "--no-plots",
            "--push-to-hub",
            "--hub-model-id",
            "me/emomv-c",
            "--hub-private",
        ]
    )
    assert exit_code == 0
    (create, create_kwargs), (upload, upload_kwargs) = RecordingHfApi.calls
    assert create == "create_repo" and create_kwargs["repo_id"] == "me/emomv-c" and create_kwargs["private"]
    assert upload == "upload_folder" and Path(upload_kwargs["folder_path"]) == output
    assert "checkpoints/*" in upload_kwargs["ignore_patterns"]
    card = (output / "README.md").read_text()
    assert 'AutoModel.from_pretrained("me/emomv-c")' in card
    assert json.loads((output / "config.json").read_text())["model_type"] == "emomv"


def test_push_refuses_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to upload"):
        emomv_hf.hub.push_to_hub(tmp_path / "absent", "me/x", api=RecordingHfApi())


def test_tensorboard_logging_writes_event_files(emomv_c_dir, tmp_path):
    args = quick_args(emomv_c_dir, tmp_path / "logged", report_to="tensorboard", plots=False)
    run_training(args, make_accelerator(args, cpu=True))
    events = list((tmp_path / "logged").rglob("events.out.tfevents.*"))
    assert events and all(path.stat().st_size > 0 for path in events)
    assert (tmp_path / "logged" / "model.safetensors").exists()


class RecordingTracker(GeneralTracker):
    """An Accelerate tracker (`--report-to emomv-recording`) that keeps every `log` call as it came: unlike
    TensorBoard's, which skips a None value, it shows what the training loop passed."""

    name = "emomv-recording"
    requires_logging_directory = False

    def __init__(self, run_name: str):
        super().__init__()
        self.calls: list[tuple[int | None, dict]] = []

    @property
    def tracker(self) -> list[tuple[int | None, dict]]:
        return self.calls

    def log(self, values: dict, step: int | None = None, **kwargs) -> None:
        self.calls.append((step, dict(values)))


def test_a_cv_refit_logs_its_epochs_without_an_early_stopping_loss(emomv_c_dir):
    """The cv refit trains with no stopping data (`train_model(..., stopping_data=None)`): its epochs log the
    training loss and no early-stopping loss at all, not a None a tracker would have to cope with."""
    register_tracker_class(RecordingTracker)
    args = quick_args(
        emomv_c_dir, None, protocol="cv", max_epochs=2, report_to=RecordingTracker.name, plots=False
    )
    accelerator = make_accelerator(args, cpu=True)
    result = run_training(args, accelerator, save=False)
    # The budget run's best epoch is its last, so the refit trains both epochs.
    assert result.outcome.epochs_run == 2
    calls = accelerator.get_tracker(RecordingTracker.name, unwrap=True)
    epochs = [(step, sorted(values)) for step, values in calls if "train/loss" in values]
    both = ["early_stopping/loss", "train/loss"]
    assert epochs == [(0, both), (1, both), (0, ["train/loss"]), (1, ["train/loss"])]  # budget, then refit
    assert all(
        isinstance(value, float) and math.isfinite(value) for _, values in calls for value in values.values()
    )
    assert calls[-1][0] == 2 and "eval/accuracy" in calls[-1][1]


def test_cards_import_without_the_training_package():
    """The pipeline imports the card code, so the card code must not import the pipeline (no cycle)."""
    import subprocess
    import sys

    code = "import sys, emomv_hf.cards; print('emomv_hf.training' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_a_push_replaces_the_plots_and_weights_of_an_earlier_run(emomv_c_dir, tmp_path, hub, run_script):
    """A run pushed with its plots, then the same repository pushed from a run without plots: the Hub holds what
    the second run wrote and no plot of the first; a file someone added on the Hub stays."""
    output = tmp_path / "run"
    argv = ["--dataset", emomv_c_dir, "--output-dir", output, "--max-epochs", "1", "--no-progress"]
    argv += ["--push-to-hub", "--hub-model-id", "me/emomv-c"]
    first = run_script(REPO_ROOT / "examples" / "train.py", argv)
    assert first.returncode == 0, first.stderr
    repository = hub.repositories["model", "me/emomv-c"]
    assert {"roc_curve.png", "confusion_matrix.png", "model.safetensors"} <= set(repository)
    repository["images/banner.png"] = b"added on the Hub"

    second = run_script(REPO_ROOT / "examples" / "train.py", [*argv, "--no-plots", "--overwrite-output-dir"])
    assert second.returncode == 0, second.stderr
    written = {path.name: path.read_bytes() for path in output.iterdir() if path.is_file()}
    assert not [name for name in written if name.endswith(".png")]
    assert repository == {
        **written,
        ".gitattributes": b"*.parquet filter=lfs\n",
        "images/banner.png": b"added on the Hub",
    }


@pytest.mark.parametrize("repo_id", ["me/emomv-c", "me/emomv c"])
def test_a_push_that_cannot_be_made_is_one_error_line(
    emomv_c_dir, tmp_path, monkeypatch, run_script, repo_id
):
    """A Hub that cannot be reached (offline here) is one error line after training, the run kept; an invalid
    repository id is refused before training."""
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    output = tmp_path / "run"
    argv = [
        "--dataset",
        emomv_c_dir,
        "--output-dir",
        output,
        "--max-epochs",
        "1",
        "--no-progress",
        "--no-plots",
    ]
    done = run_script(
        REPO_ROOT / "examples" / "train.py", [*argv, "--push-to-hub", "--hub-model-id", repo_id]
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: ") and repo_id in done.stderr.splitlines()[-1]
    assert (output / "model.safetensors").is_file() == (repo_id == "me/emomv-c")


def test_a_card_reads_flags_the_recorded_command_gave_with_an_equals_sign(load_script):
    """A reproduction run as `--patience=7 --learning-rate=1e-3` (recorded as typed): the card's train.py command
    passes both and its settings table gives patience 7, not the protocol's default."""
    script = load_script(REPO_ROOT / "examples" / "write_model_cards.py")
    arguments = {name: None for name in script.RESULT_AFFECTING} | {"patience": 7, "learning_rate": 1e-3}
    recorded = "python examples/reproduce_paper.py --dataset emomv-c --patience=7 --learning-rate=1e-3"
    command = script._command("correspondence", arguments, recorded, "emomv", "emomv-c")
    assert command.endswith("--protocol held-out --learning-rate 0.001 --patience 7")
    assert "| `patience` | `7` |" in script._settings_table(arguments, recorded, "cv")


@pytest.mark.parametrize(
    "foreign, named",
    [("notes.txt", "notes.txt"), ("photos/a.jpg", "photos"), ("emomv-c-tagger/a.png", "a.png")],
)
def test_model_cards_never_replace_a_folder_holding_other_files(tmp_path, run_script, foreign, named):
    """write_model_cards.py replaces its --output-dir whole: a folder holding anything it does not write (a user's
    folder, a card folder with an image added) is refused in one line, untouched; its own output is rewritten."""
    script, output = REPO_ROOT / "examples" / "write_model_cards.py", tmp_path / "cards"
    assert run_script(script, ["--output-dir", output]).returncode == 0
    assert run_script(script, ["--output-dir", output]).returncode == 0  # a rerun replaces its own cards
    (output / foreign).parent.mkdir(parents=True, exist_ok=True)
    (output / foreign).write_text("mine")
    before = sorted(path.relative_to(output) for path in output.rglob("*"))
    done = run_script(script, ["--output-dir", output])
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and named in done.stderr, done.stderr
    assert sorted(path.relative_to(output) for path in output.rglob("*")) == before
    assert (output / foreign).read_text() == "mine"
