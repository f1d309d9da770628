"""The training loop shared by every entry point: Adam, early stopping, best-epoch restore, resumable state."""

from __future__ import annotations

import json
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from emomv_hf.data.tensors import TensorPairs, tensor_loader
from emomv_hf.io_utils import atomic_open, atomic_write_json, dataset_folder_sha256, files_sha256
from emomv_hf.training.arguments import EmoMVTrainingArguments


class EarlyStopping:
    """Tracks the early-stopping loss, keeps the best weights, and says when patience has run out.

    A checkpoint holds its state (`save` / `load`: JSON and safetensors, formats that cannot run code) so a
    resumed run continues with the same best loss, patience counter, best weights and history.
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

    _STATE = ("best_loss", "best_epoch", "epochs_without_improvement", "next_epoch", "history")

    def save(self, folder: Path) -> dict[str, Any]:
        """Write the best weights (if any) into ``folder`` as safetensors; returns the rest, for the run marker, as
        JSON values (``best_loss`` may be ``Infinity``)."""
        if self.best_state is not None:
            with atomic_open(folder / BEST_STATE_FILE, binary=True) as file:
                file.write(
                    safetensors.torch.save({k: v.cpu().contiguous() for k, v in self.best_state.items()})
                )
        return {name: getattr(self, name) for name in self._STATE}

    def load(self, state: dict[str, Any], folder: Path, device: torch.device) -> None:
        """Restore what `save` wrote into ``folder`` and returned (``state``, read back from the run marker)."""
        for name in self._STATE:
            setattr(self, name, state[name])
        best = folder / BEST_STATE_FILE
        if best.is_file():
            self.best_state = safetensors.torch.load_file(best, device=str(device))
        elif self.best_epoch >= 0:  # else the last epoch's weights are restored under the best epoch's name
            raise ValueError(
                f"{folder} lacks {BEST_STATE_FILE}, the weights of the best epoch its run marker records: not a "
                "complete EmoMV checkpoint"
            )


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
    rows_per_process: list[int] | None = None
    """Training rows each process went through in this session (a resumed run counts from its checkpoint): each
    global batch of B rows is split B/N per process; a short last batch's real rows go to the first processes."""
    member_best_epochs: list[int] | None = None
    """An ensemble's members' restored epochs (then ``best_epoch`` and ``epochs_run`` are the members' largest,
    ``best_stopping_loss`` their mean and ``train_seconds`` their sum)."""


@torch.inference_mode()
def stopping_loss(
    model: torch.nn.Module, data: TensorPairs, kind: str = "total", batch_size: int = 4096
) -> float:
    """What early stopping watches (`--stopping-loss` ``kind``) on every row of ``data``, on the calling process
    alone: the mean of the loss output `STOPPING_TERMS[kind]` (``total``: ``loss``, the weighted total;
    ``match``: ``match_loss``) or, for ``error`` (a tagger), 1 - the mean over the streams of ``data`` of the
    accuracy of the prediction from that stream alone (the selection rule's mean of video and music accuracy).

    Leaves the model in eval mode: the training loop switches back once per epoch (each switch walks every module).
    """
    model.eval()
    streams = [name for name in data.inputs if name.endswith("_features")]
    total = 0.0
    for start in range(0, len(data), batch_size):
        batch = data[start : start + batch_size]
        if kind == "error":
            for name in streams:
                predicted = model(**{name: batch[name]}).logits.argmax(-1)
                total += int((predicted == batch["labels"]).sum())
        else:
            total += getattr(model(**batch), STOPPING_TERMS[kind]).item() * len(batch["labels"])
    return 1.0 - total / (len(data) * len(streams)) if kind == "error" else total / len(data)


def make_optimizer(model: torch.nn.Module, args: EmoMVTrainingArguments) -> torch.optim.Adam:
    """Adam with L2 weight decay, as in the paper and the released code."""
    # foreach: one kernel per Adam operation over all tensors instead of a Python loop over ~20 small tensors.
    return torch.optim.Adam(
        model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay, foreach=True
    )


STOPPING_TERMS = {"total": "loss", "match": "match_loss"}
"""`--stopping-loss` choice → the model output early stopping watches."""

RUN_MARKER = "emomv_run.json"
"""Written into a checkpoint folder after `Accelerator.save_state` returns: the folder is complete, and whose.
It holds the arguments, the dataset's content hash, the process count and the early-stopping state."""

BEST_STATE_FILE = "early_stopping_best.safetensors"
"""The weights of the best epoch so far (`EarlyStopping.best_state`)."""

RNG_STATE_FILE = "rng_state_{}.safetensors"
"""Each process's torch random state (dropout). It replaces Accelerate's `random_states_{i}.pkl`, a pickle; the
Python and NumPy generators are not saved: training draws from torch alone (the sampler reseeds every epoch)."""

MODEL_FILE, OPTIMIZER_FILE = "model.safetensors", "optimizer.bin"
"""What `Accelerator.save_state(safe_serialization=True)` writes for the model and the optimizer. Accelerate
loads optimizer.bin with ``torch.load(weights_only=True)``, which builds tensors and containers only and refuses
any other object, so a tampered one cannot run code."""


def _checkpoint_number(path: Path) -> int:
    match = re.fullmatch(r"checkpoint_(\d+)", path.name)
    return int(match.group(1)) if match else -1


def resolve_checkpoint(resume_from: str, checkpoint_dir: Path) -> Path:
    if resume_from != "latest":
        path = Path(resume_from)
        if not (path / RUN_MARKER).is_file():
            raise FileNotFoundError(
                f"--resume-from-checkpoint: {path} is not a complete EmoMV checkpoint folder"
            )
        return path
    # Complete checkpoints only (those with a run marker): a save killed midway has none.
    found = [path for path in checkpoint_dir.glob("checkpoint_*") if _checkpoint_number(path) >= 0]
    checkpoints = sorted((path for path in found if (path / RUN_MARKER).is_file()), key=_checkpoint_number)
    if not checkpoints:
        raise FileNotFoundError(
            f"--resume-from-checkpoint latest: no complete checkpoint in {checkpoint_dir}"
        )
    return checkpoints[-1]


def dataset_fingerprint(dataset: str) -> str:
    """What identifies a dataset's content, so that a resumed or reused run can tell a changed dataset.

    A local folder: :func:`~emomv_hf.io_utils.dataset_folder_sha256` (``sha256:<hex>`` over its Parquet files).
    A Hub id: ``hub:<id>@<commit sha>``, resolved online; offline, the same digest over the Arrow cache files
    ``datasets`` loads it from (``cache:<hex>``).
    """
    if Path(dataset).expanduser().is_dir():
        fingerprint = dataset_folder_sha256(dataset)
        if fingerprint is None:
            raise ValueError(
                f"{dataset} holds no Parquet files: build it with dataset_scripts/build_emomv.py"
            )
        return fingerprint
    from huggingface_hub import HfApi

    try:
        return f"hub:{dataset}@{HfApi().dataset_info(dataset).sha}"
    except Exception:  # offline or unreachable: fall back to the cached copy training will use
        from emomv_hf.data.loading import load_emomv

        caches = [
            (f"{config}/{split}", Path(cache["filename"]))
            for config in ("pairs", "segments")
            for split, part in sorted(load_emomv(dataset, config).items())
            for cache in part.cache_files
        ]
        return "cache:" + files_sha256(caches)


def check_checkpoint_identity(checkpoint: Path, args: EmoMVTrainingArguments) -> dict[str, Any]:
    """Refuse a checkpoint written by a run with other result-changing arguments or another dataset content;
    returns its marker."""
    try:  # a checkpoint may be anyone's: its marker is checked before anything trusts it
        marker = json.loads((checkpoint / RUN_MARKER).read_text(encoding="utf-8"))
        if not isinstance(marker["run"], dict):
            raise TypeError("'run' is not an object")
        state = marker["early_stopping"]
        if not isinstance(state, dict) or not state.keys() >= set(EarlyStopping._STATE):
            raise TypeError("no complete early-stopping state")
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{checkpoint / RUN_MARKER}: not the run marker of an EmoMV checkpoint ({error!r})"
        ) from None
    expected = json.loads(json.dumps(args.run_identity()))
    listed = ", ".join(
        f"--{name.replace('_', '-')} {marker['run'].get(name)!r} there, {value!r} now"
        for name, value in expected.items()
        if marker["run"].get(name) != value
    )
    if listed:
        raise ValueError(
            f"{checkpoint} belongs to another run ({listed}); resume with the same arguments, or start afresh "
            "with --overwrite-output-dir."
        )
    if marker.get("dataset_sha256") != dataset_fingerprint(args.dataset):
        raise ValueError(
            f"{checkpoint} was trained on other contents of {args.dataset} (the SHA-256 of its data/**/*.parquet "
            "files, or its Hub revision, differs); resume on the same data, or start afresh with "
            "--overwrite-output-dir."
        )
    return marker


def check_checkpoint_files(checkpoint: Path) -> None:
    """Refuse a checkpoint folder holding anything `save_checkpoint` does not write (a `*.pkl` or another
    pickle can run code when loaded), before anything in it is loaded."""
    expected = {RUN_MARKER, BEST_STATE_FILE, MODEL_FILE, OPTIMIZER_FILE}
    for path in sorted(checkpoint.iterdir()):
        if path.name in expected or re.fullmatch(RNG_STATE_FILE.format(r"\d+"), path.name):
            continue
        raise ValueError(
            f"{path}: not a file an EmoMV checkpoint holds (a pickle can run code when loaded); refusing to "
            "resume from it. Start afresh with --overwrite-output-dir, or remove the file if you made it."
        )


def save_checkpoint(
    accelerator: Accelerator,
    args: EmoMVTrainingArguments,
    stopper: EarlyStopping,
    dataset_hash: str,
) -> Path:
    """Accelerate names, writes and rotates the model and optimizer state (`ProjectConfiguration`); each process
    swaps Accelerate's random-state pickle for a safetensors file; the run marker, written last and atomically,
    makes the folder a complete checkpoint of this run."""
    folder = Path(accelerator.save_state(safe_serialization=True))
    (folder / f"random_states_{accelerator.process_index}.pkl").unlink()
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda_{index}": state for index, state in enumerate(torch.cuda.get_rng_state_all())})
    with atomic_open(folder / RNG_STATE_FILE.format(accelerator.process_index), binary=True) as file:
        file.write(safetensors.torch.save(rng))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        marker = {
            "epoch": stopper.next_epoch,
            "run": args.run_identity(),
            "dataset_sha256": dataset_hash,
            "num_processes": accelerator.num_processes,
            "early_stopping": stopper.save(folder),
        }
        atomic_write_json(folder / RUN_MARKER, marker)
    accelerator.wait_for_everyone()
    return folder


def load_checkpoint(accelerator: Accelerator, args: EmoMVTrainingArguments, stopper: EarlyStopping) -> Path:
    """Check the checkpoint `--resume-from-checkpoint` names (its files, arguments and dataset), then restore
    the model, optimizer, random state and ``stopper`` from it; returns its folder."""
    checkpoint = resolve_checkpoint(args.resume_from_checkpoint, Path(args.output_dir) / "checkpoints")
    check_checkpoint_files(checkpoint)
    marker = check_checkpoint_identity(checkpoint, args)
    rng_file = checkpoint / RNG_STATE_FILE.format(accelerator.process_index)
    if not rng_file.is_file():
        raise ValueError(
            f"{checkpoint} was written by {marker.get('num_processes')} process(es) and has no {rng_file.name}; "
            "resume with as many processes as the run had."
        )
    written_by = marker.get("num_processes", accelerator.num_processes)
    if written_by != accelerator.num_processes and accelerator.is_main_process:
        # Fewer processes restore only their own random states: a correct run, not the uninterrupted one's twin.
        warnings.warn(
            f"{checkpoint} was written by {written_by} process(es) and resumes with {accelerator.num_processes}: "
            "training goes on correctly, but not bit-identical to an uninterrupted run",
            stacklevel=2,
        )
    accelerator.load_state(str(checkpoint))
    rng = safetensors.torch.load_file(rng_file)
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available() and "cuda_0" in rng:
        torch.cuda.set_rng_state_all([rng[f"cuda_{index}"] for index in range(torch.cuda.device_count())])
    stopper.load(marker["early_stopping"], checkpoint, accelerator.device)
    # Accelerate does not restore its checkpoint counter; continue after the newest folder present.
    existing = [_checkpoint_number(path) for path in checkpoint.parent.glob("checkpoint_*")]
    accelerator.project_configuration.iteration = max(existing, default=-1) + 1
    return checkpoint


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
    dataset_hash = dataset_fingerprint(args.dataset) if args.checkpointing_epochs else None

    resumed_from = None
    if args.resume_from_checkpoint:
        resumed_from = str(load_checkpoint(accelerator, args, stopper))
        accelerator.print(f"Resumed from {resumed_from} at epoch {stopper.next_epoch}")

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
    rows_seen = 0
    process_rows = args.batch_size // accelerator.num_processes  # `split_batches`: B / N rows per process
    while epoch < args.max_epochs and not stopped_early:
        loader.set_epoch(epoch)
        wrapped_model.train()
        total_loss = torch.zeros((), device=accelerator.device)
        for index, batch in enumerate(loader):
            # Accelerate pads the last global batch to a full one with rows from the start of the epoch; each
            # process drops the padding it got and weighs its mean loss by its share of the real rows, so the
            # gradient DDP averages is the mean over the global batch, as one process computes it.
            batch_rows = min(args.batch_size, len(train_data) - index * args.batch_size)
            own_rows = min(max(batch_rows - accelerator.process_index * process_rows, 0), process_rows)
            if own_rows < len(batch["labels"]):
                # A process with no real row left still runs one (weighed 0): DDP needs its gradients.
                batch = {name: value[: max(own_rows, 1)] for name, value in batch.items()}
            loss = wrapped_model(**batch).loss * (own_rows * accelerator.num_processes / batch_rows)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total_loss += loss.detach()
            rows_seen += own_rows
        # The mean over processes of the weighed means: the mean over each global batch.
        train_loss = accelerator.reduce(total_loss, reduction="mean").item() / len(loader)
        stopping = None if stopping_data is None else stopping_loss(model, stopping_data, args.stopping_loss)
        stopped_early = stopper.update(epoch, train_loss, stopping, model)
        if accelerator.trackers:
            logged = {"train/loss": train_loss, "early_stopping/loss": stopping}
            accelerator.log({name: value for name, value in logged.items() if value is not None}, step=epoch)
        progress.update(1)
        progress.set_postfix(
            train_loss=f"{train_loss:.4f}",
            stop_loss="-" if stopping is None else f"{stopping:.4f}",
            best=stopper.best_epoch,
            refresh=False,
        )
        epoch += 1
        if args.checkpointing_epochs and epoch % args.checkpointing_epochs == 0:
            save_checkpoint(accelerator, args, stopper, dataset_hash)
    progress.close()
    train_seconds = time.perf_counter() - started

    if stopping_data is not None and stopper.best_epoch < 0:  # NaN never compares below the initial inf
        raise ValueError(
            f"every early-stopping loss of the {stopper.next_epoch} epoch(s) was NaN: the model diverged; "
            "try a lower --learning-rate"
        )
    if stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
    model.eval()
    return TrainingOutcome(
        best_epoch=stopper.best_epoch,
        best_stopping_loss=stopper.best_loss if stopping_data is not None else None,
        epochs_run=stopper.next_epoch,
        stopped_early=stopped_early,
        resumed_from=resumed_from,
        train_seconds=train_seconds,
        history=stopper.history,
        rows_per_process=accelerator.gather(torch.tensor([rows_seen], device=accelerator.device)).tolist(),
    )
