"""Evaluate a trained EmoMV model the paper's way: predictions gathered across processes, metrics, plots.

One code path for ``examples/train.py`` (after training), ``examples/evaluate.py`` (a saved or Hub model)
and ``examples/reproduce_paper.py``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator

from emomv_hf.cli import check_flags, flag
from emomv_hf.data.loading import load_emomv, reporting_split, unlabelled_rows
from emomv_hf.data.schema import segments_from_pairs
from emomv_hf.data.tensors import (
    PAIR_COLUMN_TO_ARGUMENT,
    SEGMENT_COLUMN_TO_ARGUMENT,
    TAGGING_COLUMN_TO_ARGUMENT,
    TensorPairs,
    tensor_loader,
)
from emomv_hf.emotions import EMOTIONS, MATCH_LABELS
from emomv_hf.io_utils import (
    atomic_write_json,
    atomic_write_text,
    dataset_folder_sha256,
    looks_like_local_path,
)
from emomv_hf.metrics.functional import (
    calibration_metrics,
    correspondence_metrics,
    emotion_confusion_matrix,
    emotion_metrics,
    predict_matched,
    retrieval_metrics_both_directions,
    tagging_metrics,
)
from emomv_hf.models_registry import load_model
from emomv_hf.reporting import dataset_key, single_run_table


@dataclass
class EmoMVEvaluationArguments:
    """The flags of ``examples/evaluate.py``."""

    model: str = flag("A folder written by train.py, or a Hub model id.")
    dataset: str = flag("Hub dataset id or local folder built by build_emomv.py.")
    output_dir: str = flag("Where eval_results.json, report.md and plots go.")
    split: str | None = flag(
        "Pairs split for correspondence models (default: test if present, else validation).", default=None
    )
    batch_size: int = flag("Evaluation batch size.", default=1024)
    plots: bool = flag("Write the PNG plots.", default=True)

    def __post_init__(self) -> None:
        check_flags({"batch_size": (self.batch_size > 0, "positive")}, self)


@dataclass
class EvaluationReport:
    """Metrics (fractions) and the gathered predictions they were computed from."""

    task: str
    metrics: dict[str, float]
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    confusion_matrices: dict[str, list[list[int]]] = field(default_factory=dict)
    """A tagger's confusion matrix per input (``video``, ``music``, ``joint``): rows true, columns predicted."""
    class_names: tuple[str, ...] = EMOTIONS
    """Names of the emotion classes of ``predictions`` (a tagger may add ``neutral``)."""
    eval_split: str | None = None
    """The evaluated ``config/split``, e.g. ``pairs/validation`` (set by [`evaluate`])."""

    def eval_results(self) -> dict[str, Any]:
        results: dict[str, Any] = {f"eval_{name}": value for name, value in self.metrics.items()}
        for name, matrix in self.confusion_matrices.items():
            results[f"eval_{name}_emotion_confusion_matrix"] = matrix
        if self.confusion_matrices:
            results["eval_class_names"] = list(self.class_names)
        return results


@torch.no_grad()
def _gather_outputs(
    model: torch.nn.Module,
    data: TensorPairs,
    accelerator: Accelerator,
    batch_size: int,
    output_names: tuple[str, ...],
    input_names: tuple[str, ...] = ("video_features", "music_features"),
) -> dict[str, np.ndarray]:
    """Run ``model`` on the ``input_names`` of ``data`` sharded across processes; gather the labels (every
    non-feature column) and chosen outputs."""
    model.eval()
    # A split batch (the training Accelerator's) is shared equally, so Accelerate refuses a size that does not divide.
    batch_size = max(batch_size // accelerator.num_processes, 1) * accelerator.num_processes
    loader = accelerator.prepare_data_loader(tensor_loader(data, batch_size, shuffle=False))
    collected: dict[str, list[torch.Tensor]] = {}
    for batch in loader:
        outputs = model(**{name: batch[name] for name in input_names})
        pieces = {name: batch[name] for name in batch if not name.endswith("_features")}
        pieces.update(
            {name: getattr(outputs, name) for name in output_names if getattr(outputs, name) is not None}
        )
        for name, tensor in accelerator.gather_for_metrics(pieces).items():
            collected.setdefault(name, []).append(
                tensor.float().cpu() if tensor.is_floating_point() else tensor.cpu()
            )
    return {name: torch.cat(tensors).numpy() for name, tensors in collected.items()}


def _emotion_predictions(
    gathered: dict[str, np.ndarray], video_labels: np.ndarray, music_labels: np.ndarray
) -> dict[str, Any]:
    if "video_emotion_logits" not in gathered:
        return {}
    return {
        "video_emotion_labels": video_labels,
        "video_emotion_predictions": gathered["video_emotion_logits"].argmax(-1),
        "music_emotion_labels": music_labels,
        "music_emotion_predictions": gathered["music_emotion_logits"].argmax(-1),
    }


def _segments(rows):
    """Segment rows as they are; pair rows (no ``segment_id`` column) as their segments."""
    return rows if "segment_id" in rows.column_names else segments_from_pairs(rows)


def evaluate_correspondence(
    model: torch.nn.Module, pairs, accelerator: Accelerator | None = None, batch_size: int = 1024
) -> EvaluationReport:
    """Accuracy, F1 (matched), ROC-AUC, the calibration of P(matched) (``ece``, ``brier``) and, for multi-task
    models, per-stream emotion metrics (with ``{stream}_emotion_ece`` / ``_brier``) on ``pairs``."""
    accelerator = accelerator or Accelerator(cpu=True)
    data = TensorPairs.from_dataset(pairs, accelerator.device, PAIR_COLUMN_TO_ARGUMENT)
    gathered = _gather_outputs(
        model, data, accelerator, batch_size, ("logits", "video_emotion_logits", "music_emotion_logits")
    )
    match_scores = torch.softmax(torch.from_numpy(gathered["logits"]), dim=-1)[:, 1].numpy()
    predictions = predict_matched(match_scores)  # not the logits' argmax, which gives a tie to "mismatched"
    emotions = _emotion_predictions(
        gathered, gathered["video_emotion_labels"], gathered["music_emotion_labels"]
    )
    metrics = correspondence_metrics(gathered["labels"], match_scores, predictions, **emotions)
    metrics.update(calibration_metrics("", gathered["labels"], match_scores))
    for stream in ("video", "music") if emotions else ():
        probabilities = torch.softmax(torch.from_numpy(gathered[f"{stream}_emotion_logits"]), dim=-1).numpy()
        metrics.update(
            calibration_metrics(f"{stream}_emotion_", emotions[f"{stream}_emotion_labels"], probabilities)
        )
    saved = {
        "labels": gathered["labels"],
        "match_scores": match_scores,
        "predictions": predictions,
        **emotions,
    }
    return EvaluationReport("correspondence", metrics, saved)


def evaluate_retrieval(
    model: torch.nn.Module, segments, accelerator: Accelerator | None = None, batch_size: int = 1024
) -> EvaluationReport:
    """Top-K accuracy, mAP, Recall@K and median rank in both directions over a retrieval segment set (or the
    segments of a pairs split).

    Every video of the set queries every music segment of the set (its own counterpart included), and back.
    """
    accelerator = accelerator or Accelerator(cpu=True)
    data = TensorPairs.from_dataset(_segments(segments), accelerator.device, SEGMENT_COLUMN_TO_ARGUMENT)
    gathered = _gather_outputs(
        model,
        data,
        accelerator,
        batch_size,
        ("video_embeds", "music_embeds", "video_emotion_logits", "music_emotion_logits"),
    )
    outputs = {name: torch.from_numpy(array) for name, array in gathered.items()}
    vectors = [
        model.retrieval_vectors(outputs[f"{stream}_embeds"], outputs.get(f"{stream}_emotion_logits"))
        for stream in ("video", "music")
    ]
    similarity = model.pairwise_similarity(*vectors).numpy()
    labels = gathered["emotion"]
    metrics = retrieval_metrics_both_directions(similarity, labels, labels)
    emotions = _emotion_predictions(gathered, labels, labels)
    for stream in ("video", "music") if emotions else ():
        metrics.update(emotion_metrics(stream, labels, emotions[f"{stream}_emotion_predictions"]))
    saved = {"similarity": similarity, "labels": labels, **emotions}
    return EvaluationReport("retrieval", metrics, saved)


def evaluate_tagging(
    model: torch.nn.Module, segments, accelerator: Accelerator | None = None, batch_size: int = 1024
) -> EvaluationReport:
    """An emotion tagger's accuracy, macro-F1, one-vs-rest ROC-AUC and confusion matrix from each stream alone
    and from all streams (``joint``), on a ``segments`` split (or the segments of a pairs split)."""
    accelerator = accelerator or Accelerator(cpu=True)
    data = TensorPairs.from_dataset(_segments(segments), accelerator.device, TAGGING_COLUMN_TO_ARGUMENT)
    metrics: dict[str, float] = {}
    saved: dict[str, np.ndarray] = {}
    matrices: dict[str, list[list[int]]] = {}
    for mode, names in model.config.input_modes.items():
        gathered = _gather_outputs(model, data, accelerator, batch_size, ("logits",), input_names=names)
        probabilities = torch.softmax(torch.from_numpy(gathered["logits"]), dim=-1).numpy()
        labels, predictions = gathered["labels"], probabilities.argmax(-1)
        metrics.update(tagging_metrics(mode, labels, probabilities))
        matrices[mode] = emotion_confusion_matrix(labels, predictions, model.config.num_labels)
        saved[f"{mode}_emotion_labels"] = labels
        saved[f"{mode}_emotion_predictions"] = predictions
        saved[f"{mode}_emotion_probabilities"] = probabilities
    return EvaluationReport("tagging", metrics, saved, matrices, tuple(model.config.class_names))


EVALUATORS = {
    "correspondence": ("pairs", evaluate_correspondence),
    "retrieval": ("segments", evaluate_retrieval),
    "tagging": ("pairs", evaluate_tagging),
}
"""Task → (the dataset config it is evaluated on, its evaluation). A tagger is scored on the segments of a
`pairs` split; a retrieval model on the `segments` set, the segments of the evaluation split's pairs."""


def evaluate(
    model: torch.nn.Module,
    dataset,
    split: str | None = None,
    *,
    accelerator: Accelerator | None = None,
    batch_size: int = 1024,
) -> EvaluationReport:
    """
    Evaluate ``model`` the way its `config.task` is evaluated (see [`EVALUATORS`]).

    Args:
        dataset: a Hub dataset id or folder (its `pairs` or `segments` config is loaded, as the task needs),
            or the rows of one split (`datasets.Dataset`, pairs or segments; e.g. a ``cv`` test fold).
        split: the split to evaluate (default: the reported split, ``test`` where the dataset has one, else
            ``validation``); with rows, the name the report gives them.

    Returns:
        The [`EvaluationReport`]; its ``eval_split`` is the evaluated ``config/split``.
    """
    config_name, evaluator = EVALUATORS[model.config.task]
    if isinstance(dataset, str):
        splits = load_emomv(dataset, config_name)
        # the `segments` config holds one split: the segments of the evaluation split's pairs
        split = split or (reporting_split(splits) if config_name == "pairs" else next(iter(splits)))
        if split not in splits:
            raise ValueError(f"split {split!r} is not in {dataset} {config_name}: it has {sorted(splits)}")
        dataset = splits[split]
    # datasets' -1 (no label) would be scored as a class: a retrieval query finds every unlabelled item relevant.
    emotions = ("emotion", "video_emotion", "music_emotion")
    columns = emotions if model.config.task != "correspondence" else ("label",)
    if model.config.task == "correspondence" and getattr(model.config, "multi_task", False):
        columns += emotions[1:]  # a multi-task model's emotion metrics score the pairs' emotions too
    for column in columns:
        if len(missing := unlabelled_rows(dataset, column)):
            raise ValueError(
                f"{config_name}/{split}: {len(missing)} of {len(dataset)} rows have no {column} (-1): scores "
                "need a labelled split (--split)"
            )
    report = evaluator(model, dataset, accelerator, batch_size)
    report.eval_split = f"{config_name}/{split}"
    return report


def write_plots(report: EvaluationReport, output_dir: str | Path) -> list[Path]:
    """ROC + confusion matrix + reliability diagram (correspondence), precision-recall both ways (retrieval),
    emotion confusions."""
    from emomv_hf.metrics import plots

    output_dir = Path(output_dir)
    predictions = report.predictions
    written: list[Path] = []
    if report.task == "correspondence":
        labels, scores = predictions["labels"], predictions["match_scores"]
        written.append(plots.plot_roc_curve(labels, scores, output_dir / "roc_curve.png"))
        written.append(
            plots.plot_confusion_matrix(
                labels,
                predictions["predictions"],
                list(MATCH_LABELS),
                output_dir / "confusion_matrix.png",
                title="Correspondence confusion matrix",
            )
        )
        written.append(plots.plot_reliability_diagram(labels, scores, output_dir / "reliability_diagram.png"))
    elif report.task == "retrieval":
        similarity, labels = predictions["similarity"], predictions["labels"]
        for direction, scores, arrow in (
            ("video_to_music", similarity, "video → music"),
            ("music_to_video", similarity.T, "music → video"),
        ):
            written.append(
                plots.plot_precision_recall(
                    scores,
                    labels,
                    labels,
                    output_dir / f"precision_recall_{direction}.png",
                    title=f"Precision-recall: {arrow}",
                )
            )
    for stream in ("video", "music", "joint"):
        if f"{stream}_emotion_predictions" in predictions:
            written.append(
                plots.plot_confusion_matrix(
                    predictions[f"{stream}_emotion_labels"],
                    predictions[f"{stream}_emotion_predictions"],
                    list(report.class_names),
                    output_dir / f"confusion_matrix_{stream}_emotion.png",
                    title=f"{'Video + music' if stream == 'joint' else stream.capitalize()} emotion confusion matrix",
                )
            )
    return written


SPLITS_SEEN_IN_TRAINING = {
    "paper": {"train": "training", "validation": "early stopping and calibration"},
    "held-out": {"train": "training, early stopping and calibration"},
    "cv": {split: "training, early stopping and calibration" for split in ("train", "validation")},
}
"""Protocol → {split of the training dataset: what a run of that protocol used it for}."""


def same_dataset(first: str | None, second: str) -> bool:
    """Whether two ``--dataset`` values name one dataset: the same folder, or the same Hub id."""
    if first is None:
        return False
    if looks_like_local_path(first) and looks_like_local_path(second):
        return Path(first).expanduser().resolve() == Path(second).expanduser().resolve()
    return first == second


def trained_on(record: dict[str, Any], dataset: str) -> bool:
    """Whether a run's `training_args.json` (``record``) shows it was trained on ``dataset``: the same folder or Hub
    id (:func:`same_dataset`) or, since a path is recorded as typed, relative to the folder the run was started
    in, a local folder whose content is the one recorded (``dataset_sha256``)."""
    recorded = record.get("dataset_sha256")
    return same_dataset(record.get("dataset"), dataset) or (
        recorded is not None and recorded == dataset_folder_sha256(dataset)
    )


def training_record(model_name_or_path: str) -> dict[str, Any]:
    """The `training_args.json` ``train.py`` wrote beside a model; empty for a model without one (a Hub id, a folder
    saved by other code). The folder may be anyone's: ValueError naming the file unless it holds a JSON object."""
    path = Path(model_name_or_path) / "training_args.json"
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:  # not UTF-8 or not JSON
        record = None
    if not isinstance(record, dict) or not all(
        isinstance(record.get(key, ""), str) for key in ("protocol", "dataset")
    ):
        raise ValueError(f"{path}: not a training record of train.py (a JSON object of its arguments)")
    return record


def training_caveat(model_name_or_path: str, dataset: str, split: str) -> str | None:
    """Why scores of a model folder written by ``train.py`` on ``split`` of ``dataset`` are optimistic: its
    `training_args.json` shows a run on the same dataset whose protocol used that split (`SPLITS_SEEN_IN_TRAINING`);
    None when it did not, or the model has no such record (a Hub id, a folder saved by other code)."""
    trained = training_record(model_name_or_path)
    use = SPLITS_SEEN_IN_TRAINING.get(trained.get("protocol"), {}).get(split)
    if use is None or not trained_on(trained, dataset):
        return None
    return (
        f"{model_name_or_path} was trained on {dataset} with --protocol {trained['protocol']}, which used its "
        f"{split} split for {use}: these scores are optimistic"
    )


def run_evaluation(args: EmoMVEvaluationArguments) -> str:
    """``examples/evaluate.py``: load a model with ``AutoModel`` and [`evaluate`] it; write eval_results.json,
    report.md and plots into ``args.output_dir``.

    Returns the Markdown report.
    """
    model_name_or_path, dataset = args.model, args.dataset
    model = load_model(model_name_or_path)
    report = evaluate(model, dataset, args.split, batch_size=args.batch_size)
    evaluated = report.eval_split
    caveat = training_caveat(model_name_or_path, dataset, evaluated.split("/")[-1])
    if caveat:
        warnings.warn(caveat, stacklevel=2)
    output_dir = Path(args.output_dir)
    results = {
        **report.eval_results(),
        "model": model_name_or_path,
        "dataset": dataset,
        "eval_split": evaluated,
        "caveat": caveat,
    }
    atomic_write_json(output_dir / "eval_results.json", results)
    written = write_plots(report, output_dir) if args.plots else []
    variant = "multi" if getattr(model.config, "multi_task", True) else "single"  # the tagger has one variant
    table = single_run_table(
        report.metrics,
        dataset=dataset_key(dataset),
        model=model.config.family,
        task=model.config.task,
        variant=variant,
    )
    lines = [
        f"# Evaluation of `{model_name_or_path}` ({type(model).__name__})",
        "",
        f"Dataset `{dataset}`, split `{evaluated}`.",
        "",
        *([f"**Caveat**: {caveat}.", ""] if caveat else []),
        table,
        "",
        "Plots: " + ", ".join(f"[{path.name}]({path.name})" for path in written) if written else "",
    ]
    markdown = "\n".join(lines).rstrip() + "\n"
    atomic_write_text(output_dir / "report.md", markdown)
    return markdown
