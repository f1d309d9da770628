"""One training run end to end: load the dataset, split by protocol, build, train, evaluate, save."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs, set_seed

from emomv_hf.data.loading import load_emomv, reporting_split
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.evaluation import EvaluationReport, evaluate_model, write_plots
from emomv_hf.io_utils import atomic_write_dir, atomic_write_json, atomic_write_text
from emomv_hf.modeling_emomv import EmoMVForCorrespondence, EmoMVForRetrieval
from emomv_hf.modeling_emomv_baseline import EmoMVBaselineForCorrespondence, EmoMVBaselineForRetrieval
from emomv_hf.training.arguments import EmoMVTrainingArguments
from emomv_hf.training.holdout import grouped_holdout_indices
from emomv_hf.training.loop import TrainingOutcome, train_model


def build_model(model: str, task: str, multi_task: bool = True) -> torch.nn.Module:
    """A freshly initialised EmoMV or baseline model for a task, with the paper's configuration."""
    classes = {
        ("emomv", "correspondence"): EmoMVForCorrespondence,
        ("emomv", "retrieval"): EmoMVForRetrieval,
        ("baseline", "correspondence"): EmoMVBaselineForCorrespondence,
        ("baseline", "retrieval"): EmoMVBaselineForRetrieval,
    }
    try:
        model_class = classes[(model, task)]
    except KeyError:
        raise ValueError(
            f"unknown model/task {model!r}/{task!r}; expected one of {sorted(classes)}"
        ) from None
    return model_class(model_class.config_class(multi_task=multi_task))


def make_accelerator(args: EmoMVTrainingArguments, cpu: bool = False) -> Accelerator:
    """An Accelerator whose global batch is split across processes, so N processes train like one."""
    project_dir = args.output_dir if args.report_to else None
    return Accelerator(
        cpu=cpu,
        dataloader_config=DataLoaderConfiguration(split_batches=True),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
        log_with=args.report_to,
        project_dir=project_dir,
    )


@dataclass
class TrainingSplits:
    """The three roles a protocol assigns: what is fitted, what stops training, what is reported."""

    train: TensorPairs
    stopping: TensorPairs
    stopping_name: str
    report_split: str


def protocol_splits(
    pairs: datasets.DatasetDict, args: EmoMVTrainingArguments, device: torch.device | str
) -> TrainingSplits:
    report_split = reporting_split(pairs)
    train = TensorPairs.from_dataset(pairs["train"], device)
    if args.protocol == "paper":
        stopping = TensorPairs.from_dataset(pairs["validation"], device)
        return TrainingSplits(train, stopping, "validation", report_split)
    fit_rows, held_out_rows = grouped_holdout_indices(
        pairs["train"]["video_segment_id"],
        pairs["train"]["music_segment_id"],
        args.held_out_fraction,
        args.seed,
    )
    name = f"train (grouped held-out slice, {len(held_out_rows)} pairs)"
    return TrainingSplits(train.select(fit_rows), train.select(held_out_rows), name, report_split)


@dataclass
class RunResult:
    """What a run produced; ``metrics`` are fractions (accuracy 0.7083, mAP 0.4164)."""

    args: EmoMVTrainingArguments
    model: torch.nn.Module
    outcome: TrainingOutcome
    report: EvaluationReport
    eval_split: str
    stopping_split: str
    is_main_process: bool = True

    @property
    def metrics(self) -> dict[str, float]:
        return self.report.metrics

    def eval_results(self) -> dict[str, Any]:
        return {
            **self.report.eval_results(),
            "protocol": self.args.protocol,
            "eval_split": self.eval_split,
            "early_stopping_split": self.stopping_split,
            "dataset": self.args.dataset,
            "model": self.args.run_name,
            "seed": self.args.seed,
            **{f"train_{name}": value for name, value in self.outcome.to_dict().items()},
        }


def run_training(
    args: EmoMVTrainingArguments, accelerator: Accelerator | None = None, *, save: bool = True
) -> RunResult:
    """Train and evaluate one model as ``args`` say; with ``save``, write the output folder atomically."""
    accelerator = accelerator or make_accelerator(args)
    set_seed(args.seed)
    pairs = load_emomv(args.dataset, "pairs")
    splits = protocol_splits(pairs, args, accelerator.device)

    model = build_model(args.model, args.task, args.multi_task)
    model.fit_standardization(splits.train.inputs["video_features"], splits.train.inputs["music_features"])
    model.to(accelerator.device)
    if args.report_to and not accelerator.trackers:
        accelerator.init_trackers(
            args.run_name, config={k: v for k, v in args.to_dict().items() if v is not None}
        )
    outcome = train_model(model, splits.train, splits.stopping, args, accelerator)
    model = accelerator.unwrap_model(model)
    if hasattr(model, "fit_distance_classifier"):
        # The baseline's second stage: a logistic regression on the embedding distance of the fitted pairs.
        inputs = splits.train.inputs
        model.fit_distance_classifier(inputs["video_features"], inputs["music_features"], inputs["labels"])

    if args.task == "retrieval":
        segments = load_emomv(args.dataset, "segments")
        report = evaluate_model(model, segments=next(iter(segments.values())), accelerator=accelerator)
        eval_split = f"segments/{next(iter(segments))}"
    else:
        report = evaluate_model(model, pairs=pairs[splits.report_split], accelerator=accelerator)
        eval_split = f"pairs/{splits.report_split}"
    result = RunResult(
        args, model, outcome, report, eval_split, splits.stopping_name, accelerator.is_main_process
    )
    if save and args.output_dir and accelerator.is_main_process:
        save_run(result)
    if accelerator.trackers:
        accelerator.log(
            {f"eval/{name}": value for name, value in report.metrics.items()}, step=outcome.epochs_run
        )
        accelerator.end_training()
    accelerator.wait_for_everyone()
    return result


def save_run(result: RunResult) -> Path:
    """Write model, config, training_args.json, eval_results.json, plots and the model card into ``output_dir``."""
    from emomv_hf.cards import make_model_card
    from emomv_hf.training.arguments import PROTOCOL_DESCRIPTIONS

    args = result.args
    output_dir = Path(args.output_dir)

    def fill(staging: Path) -> None:
        result.model.save_pretrained(staging)
        atomic_write_text(staging / "training_args.json", args.to_json_string())
        atomic_write_json(staging / "eval_results.json", result.eval_results())
        plots = [path.name for path in write_plots(result.report, staging)] if args.plots else []
        card = make_model_card(
            args=args.to_dict(),
            metrics=result.metrics,
            eval_split=result.eval_split,
            model_class=type(result.model).__name__,
            num_parameters=sum(parameter.numel() for parameter in result.model.parameters()),
            best_epoch=result.outcome.best_epoch,
            epochs_run=result.outcome.epochs_run,
            best_stopping_loss=result.outcome.best_stopping_loss,
            protocol_description=PROTOCOL_DESCRIPTIONS[args.protocol],
            plots=plots,
        )
        atomic_write_text(staging / "README.md", str(card))

    atomic_write_dir(output_dir, fill)
    return output_dir
