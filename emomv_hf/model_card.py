"""Model cards for trained EmoMV checkpoints, filled from the template in ``model_cards/``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from emomv_hf.citation import BIBTEX
from emomv_hf.paper_results import metric_names, to_paper_scale
from emomv_hf.reporting import dataset_display_name, dataset_key, metric_label, single_run_table
from emomv_hf.training.arguments import PROTOCOL_DESCRIPTIONS

if TYPE_CHECKING:
    from emomv_hf.training.pipeline import RunResult

TEMPLATE_NAME = "emomv_model_card.md"


def template_path() -> Path:
    """The card template: shipped as ``emomv_hf/model_cards/`` in a wheel, ``model_cards/`` in a checkout."""
    package = Path(__file__).resolve().parent
    for folder in (package / "model_cards", package.parent / "model_cards"):
        if (folder / TEMPLATE_NAME).is_file():
            return folder / TEMPLATE_NAME
    raise FileNotFoundError(f"model card template {TEMPLATE_NAME} not found next to {package}")


TASK_DESCRIPTIONS = {
    "correspondence": "affective music-video correspondence classification (matched / mismatched)",
    "retrieval": "affective music-video retrieval (video → music and music → video)",
}
MODEL_TITLES = {"emomv": "EmoMV", "baseline": "EmoMV baseline"}
MODEL_DESCRIPTIONS = {
    "emomv": "The EmoMV paper's proposed model",
    "baseline": "The EmoMV paper's baseline (modified Li & Kumar 2019)",
}
USAGE_LINES = {
    "correspondence": "p_matched = outputs.logits.softmax(-1)[:, 1]",
    "retrieval": "ranking = outputs.logits_per_video.argsort(dim=-1, descending=True)  # music for each video",
}


def eval_results_for_card(result: RunResult) -> list[EvalResult]:
    """model-index entries: one per paper metric, with dataset, split and protocol in their names."""
    args = result.args
    config, _, split = result.eval_split.partition("/")
    entries = []
    for metric in metric_names(args.task):
        if metric not in result.metrics:
            continue
        entries.append(
            EvalResult(
                task_type="audio-video-correspondence"
                if args.task == "correspondence"
                else "audio-video-retrieval",
                task_name=TASK_DESCRIPTIONS[args.task],
                dataset_type=args.dataset,
                dataset_name=dataset_display_name(args.dataset),
                dataset_config=config,
                dataset_split=split,
                metric_type=metric,
                metric_name=f"{metric_label(metric)} ({args.protocol} protocol)",
                metric_value=round(to_paper_scale(metric, result.metrics[metric]), 4),
            )
        )
    return entries


def make_model_card(
    result: RunResult, plots: list[str] | None = None, repo_id: str | None = None
) -> ModelCard:
    """A filled :class:`~huggingface_hub.ModelCard` for a finished run."""
    args = result.args
    variant = "single-task" if args.single_task else "multi-task"
    repo_id = repo_id or args.hub_model_id or args.output_dir or "path/to/checkpoint"
    is_hub_dataset = "/" in args.dataset and not Path(args.dataset).exists()
    card_data = ModelCardData(
        model_name=repo_id.split("/")[-1],
        license="mit",
        library_name="transformers",
        datasets=[args.dataset] if is_hub_dataset else None,
        tags=[
            "emomv",
            "affective-computing",
            "music-video",
            args.task,
            args.model,
            variant,
            f"protocol-{args.protocol}",
        ],
        eval_results=eval_results_for_card(result),
    )
    training_rows = "\n".join(f"| `{name}` | `{value}` |" for name, value in sorted(args.to_dict().items()))
    outcome = result.outcome
    return ModelCard.from_template(
        card_data,
        template_path=str(template_path()),
        model_name=f"{MODEL_TITLES[args.model]} for {args.task} ({variant}) on {dataset_display_name(args.dataset)}",
        summary=f"{MODEL_DESCRIPTIONS[args.model]} for {TASK_DESCRIPTIONS[args.task]}.",
        dataset_name=dataset_display_name(args.dataset),
        dataset_id=args.dataset,
        task_description=TASK_DESCRIPTIONS[args.task],
        model_class=type(result.model).__name__,
        variant=variant,
        num_parameters=f"{sum(parameter.numel() for parameter in result.model.parameters()):,}",
        protocol=args.protocol,
        protocol_description=PROTOCOL_DESCRIPTIONS[args.protocol],
        eval_split=result.eval_split,
        best_epoch=outcome.best_epoch,
        epochs_run=outcome.epochs_run,
        best_stopping_loss=f"{outcome.best_stopping_loss:.4f}",
        seed=args.seed,
        results_table=single_run_table(
            result.metrics,
            dataset=dataset_key(args.dataset),
            model=args.model,
            task=args.task,
            variant="single" if args.single_task else "multi",
        ),
        plots=plots or [],
        repo_id=repo_id,
        usage_line=USAGE_LINES[args.task],
        training_table="| Argument | Value |\n|---|---|\n" + training_rows,
        bibtex=BIBTEX,
    )
