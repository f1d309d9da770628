"""Issue 26.5: a model card names its training dataset by Hub id or name, and lists the limitations of that
dataset, not EmoMV-C's, when it is the user's own."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from emomv_hf.cards.model_card import make_model_card
from emomv_hf.training import EmoMVTrainingArguments, make_accelerator, run_training
from emomv_hf.training.protocols import PROTOCOL_DESCRIPTIONS


@pytest.fixture(scope="module")
def run(emomv_c_dir):
    """A correspondence model trained 3 epochs on EmoMV-C (not saved)."""
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir), max_epochs=3, patience=3, progress=False, protocol="held-out"
    )
    return run_training(args, make_accelerator(args, cpu=True), save=False)


def card_for(run, dataset: str) -> tuple[dict, str]:
    """The card of ``run`` as if trained on ``dataset``: its YAML and its body."""
    card = replace(run, args=replace(run.args, dataset=dataset)).model_card()
    _, metadata, body = str(card).split("---", 2)
    return yaml.safe_load(metadata), body


def dataset_types(metadata: dict) -> set[str]:
    return {result["dataset"]["type"] for result in metadata["model-index"][0]["results"]}


def test_local_emomv_folder_is_named_not_pathed(run, emomv_c_dir):
    metadata, body = card_for(run, str(emomv_c_dir))
    assert dataset_types(metadata) == {"emomv-c"}
    # Only the usage example (runnable where the model was trained) and the training table give the folder itself.
    prose = body.split("## Training")[0].replace(python_block(body), "")
    assert str(emomv_c_dir) not in prose
    assert "(`emomv-c`)" in body and "96 pairs for EmoMV-C" in body and "**predicted**" in body


def test_users_folder_gets_its_own_limitations(run, tmp_path):
    folder = tmp_path / "datasets" / "my-emomv"
    folder.mkdir(parents=True)
    metadata, body = card_for(run, str(folder))
    assert dataset_types(metadata) == {"my-emomv"} and "datasets" not in metadata
    limitations = body.split("## Limitations")[1].split("## Training")[0]
    assert "EmoMV-C" not in limitations and "EmoMV-B" not in limitations and "96 pairs" not in limitations
    assert "`my-emomv` are whatever its maker gave or a tagger predicted" in limitations


def test_hub_dataset_is_named_by_its_id(run):
    metadata, body = card_for(run, "me/my-emomv")
    assert dataset_types(metadata) == {"me/my-emomv"} and metadata["datasets"] == ["me/my-emomv"]
    assert "(`me/my-emomv`)" in body and "96 pairs" not in body


def python_block(card_text: str) -> str:
    return card_text.split("```python\n", 1)[1].split("```", 1)[0]


def _held_out_card(dataset: str, model_class: str, best_epoch: int, epochs_run: int, **changes):
    """The card of a held-out run of the multi-task correspondence model on ``dataset``."""
    args = {"single_task": False, "dataset": dataset, "task": "correspondence", "model": "emomv"}
    return make_model_card(
        args={**args, "protocol": "held-out", "seed": 0, **changes.pop("args", {})},
        metrics={"accuracy": 0.75, "f1": 0.7, "roc_auc": 0.8},
        eval_split="pairs/validation",
        model_class=model_class,
        num_parameters=1,
        best_epoch=best_epoch,
        epochs_run=epochs_run,
        best_stopping_loss=0.5,
        protocol_description=PROTOCOL_DESCRIPTIONS["held-out"],
        **changes,
    )


def test_the_cards_usage_example_runs_as_pasted(run, emomv_c_dir, tmp_path, monkeypatch):
    """Issue 26.1 for cards: the example loads its inputs (float32 tensors of the dataset it names) and runs."""
    run.model.save_pretrained(tmp_path / "model")
    args = {**run.args.to_dict(), "dataset": str(emomv_c_dir), "output_dir": str(tmp_path / "model")}
    card = make_model_card(
        args=args,
        metrics=run.metrics,
        eval_split="pairs/cv-fold-0-of-5-repetition-0",  # a fold is no split: the example loads validation
        model_class=type(run.model).__name__,
        num_parameters=run.model.num_parameters(),
        best_epoch=1,
        epochs_run=3,
        best_stopping_loss=1.0,
        protocol_description=PROTOCOL_DESCRIPTIONS["cv"],
    )
    namespace: dict = {}
    exec(python_block(str(card)), namespace)
    assert (
        namespace["p_matched"].shape == (8,) and namespace["pairs"]["video_features"].dtype.is_floating_point
    )


def test_the_best_epoch_is_counted_as_the_epochs_run_are():
    """`TrainingOutcome.best_epoch` is an epoch index from 0: the card's "best epoch X of N" counts from 1, so the
    last of 3 epochs (index 2) reads "3 of 3", as the weights the checkpoint holds are that epoch's."""
    card = _held_out_card("emomv/emomv-c", "EmoMVEnsemble", 2, 3, member_best_epochs=[0, 2])
    assert "best epoch 3 of 3 (loss 0.5000); the 2 members' best epochs: 1, 3 |" in str(card)


def test_the_model_index_names_the_output_folder_however_it_was_typed(tmp_path, monkeypatch):
    """`--output-dir outputs/run/` (a trailing slash) or `.` named the model-index entry '' or '.'."""
    from emomv_hf.cards.model_card import card_data

    (tmp_path / "my-run").mkdir()
    monkeypatch.chdir(tmp_path / "my-run")
    for repo_id, name in (
        ("outputs/run/", "run"),
        (".", "my-run"),
        ("./", "my-run"),
        ("me/emomv-c", "emomv-c"),
    ):
        data = card_data(
            repo_id=repo_id,
            task="correspondence",
            datasets=None,
            dataset_id="emomv-c",
            eval_split="pairs/validation",
            values={"accuracy": 70.0},
            protocol="held-out",
        )
        assert yaml.safe_load(data.to_yaml())["model-index"][0]["name"] == name, repo_id


def test_a_metric_a_split_cannot_give_is_left_out_of_the_model_index():
    """A validation split of one class has a NaN ROC-AUC: the model-index wrote it as YAML's `.nan`, which is no
    number for the Hub's metadata; it leaves the metric out and keeps the others."""
    from emomv_hf.cards.model_card import card_data

    values = {"accuracy": 70.0, "roc_auc": float("nan"), "ece": 0.05}
    data = card_data(
        repo_id="me/run",
        task="correspondence",
        datasets=None,
        dataset_id="emomv-c",
        eval_split="pairs/validation",
        values=values,
        protocol="held-out",
    )
    results = yaml.safe_load(data.to_yaml())["model-index"][0]["results"]
    metrics = [(metric["type"], metric["value"]) for result in results for metric in result["metrics"]]
    assert metrics == [("accuracy", 70.0), ("ece", 0.05)]


def test_a_folder_name_with_a_quote_or_backslash_stays_one_string_in_the_usage(emomv_c_dir, tmp_path):
    """The usage examples pasted a run's folder (or an extractor's) between double quotes as it was: a name with
    `"` was a SyntaxError and one with `\\n` loaded another folder; they are Python string literals now."""
    import ast

    from emomv_hf.cards.model_card import make_extractor_card
    from emomv_hf.models_registry import build_config, model_class_for

    output_dir = tmp_path / 'run "best"\\new'
    model_class_for("emomv", "correspondence")(build_config("emomv", "correspondence")).save_pretrained(
        output_dir
    )
    card = _held_out_card(
        str(emomv_c_dir), "EmoMVForCorrespondence", 0, 1, args={"output_dir": str(output_dir)}
    )
    namespace: dict = {}
    exec(python_block(str(card)), namespace)
    assert namespace["p_matched"].shape == (8,)
    extractor_card = make_extractor_card(
        "vggish",
        model_class="VGGishModel",
        num_parameters=1,
        source_name="",
        source_sha256="",
        source_url="",
        repo_id=output_dir.name,
        random_weights=True,
    )
    calls = ast.walk(ast.parse(python_block(str(extractor_card))))
    loaded = [
        call.args[0].value
        for call in calls
        if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "from_pretrained"
    ]
    assert loaded == [output_dir.name, output_dir.name]  # the processor's and the model's
