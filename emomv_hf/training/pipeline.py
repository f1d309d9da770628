"""One training run end to end: load the dataset, split by protocol, build, train, evaluate, save."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed

from emomv_hf.cards.model_card import make_model_card
from emomv_hf.data.loading import load_emomv
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.evaluation import EvaluationReport, evaluate, trained_on, training_record, write_plots
from emomv_hf.io_utils import atomic_write_dir, atomic_write_json, atomic_write_text, dataset_folder_sha256
from emomv_hf.modeling_emomv import EmoMVPreTrainedModel
from emomv_hf.modeling_emomv_baseline import EmoMVBaselineForCorrespondence
from emomv_hf.modeling_emomv_ensemble import EmoMVEnsemble
from emomv_hf.models_registry import build_model, load_model
from emomv_hf.training.arguments import EmoMVTrainingArguments
from emomv_hf.training.calibration import run_temperatures
from emomv_hf.training.loop import TrainingOutcome, train_model
from emomv_hf.training.protocols import PROTOCOL_DESCRIPTIONS, TrainingSplits, protocol_splits

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

DATA_SEED_STRIDE = 100_003
"""Epoch e of seed s shuffles with seed `s * DATA_SEED_STRIDE + e`, so no two (seed, epoch) share an order."""


def make_accelerator(args: EmoMVTrainingArguments, cpu: bool = False) -> Accelerator:
    """An Accelerator whose global batch is split across processes, so N processes train like one.

    ``cpu``, `accelerate launch --cpu` (ACCELERATE_USE_CPU) or a machine without an accelerator run on the CPU:
    under `torchrun` that is a MULTI_CPU job (gloo), where ``cpu=False`` would give each process a job of its own.
    Its seedable sampler shuffles each epoch from `(seed, epoch)` alone, and its `ProjectConfiguration` names
    and rotates the checkpoints under OUTPUT_DIR/checkpoints.
    """
    return Accelerator(
        cpu=cpu or not torch.accelerator.is_available(),
        dataloader_config=DataLoaderConfiguration(
            split_batches=True, use_seedable_sampler=True, data_seed=args.seed * DATA_SEED_STRIDE
        ),
        project_config=ProjectConfiguration(
            project_dir=args.output_dir or ".",
            automatic_checkpoint_naming=True,
            total_limit=args.checkpoints_total_limit,
        ),
        log_with=args.report_to,
    )


RUN_OUTPUT_PATTERNS = (
    "config.json",
    "model.safetensors",
    "*.py",
    "training_args.json",
    "eval_results.json",
    "README.md",
    "*.png",
    "checkpoints",
)
"""What a training run writes into OUTPUT_DIR (`*.py`: the model code `save_pretrained` copies for the Hub)."""


def prepare_output_dir(args: EmoMVTrainingArguments) -> None:
    """Refuse an OUTPUT_DIR that holds another run's outputs, unless `--overwrite-output-dir` (then delete them,
    so none of its checkpoints or plots outlives it), and always one whose files of those names no run wrote. A run
    resumed from OUTPUT_DIR's own checkpoints keeps its folder (`train_model` checks that the checkpoint belongs to
    the same arguments); one resumed from a checkpoint elsewhere is checked like a new run."""
    output_dir = Path(args.output_dir)
    resume = args.resume_from_checkpoint
    own_checkpoints = (output_dir / "checkpoints").resolve()
    if resume and (resume == "latest" or Path(resume).resolve().parent == own_checkpoints):
        return
    if output_dir.exists() and not output_dir.is_dir():  # else refused only when saving, after the training
        raise FileExistsError(f"--output-dir {output_dir} is a file, not a folder: choose a folder")
    if not output_dir.is_dir():
        return
    previous = sorted({path for pattern in RUN_OUTPUT_PATTERNS for path in output_dir.glob(pattern)})
    if not previous:
        return
    names = ", ".join(path.name for path in previous[:6]) + (", ..." if len(previous) > 6 else "")
    # Files named as a run's outputs (README.md, *.py) are only a run's where one ran: never delete the user's own.
    if not (output_dir / "training_args.json").is_file() and not (output_dir / "checkpoints").is_dir():
        raise FileExistsError(
            f"--output-dir {output_dir} holds {names}, which a run would replace, but no run of train.py (no "
            "training_args.json or checkpoints): choose an empty or new folder."
        )
    if not args.overwrite_output_dir:
        raise FileExistsError(
            f"--output-dir {output_dir} already holds a run's outputs ({names}): pass --overwrite-output-dir to "
            "replace them, or --resume-from-checkpoint latest to continue that run."
        )
    for path in previous:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


@dataclass
class RunResult:
    """What a run produced; ``metrics`` are fractions (accuracy 0.7083, mAP 0.4164)."""

    args: EmoMVTrainingArguments
    model: torch.nn.Module
    outcome: TrainingOutcome
    report: EvaluationReport
    stopping_split: str
    report_split: str
    is_main_process: bool = True
    num_processes: int = 1
    report_pairs: datasets.Dataset | None = None
    """The ``cv`` protocol's outer test fold (what ``report_split`` names), else None."""
    num_train_pairs: int | None = None
    """Pairs the final model trained on (``cv``: the whole outer training fold)."""
    num_test_pairs: int | None = None
    """Pairs of the reported split (``cv``: the outer test fold); both sizes enter the corrected resampled t."""
    test_pairs_sha256: str | None = None
    """SHA-256 of the reported pairs' sorted ``pair_id``, one per line: which pairs a ``cv`` fold holds, so that a
    paired comparison pairs only folds of the same rows (another scikit-learn may draw other folds)."""

    @property
    def metrics(self) -> dict[str, float]:
        return self.report.metrics

    def model_card(self, plots: Sequence[str] = ()) -> ModelCard:
        """The model card of this run (``plots``: the PNG names written beside it)."""
        return make_model_card(
            args=self.args.to_dict(),
            metrics=self.metrics,
            eval_split=self.report.eval_split,
            model_class=type(self.model).__name__,
            num_parameters=sum(parameter.numel() for parameter in self.model.parameters()),
            best_epoch=self.outcome.best_epoch,
            epochs_run=self.outcome.epochs_run,
            best_stopping_loss=self.outcome.best_stopping_loss,
            protocol_description=PROTOCOL_DESCRIPTIONS[self.args.protocol],
            plots=plots,
            member_best_epochs=self.outcome.member_best_epochs,
            neutral_class=getattr(self.model.config, "neutral_class", False),
        )

    def eval_results(self) -> dict[str, Any]:
        return {
            **self.report.eval_results(),
            "protocol": self.args.protocol,
            "eval_split": self.report.eval_split,
            "early_stopping_split": self.stopping_split,
            "dataset": self.args.dataset,
            "model": self.args.run_name,
            "seed": self.args.seed,
            "num_processes": self.num_processes,
            "num_train_pairs": self.num_train_pairs,
            "num_test_pairs": self.num_test_pairs,
            "test_pairs_sha256": self.test_pairs_sha256,
            **{f"train_{name}": value for name, value in asdict(self.outcome).items() if name != "history"},
        }


ENSEMBLE_SEED_STRIDE = 1_000
"""Member k of an `--ensemble-size` run trains with seed `seed + k * ENSEMBLE_SEED_STRIDE` (member 0: `seed`)."""


def member_seeds(args: EmoMVTrainingArguments, count: int | None = None) -> list[int]:
    """The training seed of each member of an `--ensemble-size` run (one seed for a single model); ``count``
    members instead of `args.ensemble_size` (the tagger's selection averages seeds without an ensemble)."""
    members = args.ensemble_size if count is None else count
    return [args.seed + member * ENSEMBLE_SEED_STRIDE for member in range(members)]


def projection_source(args: EmoMVTrainingArguments) -> EmoMVPreTrainedModel | None:
    """`--projections-from`: the trained correspondence or retrieval model the tagger's projections are copied
    from. Refused when its saved `training_args.json` shows it was trained on this dataset with a protocol that
    sees the reported split (``paper`` stops on it, ``cv`` trains on it)."""
    if args.projections_from is None:
        return None
    where = args.projections_from
    trained = training_record(where)
    protocol = trained.get("protocol")
    if trained_on(trained, args.dataset) and protocol != "held-out":
        raise ValueError(
            f"--projections-from {where}: it was trained on {args.dataset} with --protocol {protocol}, "
            "which sees the validation split the tagger reports on (paper stops on it, cv trains on it); "
            "train it with --protocol held-out"
        )
    try:
        return load_model(where)  # checked as --model folders are (NaN weights, bad fields, missing tensors)
    except (OSError, ValueError) as error:
        raise ValueError(f"--projections-from {where}: {error}") from None


def train_on_splits(
    args: EmoMVTrainingArguments,
    splits: TrainingSplits,
    accelerator: Accelerator,
    source: EmoMVPreTrainedModel | None,
) -> tuple[EmoMVPreTrainedModel, TrainingOutcome]:
    """Train one model from ``args.seed`` on the protocol's splits: early stopping, then for ``cv`` the refit on
    the whole outer training fold, then the baseline's stage 2. ``source`` is ``projection_source(args)``, loaded
    once by the caller (an ensemble's members share it). Returns the unwrapped model and its outcome."""

    def fresh_model(fitted: TensorPairs) -> EmoMVPreTrainedModel:
        set_seed(args.seed)
        model = build_model(args.model, args.task, args.multi_task, **args.model_config_fields())
        model = model.to(accelerator.device)
        model.fit_standardization(
            **{name: tensor for name, tensor in fitted.inputs.items() if name.endswith("_features")}
        )
        if getattr(model.config, "class_weighting", "none") != "none":
            model.fit_class_weights(fitted.inputs["labels"])  # the tagger's balanced loss: fitted labels only
        if source is not None:
            try:
                model.copy_stream_projections(source)  # its standardisation too, which its layers expect
            except ValueError as error:
                raise ValueError(f"--projections-from {args.projections_from}: {error}") from None
            model.projections.requires_grad_(False)
        return model

    model = fresh_model(splits.train)
    outcome = train_model(model, splits.train, splits.stopping, args, accelerator)
    temperatures = run_temperatures(accelerator.unwrap_model(model), splits, args)  # set on the final model
    if splits.refit is not None:
        # Nested budget: retrain from the same initialisation on the whole outer training fold for as many
        # epochs as early stopping chose, with no look at the outer test fold.
        model = fresh_model(splits.refit)
        refitted = train_model(
            model, splits.refit, None, replace(args, max_epochs=outcome.best_epoch + 1), accelerator
        )
        outcome = replace(
            refitted,
            best_stopping_loss=outcome.best_stopping_loss,
            stopped_early=outcome.stopped_early,
            train_seconds=outcome.train_seconds + refitted.train_seconds,
        )
    model = accelerator.unwrap_model(model)
    model.config.update(temperatures)
    if isinstance(model, EmoMVBaselineForCorrespondence):
        # The baseline's second stage: a logistic regression on the embedding distance of the fitted pairs.
        inputs = (splits.train if splits.refit is None else splits.refit).inputs
        model.fit_distance_classifier(inputs["video_features"], inputs["music_features"], inputs["labels"])
    return model, outcome


def train_ensemble(
    args: EmoMVTrainingArguments,
    splits: TrainingSplits,
    accelerator: Accelerator,
    source: EmoMVPreTrainedModel | None,
) -> tuple[EmoMVEnsemble, TrainingOutcome]:
    """`--ensemble-size K`: K members trained one after the other on the same splits, each exactly as a single run
    with its `member_seeds` seed would train (initialisation, dropout, batch order, early stopping), then joined
    into one `EmoMVEnsemble`."""
    members, outcomes = [], []
    for seed in member_seeds(args):
        # Members share one member config, so they cannot hold temperatures of their own: not calibrated.
        member_args = replace(args, seed=seed, ensemble_size=1, calibrate=False)
        member_accelerator = (
            accelerator
            if seed == args.seed
            else make_accelerator(member_args, cpu=accelerator.device.type == "cpu")
        )
        member, outcome = train_on_splits(member_args, splits, member_accelerator, source)
        members.append(member)
        outcomes.append(outcome)
    combined = TrainingOutcome(
        best_epoch=max(outcome.best_epoch for outcome in outcomes),
        best_stopping_loss=None
        if outcomes[0].best_stopping_loss is None
        else sum(outcome.best_stopping_loss for outcome in outcomes) / len(outcomes),
        epochs_run=max(outcome.epochs_run for outcome in outcomes),
        stopped_early=all(outcome.stopped_early for outcome in outcomes),
        resumed_from=None,
        train_seconds=sum(outcome.train_seconds for outcome in outcomes),
        member_best_epochs=[outcome.best_epoch for outcome in outcomes],
    )
    return EmoMVEnsemble.from_members(members), combined


def run_training(
    args: EmoMVTrainingArguments, accelerator: Accelerator | None = None, *, save: bool = True
) -> RunResult:
    """Train and evaluate one model (or `--ensemble-size` members) as ``args`` say; with ``save``, write the output
    folder atomically."""
    torch.set_num_threads(args.threads)
    accelerator = accelerator or make_accelerator(args)
    for refused, reason in (
        (args.protocol == "cv", "--protocol cv trains twice per run (budget, then refit)"),
        (args.ensemble_size > 1, "--ensemble-size trains its members one after the other"),
    ):
        if refused and (args.checkpointing_epochs or args.resume_from_checkpoint):
            raise ValueError(
                f"{reason} and does not checkpoint; such a run is short, rerun it instead of resuming"
            )
    pairs = load_emomv(args.dataset, "pairs")
    splits = protocol_splits(pairs, args, accelerator.device)
    # Before the old outputs go: --projections-from's refusals (a source that saw the reported split, or no model).
    source = projection_source(args)
    # Only once the arguments and the dataset passed their checks: a refused run must not delete the old outputs.
    if save and args.output_dir and accelerator.is_main_process:
        prepare_output_dir(args)
    if args.report_to and not accelerator.trackers:
        accelerator.init_trackers(
            args.run_name, config={k: v for k, v in args.to_dict().items() if v is not None}
        )
    if args.ensemble_size > 1:
        model, outcome = train_ensemble(args, splits, accelerator, source)
    else:
        model, outcome = train_on_splits(args, splits, accelerator, source)

    # The protocol's reported split of the dataset, or the cv protocol's outer test fold.
    data = args.dataset if splits.report_pairs is None else splits.report_pairs
    reported = pairs[splits.report_split] if splits.report_pairs is None else splits.report_pairs
    report = evaluate(
        model, data, splits.report_split, accelerator=accelerator, batch_size=args.eval_batch_size
    )
    result = RunResult(
        args,
        model,
        outcome,
        report,
        splits.stopping_name,
        splits.report_split,
        accelerator.is_main_process,
        accelerator.num_processes,
        splits.report_pairs,
        len(splits.train if splits.refit is None else splits.refit),
        len(reported),
        hashlib.sha256("\n".join(sorted(reported["pair_id"])).encode()).hexdigest(),
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


def save_run(result: RunResult) -> None:
    """Write model, config, training_args.json, eval_results.json, plots and the model card into ``output_dir``."""
    args = result.args
    output_dir = Path(args.output_dir)

    def fill(staging: Path) -> None:
        result.model.save_pretrained(staging)
        # The dataset's content beside its path as typed (relative to the folder the run was started in).
        content = dataset_folder_sha256(args.dataset)
        record = {**args.to_dict(), "num_processes": result.num_processes, "dataset_sha256": content}
        atomic_write_json(staging / "training_args.json", record)
        atomic_write_json(staging / "eval_results.json", result.eval_results())
        plots = [path.name for path in write_plots(result.report, staging)] if args.plots else []
        card = result.model_card(plots)
        atomic_write_text(staging / "README.md", str(card))

    atomic_write_dir(output_dir, fill)
