"""Model cards for trained EmoMV checkpoints, filled from ``templates/emomv_model_card.md`` with
huggingface_hub's ``ModelCard.from_template``.

Everything comes in as plain values (the training arguments as a dict, the metrics, ...), so that the
training pipeline can call :func:`make_model_card` without this module importing it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from emomv_hf.citation import BIBTEX
from emomv_hf.data.schema import DATASET_NAMES
from emomv_hf.io_utils import looks_like_local_path
from emomv_hf.paper_results import metric_names
from emomv_hf.reporting import (
    dataset_display_name,
    dataset_key,
    display_value,
    metric_label,
    single_run_table,
)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "emomv_model_card.md"

TASK_DESCRIPTIONS = {
    "correspondence": "affective music-video correspondence classification (matched / mismatched)",
    "retrieval": "affective music-video retrieval (video → music and music → video)",
    "tagging": "emotion tagging of music-video segments from video only, music only, or both",
}
TASK_TYPES = {
    "correspondence": "audio-video-correspondence",
    "retrieval": "audio-video-retrieval",
    "tagging": "audio-video-emotion-classification",
}
MODEL_TITLES = {"emomv": "EmoMV", "baseline": "EmoMV baseline"}
MODEL_DESCRIPTIONS = {
    "emomv": "The EmoMV paper's proposed model",
    "baseline": "The EmoMV paper's baseline (modified Li & Kumar 2019)",
    "tagger": "The EmoMV paper's emotion tagger (modified Feature AttendAffectNet, sections 3.2-3.3)",
}
USAGE = {
    "correspondence": 'pairs = load_dataset({dataset}, {config}, split={split}).with_format("torch")[:8]  # float32\n'
    'outputs = model(video_features=pairs["video_features"], music_features=pairs["music_features"])\n'
    "p_matched = outputs.logits.softmax(-1)[:, 1]  # P(matched) of each pair",
    "retrieval": 'segments = load_dataset({dataset}, "segments", split={split}).with_format("torch")[:]  # float32\n'
    'outputs = model(video_features=segments["video_features"], music_features=segments["music_features"])\n'
    "ranking = outputs.logits_per_video.argsort(dim=-1, descending=True)  # music for each video, best first",
    "tagging": 'segments = load_dataset({dataset}, "segments", split={split}).with_format("torch")[:8]  # float32\n'
    'logits = model(video_features=segments["video_features"]).logits  # or music_features=..., or both\n'
    "emotions = [model.config.id2label[index] for index in logits.argmax(-1).tolist()]",
}
"""A card's usage example after ``model = AutoModel.from_pretrained(...)``, by task: ``{dataset}``, ``{config}`` and
``{split}`` are Python string literals (the segments config is where retrieval and tagging are evaluated)."""


def usage_example(task: str, dataset: str, config: str = "pairs", split: str = "validation") -> str:
    """:data:`USAGE` of ``task`` loading ``dataset``'s ``config``/``split`` (quoted, so any path stays one literal)."""
    return USAGE[task].format(dataset=json.dumps(dataset), config=json.dumps(config), split=json.dumps(split))


def model_summary(task: str, model: str = "emomv") -> str:
    """A card's first sentence without its full stop: which of the paper's models (the tagger for ``tagging``)
    for which task."""
    return f"{MODEL_DESCRIPTIONS['tagger' if task == 'tagging' else model]} for {TASK_DESCRIPTIONS[task]}"


EMOMV_LIMITATIONS = (
    "The emotion labels of EmoMV-B and EmoMV-C were **predicted** by an emotion classifier (modified Feature "
    "AttendAffectNet), not annotated by people; matched/mismatched labels inherit its errors. Only EmoMV-A has human "
    "labels (from MVED).",
    "The validation sets are small (96 pairs for EmoMV-C, 120 for EmoMV-B): one pair is about one point of accuracy. "
    "Results vary from seed to seed by several points; compare means over seeds, not single runs.",
)
"""What limits a model trained on the EmoMV datasets (and only on them)."""


def dataset_reference(dataset: str) -> str:
    """How a card names a training dataset: its Hub id, or a local folder's name (``datasets/emomv-c`` ->
    ``emomv-c``), never a path of the machine that trained it."""
    return dataset_key(dataset) if looks_like_local_path(dataset) else dataset


def data_limitations(dataset: str) -> tuple[str, ...]:
    """The limitations that come from the training data: EmoMV's own for the EmoMV datasets; for the user's data a
    pointer to its dataset card, which lists its own (label source, split sizes, missing emotions)."""
    if dataset_key(dataset) in DATASET_NAMES:
        return EMOMV_LIMITATIONS
    return (
        f"The labels and pairs of `{dataset_reference(dataset)}` are whatever its maker gave or a tagger predicted; "
        "its dataset card says how they were made and what its split sizes and missing emotions limit.",
        "Results vary from seed to seed; compare means over seeds, not single runs.",
    )


CALIBRATION_LABELS = {"ece": "Expected calibration error (10 bins)", "brier": "Brier score"}
"""Calibration metrics a correspondence run records besides the paper's."""


def card_data(
    *,
    repo_id: str,
    task: str,
    datasets: list[str] | None,
    dataset_id: str,
    eval_split: str,
    values: Mapping[str, float],
    protocol: str,
    tags: Sequence[str] = (),
    statistic: str = "",
) -> ModelCardData:
    """The YAML of an EmoMV checkpoint's card: tags, and a model-index entry per finite metric of ``values`` (on the
    scale the card shows) on ``dataset_id``'s ``eval_split`` (``"config/split"``); ``statistic`` (e.g. ``"mean"``) says
    what the values are of several runs."""
    config, _, split = eval_split.partition("/")
    note = f"{protocol} protocol" + (f", {statistic}" if statistic else "")
    return ModelCardData(
        model_name=Path(repo_id).resolve().name,  # a Hub id's name, an output folder's however it was typed
        license="mit",
        library_name="transformers",
        datasets=datasets,
        tags=["emomv", "affective-computing", "music-video", task, *tags, f"protocol-{protocol}"],
        eval_results=[
            EvalResult(
                task_type=TASK_TYPES[task],
                task_name=TASK_DESCRIPTIONS[task],
                dataset_type=dataset_id,
                dataset_name=dataset_display_name(dataset_id),
                dataset_config=config,
                dataset_split=split,
                metric_type=metric,
                metric_name=f"{CALIBRATION_LABELS.get(metric) or metric_label(metric)} ({note})",
                metric_value=value,
            )
            for metric, value in values.items()
            # A split of one class has no ROC-AUC (NaN): the model-index takes numbers, and YAML's .nan is none.
            if math.isfinite(value)
        ],
    )


def calibration_sentence(metrics: Mapping[str, float], model_class: str) -> str | None:
    """One sentence on how well P(matched) is calibrated on the reported split (None without ``ece``); only
    ``EmoMVForCorrespondence`` has a temperature (the baseline and an ensemble are never temperature-scaled)."""
    if "ece" not in metrics:
        return None
    scaling = (
        "The logits are divided by `match_temperature` (config.json; 1.0 is uncalibrated), which `--calibrate` fits "
        "by NLL on the early-stopping pairs (not when they are the reported split, as under the `paper` protocol "
        "without a test split)."
        if model_class == "EmoMVForCorrespondence"
        else "This model has no temperature: `--calibrate` does not apply to it."
    )
    return (
        f"Calibration of P(matched) on the reported split: expected calibration error (10 equal-width bins) "
        f"{metrics['ece']:.4f}, Brier score {metrics['brier']:.4f}. {scaling}"
    )


def make_model_card(
    *,
    args: Mapping[str, Any],
    metrics: Mapping[str, float],
    eval_split: str,
    model_class: str,
    num_parameters: int,
    best_epoch: int,
    epochs_run: int,
    best_stopping_loss: float,
    protocol_description: str,
    plots: Sequence[str] = (),
    member_best_epochs: Sequence[int] | None = None,
    neutral_class: bool = False,
) -> ModelCard:
    """A filled :class:`~huggingface_hub.ModelCard` (YAML with the model-index, and the body) for a finished run.

    Args:
        args: the training arguments as a dict (``EmoMVTrainingArguments.to_dict()``), all listed in the card's
            training table; the usage example loads ``hub_model_id``, else ``output_dir``.
        metrics: metric name -> value in ``[0, 1]`` on the reported split (as ``evaluation.evaluate`` returns).
        eval_split: the reported split as ``"config/split"``, e.g. ``"pairs/validation"``.
        protocol_description: one sentence on the protocol ``args["protocol"]``.
        plots: file names of the plots saved next to the card (linked from it).
        best_epoch: the restored epoch's index from 0, as ``TrainingOutcome.best_epoch``.
        member_best_epochs: an ensemble's members' restored epochs (``best_epoch`` is then their largest).
        neutral_class: the model has a ``neutral`` class besides the five emotions (a tagger's config says so).
    """
    variant = "single-task" if args["single_task"] else "multi-task"
    repo_id = args.get("hub_model_id") or args.get("output_dir") or "path/to/checkpoint"
    dataset, task, model = args["dataset"], args["task"], args["model"]
    dataset_name, dataset_id = dataset_display_name(dataset), dataset_reference(dataset)
    config, _, split = eval_split.partition("/")
    data = card_data(
        repo_id=repo_id,
        task=task,
        tags=[model, variant],
        datasets=None if looks_like_local_path(dataset) else [dataset],
        dataset_id=dataset_id,
        eval_split=eval_split,
        values={
            metric: round(display_value(metric, metrics[metric]), 4)
            for metric in metric_names(task)
            if metric in metrics
        },
        protocol=args["protocol"],
    )
    training_rows = "\n".join(f"| `{name}` | `{value}` |" for name, value in sorted(args.items()))
    return ModelCard.from_template(
        data,
        template_path=str(TEMPLATE),
        model_name=f"{MODEL_TITLES[model]} for {task} ({variant}) on {dataset_name}",
        summary=f"{model_summary(task, model)}.",
        dataset_name=dataset_name,
        dataset_id=dataset_id,
        data_limitations=data_limitations(dataset),
        task_description=TASK_DESCRIPTIONS[task],
        model_class=model_class,
        variant=variant,
        num_parameters=f"{num_parameters:,}",
        protocol=args["protocol"],
        protocol_description=protocol_description,
        eval_split=eval_split,
        best_epoch=best_epoch + 1,  # an index from 0 (`TrainingOutcome`); "best epoch X of N" counts from 1
        epochs_run=epochs_run,
        best_stopping_loss=f"{best_stopping_loss:.4f}",
        member_best_epochs=", ".join(str(epoch + 1) for epoch in member_best_epochs)
        if member_best_epochs
        else None,
        seed=args["seed"],
        results_table=single_run_table(
            metrics,
            dataset=dataset_key(dataset),
            model=model,
            task=task,
            variant="single" if args["single_task"] else "multi",
        ),
        calibration=calibration_sentence(metrics, model_class),
        plots=list(plots),
        repo_id=repo_id,
        # cv folds are not splits of the dataset: the example loads its validation split
        usage=usage_example(
            task, dataset, config, split if split in ("train", "validation", "test") else "validation"
        ),
        training_table="| Argument | Value |\n|---|---|\n" + training_rows,
        neutral_class=neutral_class,
        bibtex=BIBTEX,
    )


EXTRACTOR_TEMPLATE = Path(__file__).resolve().parent / "templates" / "extractor_model_card.md"

EXTRACTOR_FACTS: dict[str, dict[str, Any]] = {
    "vggish": {
        "model_name": "VGGish (EmoMV music features)",
        "summary": "Google's VGGish audio network (AudioSet), in the layer layout of the PyTorch port "
        "`harritaylor/torchvggish`: the 128-d music features of the EmoMV datasets.",
        "output_description": "`pooler_output` (B, 128): post-ReLU embeddings averaged over a segment's 0.96 s examples "
        "(no PCA); `last_hidden_state` (B, E, 128) per example",
        "usage": "inputs = processor(audio=waveform, sampling_rate=44_100)  # any rate; resampled to 16 kHz mono\n"
        'features = model(inputs["input_features"], attention_mask=inputs["attention_mask"]).pooler_output',
        "reference": "Hershey et al., CNN architectures for large-scale audio classification, ICASSP 2017.",
        "tags": ("audio", "vggish", "audioset"),
    },
    "slowfast": {
        "model_name": "SlowFast R50 (EmoMV video features)",
        "summary": "pytorchvideo's `slowfast_r50` (Kinetics-400, 8x8) with the classifier projection removed: "
        "the 2,304-d video features of the EmoMV datasets.",
        "output_description": "`pooler_output` (B, 2304): pooled slow (2,048) and fast (256) pathway features",
        "usage": "inputs = processor(videos=frames)  # (T, H, W, 3) uint8 -> 32 frames, 256x256, two pathways\n"
        'features = model(inputs["pixel_values_slow"], inputs["pixel_values_fast"]).pooler_output',
        "reference": "Feichtenhofer et al., SlowFast networks for video recognition, ICCV 2019.",
        "tags": ("video", "slowfast", "kinetics"),
    },
}
"""Model kind -> what its card says (the template's variables, and the tags)."""


def make_extractor_card(
    kind: str,
    *,
    model_class: str,
    num_parameters: int,
    source_name: str,
    source_sha256: str,
    source_url: str,
    repo_id: str,
    extra_source_name: str = "",
    extra_source_sha256: str = "",
    random_weights: bool = False,
) -> ModelCard:
    """The card of a converted feature-extractor checkpoint (``kind``: ``"vggish"`` or ``"slowfast"``), naming the
    public file it was converted from and its SHA-256; with ``random_weights`` (``convert_weights.py
    --random-init``, no source file), a warning at the top that its features mean nothing."""
    facts = dict(EXTRACTOR_FACTS[kind])
    card_data = ModelCardData(
        model_name=repo_id.split("/")[-1],
        license="apache-2.0",
        library_name="transformers",
        tags=["emomv", "feature-extraction", *facts.pop("tags"), *(["random-weights"] * random_weights)],
        pipeline_tag="feature-extraction",
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(EXTRACTOR_TEMPLATE),
        model_class=model_class,
        source_name=source_name,
        source_sha256=source_sha256,
        source_url=source_url,
        extra_source_name=extra_source_name,
        extra_source_sha256=extra_source_sha256,
        random_weights=random_weights,
        num_parameters=f"{num_parameters:,}",
        repo_id=repo_id,
        **facts,
    )
