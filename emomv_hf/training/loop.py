"""The training loop shared by every entry point: Adam, early stopping, best-epoch restore, resumable state."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from emomv_hf.data.tensors import TensorPairs, tensor_loader
from emomv_hf.io_utils import atomic_write_json
from emomv_hf.training.arguments import EmoMVTrainingArguments


class EarlyStopping:
    """Tracks the early-stopping loss, keeps the best weights, and says when patience has run out.

    It is registered with ``accelerator.register_for_checkpointing`` so a resumed run continues with the same
    best loss, patience counter, best weights and history.
    """

    def __init__(self, patience: int):
        self.patience = patience
        self.best_loss = math.inf
        self.best_epoch = -1
        self.epochs_without_improvement = 0
        self.next_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.history: list[dict[str, float]] = []
        self._live_state: tuple[torch.nn.Module, dict[str, torch.Tensor]] | None = None

    def update(
        self, epoch: int, train_loss: float, stopping_loss: float | None, model: torch.nn.Module
    ) -> bool:
        """Record one finished epoch; returns True when training should stop. Without a stopping loss (a fixed
        epoch budget) it only records the epoch: training runs to the budget and keeps its last weights."""
        self.history.append({"epoch": epoch, "train_loss": train_loss, "stopping_loss": stopping_loss})
        self.next_epoch = epoch + 1
        if stopping_loss is None:
            self.best_epoch = epoch
            return False
        if stopping_loss < self.best_loss:
            self.best_loss = stopping_loss
            self.best_epoch = epoch
            self.epochs_without_improvement = 0
            self._keep_best_state(model)
            return False
        self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def _keep_best_state(self, model: torch.nn.Module) -> None:
        # state_dict() walks every module; its tensors alias the parameters and buffers, which the optimizer
        # updates in place, so one walk per model serves every later snapshot.
        if self._live_state is None or self._live_state[0] is not model:
            self._live_state = (model, model.state_dict())
        live = self._live_state[1]
        if self.best_state is None or self.best_state.keys() != live.keys():
            self.best_state = {name: tensor.detach().clone() for name, tensor in live.items()}
            return
        for name, tensor in live.items():
            self.best_state[name].copy_(tensor)

    _STATE = ("best_loss", "best_epoch", "epochs_without_improvement", "next_epoch", "best_state", "history")

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STATE}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, copy.deepcopy(value))


@dataclass
class TrainingOutcome:
    """What the loop did: epochs run, the restored epoch and its loss, per-epoch history, wall time."""

    best_epoch: int
    best_stopping_loss: float | None
    epochs_run: int
    stopped_early: bool
    resumed_from: str | None
    train_seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    member_best_epochs: list[int] | None = None
    """An ensemble's members' restored epochs (then ``best_epoch`` and ``epochs_run`` are the members' largest,
    ``best_stopping_loss`` their mean and ``train_seconds`` their sum)."""

    def to_dict(self) -> dict[str, Any]:
        """Everything but the per-epoch history."""
        return {name: value for name, value in dataclasses.asdict(self).items() if name != "history"}


@torch.inference_mode()
def mean_loss(model: torch.nn.Module, data: TensorPairs, batch_size: int = 4096, term: str = "loss") -> float:
    """Mean of the loss output ``term`` (``loss``, the weighted total, or ``match_loss``) of ``model`` over every
    row of ``data``, on the calling process alone.

    Leaves the model in eval mode: the training loop switches back once per epoch (each switch walks every module).
    """
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(data), batch_size):
        batch = data.rows(start, start + batch_size)
        rows = len(batch["labels"])
        total += getattr(model(**batch), term).item() * rows
        count += rows
    return total / count


@torch.inference_mode()
def stream_error(model: torch.nn.Module, data: TensorPairs, batch_size: int = 4096) -> float:
    """`--stopping-loss error` of a tagger: 1 - the mean, over the streams of ``data``, of the accuracy of the
    prediction from that stream alone (the selection rule's mean of video and music accuracy). Leaves eval mode."""
    model.eval()
    streams = [name for name in data.inputs if name.endswith("_features")]
    correct = 0
    for start in range(0, len(data), batch_size):
        batch = data.rows(start, start + batch_size)
        for name in streams:
            predicted = model(**{name: batch[name]}).logits.argmax(-1)
            correct += int((predicted == batch["labels"]).sum())
    return 1.0 - correct / (len(data) * len(streams))


def make_optimizer(model: torch.nn.Module, args: EmoMVTrainingArguments) -> torch.optim.Adam:
    """Adam with L2 weight decay, as in the paper and the released code."""
    # foreach: one kernel per Adam operation over all tensors instead of a Python loop over ~20 small tensors.
    return torch.optim.Adam(
        model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay, foreach=True
    )


STOPPING_TERMS = {"total": "loss", "match": "match_loss"}
"""`--stopping-loss` choice → the model output early stopping watches."""

RUN_MARKER = "emomv_run.json"
"""Written into a checkpoint folder after `Accelerator.save_state` returns: the folder is complete, and whose."""


def _checkpoint_number(path: Path) -> int:
    match = re.fullmatch(r"checkpoint_(\d+)", path.name)
    return int(match.group(1)) if match else -1


def list_checkpoints(checkpoint_dir: Path) -> list[Path]:
    """Complete checkpoints (those with a run marker), oldest first; a save killed midway has no marker."""
    found = [path for path in checkpoint_dir.glob("checkpoint_*") if _checkpoint_number(path) >= 0]
    return sorted((path for path in found if (path / RUN_MARKER).is_file()), key=_checkpoint_number)


def resolve_checkpoint(resume_from: str, checkpoint_dir: Path) -> Path:
    if resume_from != "latest":
        path = Path(resume_from)
        if not (path / RUN_MARKER).is_file():
            raise FileNotFoundError(
                f"--resume-from-checkpoint: {path} is not a complete EmoMV checkpoint folder"
            )
        return path
    checkpoints = list_checkpoints(checkpoint_dir)
    if not checkpoints:
        raise FileNotFoundError(
            f"--resume-from-checkpoint latest: no complete checkpoint in {checkpoint_dir}"
        )
    return checkpoints[-1]


def check_checkpoint_identity(checkpoint: Path, args: EmoMVTrainingArguments) -> dict[str, Any]:
    """Refuse a checkpoint written by a run with other result-changing arguments; returns its marker."""
    marker = json.loads((checkpoint / RUN_MARKER).read_text())
    expected = json.loads(json.dumps(args.run_identity()))
    differences = {
        name: (marker["run"].get(name), value)
        for name, value in expected.items()
        if marker["run"].get(name) != value
    }
    if differences:
        listed = ", ".join(
            f"--{name.replace('_', '-')} {old!r} there, {new!r} now"
            for name, (old, new) in differences.items()
        )
        raise ValueError(
            f"{checkpoint} belongs to another run ({listed}); resume with the same arguments, or start afresh "
            "with --overwrite-output-dir."
        )
    return marker


def save_checkpoint(accelerator: Accelerator, args: EmoMVTrainingArguments, epoch: int) -> Path:
    """Accelerate names, writes and rotates the training state (`ProjectConfiguration`); the run marker,
    written last and atomically, makes the folder a complete checkpoint of this run."""
    folder = Path(accelerator.project_dir) / "checkpoints" / f"checkpoint_{accelerator.save_iteration}"
    accelerator.save_state(safe_serialization=True)
    if accelerator.is_main_process:
        atomic_write_json(folder / RUN_MARKER, {"epoch": epoch, "run": args.run_identity()})
    accelerator.wait_for_everyone()
    return folder


def train_model(
    model: torch.nn.Module,
    train_data: TensorPairs,
    stopping_data: TensorPairs | None,
    args: EmoMVTrainingArguments,
    accelerator: Accelerator,
) -> TrainingOutcome:
    """Train ``model`` on ``train_data`` with early stopping on ``stopping_data``; restore the best epoch.
    With ``stopping_data=None``, train exactly ``args.max_epochs`` epochs and keep the last weights.

    The model must return ``.loss`` when called with a batch of model inputs. ``stopping_data`` is evaluated
    in full on every process, so every process takes the same stopping decision without communication.
    """
    optimizer = make_optimizer(model, args)
    # Accelerate's seedable sampler reshuffles from (data_seed, epoch) alone (see `make_accelerator`), so a
    # resumed run sees exactly the batches the uninterrupted run saw.
    loader = tensor_loader(train_data, args.batch_size, shuffle=True)
    wrapped_model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    model = accelerator.unwrap_model(wrapped_model)
    stopper = EarlyStopping(args.stopping_patience)
    accelerator.register_for_checkpointing(stopper)

    resumed_from = None
    if args.resume_from_checkpoint:
        checkpoint = resolve_checkpoint(args.resume_from_checkpoint, Path(args.output_dir) / "checkpoints")
        check_checkpoint_identity(checkpoint, args)
        accelerator.load_state(str(checkpoint))
        # Accelerate does not restore its checkpoint counter; continue after the newest folder present.
        existing = [_checkpoint_number(path) for path in checkpoint.parent.glob("checkpoint_*")]
        accelerator.project_configuration.iteration = max(existing, default=-1) + 1
        resumed_from = str(checkpoint)
        accelerator.print(f"Resumed from {checkpoint} at epoch {stopper.next_epoch}")

    started = time.perf_counter()
    stopped_early = stopper.epochs_without_improvement >= args.stopping_patience
    progress = tqdm(
        total=args.max_epochs,
        initial=stopper.next_epoch,
        desc=f"train {args.run_name}",
        unit="epoch",
        disable=not (args.progress and accelerator.is_local_main_process),
    )
    epoch = stopper.next_epoch
    while epoch < args.max_epochs and not stopped_early:
        loader.set_epoch(epoch)
        wrapped_model.train()
        total_loss = torch.zeros((), device=accelerator.device)
        for batch in loader:
            loss = wrapped_model(**batch).loss
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total_loss += loss.detach()
        # The mean over processes: each process saw its own shard of every batch.
        train_loss = accelerator.reduce(total_loss, reduction="mean").item() / len(loader)
        stopping_loss = None
        if stopping_data is not None:
            if args.stopping_loss == "error":
                stopping_loss = stream_error(model, stopping_data)
            else:
                stopping_loss = mean_loss(model, stopping_data, term=STOPPING_TERMS[args.stopping_loss])
        stopped_early = stopper.update(epoch, train_loss, stopping_loss, model)
        if accelerator.trackers:
            logged = {"train/loss": train_loss}
            if stopping_loss is not None:
                logged["early_stopping/loss"] = stopping_loss
            accelerator.log(logged, step=epoch)
        progress.update(1)
        progress.set_postfix(
            train_loss=f"{train_loss:.4f}",
            stop_loss="-" if stopping_loss is None else f"{stopping_loss:.4f}",
            best=stopper.best_epoch,
            refresh=False,
        )
        epoch += 1
        if args.checkpointing_epochs and epoch % args.checkpointing_epochs == 0:
            save_checkpoint(accelerator, args, epoch)
    progress.close()
    train_seconds = time.perf_counter() - started

    if stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
    model.eval()
    accelerator.wait_for_everyone()
    return TrainingOutcome(
        best_epoch=stopper.best_epoch,
        best_stopping_loss=stopper.best_loss if stopping_data is not None else None,
        epochs_run=stopper.next_epoch,
        stopped_early=stopped_early,
        resumed_from=resumed_from,
        train_seconds=train_seconds,
        history=list(stopper.history),
    )
