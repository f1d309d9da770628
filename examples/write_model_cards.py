#!/usr/bin/env python
"""Write model_cards/: the model cards of the checkpoints the project publishes, from stored results files.

    python examples/write_model_cards.py [--reproduction emomv-c=docs/reproduction-emomv-c]
                                         [--tagger emomv-c=docs/tagging-emomv-c.json] [--hub-org emomv]
                                         [--output-dir model_cards]

Per EmoMV dataset, three checkpoints: the proposed model (multi-task) for correspondence and for retrieval, and
the emotion tagger. Their metrics come from results files only, with their uncertainty: correspondence and
retrieval from a reproduction's results.json (``examples/reproduce_paper.py --protocols cv``: mean ± std over the
outer folds and a 95 % CI of the mean, corrected resampled t), the tagger from ``examples/tagging/seed_runs.py``'s
JSON (``held-out`` protocol, the tagger's only one: mean ± std over seeds and a 95 % CI, plain t over seeds). A
dataset or checkpoint without a results file is left out, and model_cards/README.md says which and why. The
folder is the script's: every run rewrites it whole (tests/cards/test_published_model_cards.py checks that it is
what this script writes today).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from huggingface_hub import ModelCard

from emomv_hf.cards.model_card import (
    CALIBRATION_LABELS,
    TASK_DESCRIPTIONS,
    card_data,
    data_limitations,
    model_summary,
    usage_example,
)
from emomv_hf.citation import BIBTEX
from emomv_hf.comparison import METHOD, ComparisonError, corrected_resampled_t, read_results
from emomv_hf.data.schema import DATASET_NAMES
from emomv_hf.emotions import EMOTIONS
from emomv_hf.io_utils import counted, markdown_table, replacing_dir
from emomv_hf.models_registry import parse_config_overrides
from emomv_hf.paper_results import PAPER_TABLES, metric_names
from emomv_hf.reporting import dataset_display_name, display_value, metric_label, paper_value
from emomv_hf.training.protocols import DEFAULT_PATIENCE, PROTOCOL_DESCRIPTIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "templates" / "published_model_card.md"
PROG = "write_model_cards.py"

PUBLISHED = {
    "correspondence": ("EmoMVForCorrespondence", "emomv-correspondence-multi"),
    "retrieval": ("EmoMVForRetrieval", "emomv-retrieval-multi"),
    "tagger": ("EmoMVForEmotionTagging", None),
}
"""Card name -> the checkpoint's class and its configuration in a reproduction (the proposed model, multi-task)."""

NOT_BUILDABLE = (
    "the feature release this repository is built and tested with holds no SlowFast (video) features of EmoMV-A "
    "and EmoMV-B, so `build_emomv.py` cannot build them and nothing was trained on them"
)

INTENDED_USE = {
    "correspondence": "Research on affective audio-visual correspondence: deciding whether the music of a video "
    "carries the same emotion as its pictures (exciting, fearful, tense, sad, relaxing).",
    "retrieval": "Ranking music for a muted video, or videos for a piece of music, by emotion: a starting point for "
    "tools that suggest mood-matching music to creators (`examples/recommend.py`, the demo Space).",
    "tagger": "Labelling new music-video segments with an emotion from video only, music only or both, as the "
    "paper labelled EmoMV-B and EmoMV-C (`dataset_scripts/create_dataset.py` keeps the segments whose three "
    "predictions agree).",
}
TASK_OF = {"correspondence": "correspondence", "retrieval": "retrieval", "tagger": "tagging"}
RESULT_AFFECTING = (
    "batch_size",
    "calibrate",
    "config_overrides",
    "cv_folds",
    "ensemble_size",
    "held_out_fraction",
    "learning_rate",
    "max_epochs",
    "patience",
    "projections_from",
    "stopping_loss",
    "weight_decay",
)
"""The training arguments that change a result (as a reproduction records them)."""


def _shown(path: Path) -> str:
    """A path as the cards show it: relative to the repository when inside it (cards name no machine's folders)."""
    path = path.resolve()
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else path.name


def _pairs(values: Sequence[str], flag: str) -> dict[str, Path]:
    """``NAME=PATH`` arguments as {dataset name: path}."""
    pairs = {}
    for value in values:
        name, separator, path = value.partition("=")
        if not separator or name not in DATASET_NAMES or not path:
            raise ValueError(
                f"{flag} {value!r}: expected NAME=PATH with NAME one of {', '.join(DATASET_NAMES)}"
            )
        pairs[name] = Path(path) if Path(path).is_absolute() else REPO_ROOT / path
    return pairs


def _value(metric: str, value: float) -> str:
    # Percentages (accuracy, top-K, mAP) with 2 decimals, fractions (F1, AUC, ECE, Brier) with 3, as the paper.
    shown = display_value(metric, value)
    return f"{shown:.2f}" if shown != value else f"{shown:.3f}"


def metrics_table(
    per_run: Mapping[str, Sequence[float]],
    train_size: float,
    test_size: float,
    paper: Mapping[str, float | None],
) -> tuple[str, dict[str, float]]:
    """Markdown table (metric, paper, mean ± std, 95 % CI, min–max) of the runs' values per metric, and the means
    on the displayed scale (for the model-index). ``test_size`` 0 gives the plain t interval."""
    rows, means = [], {}
    for metric, values in per_run.items():
        values = np.asarray(values, dtype=float)
        test = corrected_resampled_t(values, train_size, test_size)
        label = CALIBRATION_LABELS.get(metric) or metric_label(metric)
        reference = paper.get(metric)
        rows.append(
            [
                label,
                "–" if reference is None else f"{reference:.2f}",
                f"{_value(metric, values.mean())} ± {_value(metric, values.std(ddof=1))}",
                f"[{_value(metric, test.ci_low)}, {_value(metric, test.ci_high)}]",
                f"{_value(metric, values.min())}–{_value(metric, values.max())}",
            ]
        )
        means[metric] = round(display_value(metric, float(values.mean())), 4)
    header = ["Metric", "Paper", "Mean ± std", "95 % CI of the mean", "Min–max"]
    return markdown_table(header, rows), means


def _given(command: str) -> set[str]:
    """The settings a recorded command passed as flags (``--learning-rate 5e-4`` or ``--learning-rate=5e-4`` ->
    ``learning_rate``)."""
    return {part[2:].partition("=")[0].replace("-", "_") for part in command.split() if part.startswith("--")}


def _command(name: str, arguments: Mapping[str, Any], recorded: str, hub_org: str, dataset: str) -> str:
    """The train.py command of the published checkpoint ``name`` (``held-out`` protocol) with the result-affecting
    flags that the recorded command of the results gave (``cv_folds`` only shapes the estimate)."""
    flags = [
        f"accelerate launch examples/train.py --dataset {hub_org}/{dataset} --task {TASK_OF[name]} --protocol held-out"
    ]
    for name in RESULT_AFFECTING:
        if name in _given(recorded) and name != "cv_folds":
            value = arguments[name]
            if name == "projections_from":
                value = f"{hub_org}/{dataset}-correspondence"  # each seed used the correspondence model of its seed
            flags.append(f"--{name.replace('_', '-')} {value}")
    return " ".join(flags)


def _settings_table(arguments: Mapping[str, Any], recorded: str, protocol: str) -> str:
    """The result-affecting settings of the runs; patience, recorded before the protocol was set, is the
    protocol's default unless the command gave it."""
    rows = []
    for name in RESULT_AFFECTING:
        if name not in arguments or (name == "cv_folds" and protocol != "cv"):
            continue  # not recorded (the tagger's runs), or not used
        value = f"`{arguments[name]}`"
        if name == "patience" and name not in _given(recorded):
            value = f"`{DEFAULT_PATIENCE[protocol]}` (the `{protocol}` protocol's default)"
        elif name == "projections_from" and arguments.get(name):
            value = "the correspondence model trained with the same seed"
        rows.append([f"`{name}`", value])
    return markdown_table(["Setting", "Value"], [*rows, ["protocol", f"`{protocol}`"]])


def _fold_sizes(path: Path, folds: int) -> tuple[float, float, str]:
    """Mean (n_train, n_test) pairs of the folds where every run records them, else ``n_test/n_train = 1/(k-1)``."""
    runs = [run for run in json.loads(path.read_text(encoding="utf-8")) if run["spec"]["protocol"] == "cv"]
    if all("num_train_pairs" in run and "num_test_pairs" in run for run in runs):
        train = float(np.mean([run["num_train_pairs"] for run in runs]))
        test = float(np.mean([run["num_test_pairs"] for run in runs]))
        return train, test, f"n_train/n_test {train:g}/{test:g} (mean over the folds)"
    return (
        folds - 1.0,
        1.0,
        f"n_test/n_train = 1/(k-1) = {1 / (folds - 1):.3g} assumed (the runs do not record it)",
    )


def reproduction_cards(
    dataset: str, folder: Path, hub_org: str
) -> tuple[dict[str, ModelCard], dict[str, str]]:
    """The correspondence and retrieval cards of ``dataset`` from a reproduction folder, and the cards left out."""
    configurations = read_results(folder)
    cards, left_out = {}, {}
    for name in ("correspondence", "retrieval"):
        configuration = PUBLISHED[name][1]
        if configuration not in configurations:
            left_out[f"{dataset}-{name}"] = f"{_shown(folder)} has no `cv` runs of `{configuration}`"
            continue
        results = configurations[configuration]
        folds = results.folds
        first = results.metrics[folds[0]]
        shown = [*metric_names(name), *(metric for metric in CALIBRATION_LABELS if metric in first)]
        per_run = {metric: [results.metrics[fold][metric] for fold in folds] for metric in shown}
        train_size, test_size, sizes = _fold_sizes(folder / "results.json", results.cv_folds)
        paper = {metric: paper_value(dataset, "emomv", name, "multi", metric) for metric in shown}
        table, means = metrics_table(per_run, train_size, test_size, paper)
        repetitions = len({fold.repetition for fold in folds})
        command = _recorded_command(folder / "results.md")
        cards[f"{dataset}-{name}"] = _card(
            dataset=dataset,
            name=name,
            hub_org=hub_org,
            variant="multi-task",
            source=f"{_shown(folder / 'results.json')}",
            results_intro=(
                f"Estimated by the `cv` protocol over {len(folds)} outer folds ({results.cv_folds}-fold, {repetitions} "
                f"repetition{'' if repetitions == 1 else 's'}): {PROTOCOL_DESCRIPTIONS['cv']}. From "
                f"`{_shown(folder / 'results.json')}` (`{_strip_paths(command)}`, "
                f"dataset content {results.dataset}). "
                "These numbers estimate what this training recipe gives on new source videos; the published "
                "checkpoint is one run of it with the `held-out` protocol (trained on the training split, early "
                "stopping on a grouped 20 % slice of it). The paper's column is its "
                f"{PAPER_TABLES[(TASK_OF[name], 'multi')]} (its protocol early-stopped on the reported split)."
            ),
            results_table=table,
            method=(
                f"Mean ± sample std over the {len(folds)} folds. 95 % CI of the mean: {METHOD}, {sizes}: the folds' "
                "training sets overlap, which the plain t interval ignores."
            ),
            means=means,
            eval_split="pairs/train+validation",
            protocol="cv",
            arguments=results.settings,
            recorded=command,
        )
    return cards, left_out


def _recorded_command(results_md: Path) -> str:
    """The command a reproduction's results.md records (its ``Command:`` line)."""
    lines = results_md.read_text(encoding="utf-8").splitlines() if results_md.is_file() else []
    recorded = [line.split("`")[1] for line in lines if line.startswith("Command: `")]
    return recorded[0] if recorded else "python examples/reproduce_paper.py"


def _strip_paths(command: str) -> str:
    """A recorded command with the machine's folders cut to their last part (``/tmp/x/datasets/emomv-c`` ->
    ``emomv-c``)."""
    return " ".join(Path(part).name if part.startswith("/") else part for part in command.split())


def tagger_card(dataset: str, path: Path, hub_org: str) -> ModelCard:
    """The tagger's card from ``examples/tagging/seed_runs.py``'s JSON."""
    report = json.loads(path.read_text(encoding="utf-8"))
    runs, arguments = report["runs"], report["arguments"]
    per_run = {metric: [run[metric] for run in runs] for metric in metric_names("tagging")}
    table, means = metrics_table(per_run, 1.0, 0.0, {})
    never = [
        name
        for index, name in enumerate(EMOTIONS)
        if all(run["confusion_matrices"]["joint"][index][index] == 0 for run in runs)
    ]
    return _card(
        dataset=dataset,
        name="tagger",
        hub_org=hub_org,
        variant=f"{arguments.get('config_overrides') or 'default configuration'}",
        source=_shown(path),
        results_intro=(
            f"On the validation segments of {dataset_display_name(dataset)}, {len(runs)} training seeds, `held-out` "
            f"protocol (the tagger's only one): {PROTOCOL_DESCRIPTIONS['held-out']}. From `{_shown(path)}` "
            f"(`{_strip_paths(report['command'])}`). Accuracy in %, macro-F1 and one-vs-rest ROC-AUC as fractions; "
            "the paper reports its tagger on MVED only, so there is no paper column."
        ),
        results_table=table,
        method=(
            f"Mean ± sample std over the {len(runs)} seeds. 95 % CI of the mean: plain t over the seeds. Every seed is "
            "scored on the same validation segments, so the interval covers the training seed's variation only, "
            "not that of the sample of segments."
        ),
        means=means,
        eval_split="segments/validation",
        protocol="held-out",
        arguments=arguments,
        recorded=report["command"],
        extra_limitations=(
            [
                f"It never classified a {' or '.join(never)} segment right (from both streams) in any of the seeds."
            ]
            if never
            else []
        ),
    )


def _has_neutral_class(task: str, arguments: Mapping[str, Any]) -> bool:
    """Whether the runs' model had the optional sixth class (a tagger's ``--config-overrides neutral_class=true``)."""
    overrides = (
        parse_config_overrides("emomv", task, arguments.get("config_overrides")) if task == "tagging" else {}
    )
    return bool(overrides.get("neutral_class"))


def _card(
    *,
    dataset: str,
    name: str,
    hub_org: str,
    variant: str,
    source: str,
    results_intro: str,
    results_table: str,
    method: str,
    means: Mapping[str, float],
    eval_split: str,
    protocol: str,
    arguments: Mapping[str, Any],
    recorded: str,
    extra_limitations: Sequence[str] = (),
) -> ModelCard:
    """A published checkpoint's card; ``arguments`` and ``recorded`` (the command) are those of the runs that gave
    its metrics."""
    task = TASK_OF[name]
    repo_id, dataset_id = f"{hub_org}/{dataset}-{name}", f"{hub_org}/{dataset}"
    dataset_name = dataset_display_name(dataset)
    data = card_data(
        repo_id=repo_id,
        task=task,
        datasets=[dataset_id],
        dataset_id=dataset_id,
        eval_split=eval_split,
        values=means,
        protocol=protocol,
        statistic="mean",
    )
    title = f"EmoMV (proposed model) for {task}" if name != "tagger" else "EmoMV emotion tagger"
    return ModelCard.from_template(
        data,
        template_path=str(TEMPLATE),
        source=source,
        title=f"{title} on {dataset_name}",
        summary=f"{model_summary(task)}, trained with `emomv-hf`.",
        repo_id=repo_id,
        model_class=PUBLISHED[name][0],
        variant=variant,
        task_description=TASK_DESCRIPTIONS[task],
        dataset_id=dataset_id,
        dataset_name=dataset_name,
        dataset=dataset,
        hub_org=hub_org,
        train_command=_command(name, arguments, recorded, hub_org, dataset),
        results_intro=results_intro,
        results_table=results_table,
        method=method,
        usage=usage_example(task, dataset_id),
        intended_use=INTENDED_USE[name],
        limitations=[
            *data_limitations(dataset),
            *extra_limitations,
            "Inputs must be features of the release's extractors (SlowFast R50 Kinetics pooled features and VGGish "
            "embeddings before PCA, averaged over 0.96 s frames).",
            "Five Western film/music-video emotions"
            + (
                " and a `neutral` class."
                if _has_neutral_class(task, arguments)
                else " only; no neutral class."
            ),
        ],
        settings_table=_settings_table(arguments, recorded, protocol),
        bibtex=BIBTEX,
    )


def index(cards: Mapping[str, str], left_out: Mapping[str, str], sources: Mapping[str, str]) -> str:
    """model_cards/README.md: the cards written, their sources, and what was left out and why."""
    rows = [
        [f"[{name}]({name}/README.md)", f"`{repo}`", f"`{sources[name]}`"] for name, repo in cards.items()
    ]
    lines = [
        "# Model cards of the published checkpoints",
        "",
        "Written by `python examples/write_model_cards.py` (template: `examples/templates/published_model_card.md`) "
        "from the results files below; `tests/cards/test_published_model_cards.py` checks that this folder is what "
        "the script writes today. The card `examples/train.py` writes next to every trained model comes from "
        "`emomv_hf/cards/templates/emomv_model_card.md`.",
        "",
        markdown_table(["Card", "Checkpoint", "Metrics from"], rows),
        "",
        "Left out:",
        "",
        *(f"- {name}: {reason}." for name, reason in left_out.items()),
    ]
    return "\n".join(lines) + "\n"


def write_model_cards(
    reproductions: Mapping[str, Path], taggers: Mapping[str, Path], output_dir: Path, hub_org: str
) -> dict[str, str]:
    """Write every card and the index into ``output_dir`` (replaced whole); returns {card: checkpoint id}."""
    cards: dict[str, ModelCard] = {}
    sources: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for dataset in DATASET_NAMES:
        if dataset in reproductions:
            written, skipped = reproduction_cards(dataset, reproductions[dataset], hub_org)
            cards.update(written)
            left_out.update(skipped)
            sources.update((name, _shown(reproductions[dataset] / "results.json")) for name in written)
        if dataset in taggers:
            cards[f"{dataset}-tagger"] = tagger_card(dataset, taggers[dataset], hub_org)
            sources[f"{dataset}-tagger"] = _shown(taggers[dataset])
        missing = [
            f"{dataset}-{name}"
            for name in PUBLISHED
            if f"{dataset}-{name}" not in cards and f"{dataset}-{name}" not in left_out
        ]
        if missing:
            reason = f"no results file was given for {dataset_display_name(dataset)}"
            if dataset in ("emomv-a", "emomv-b"):
                reason += f" ({NOT_BUILDABLE})"
            left_out[", ".join(missing)] = reason
    repos = {name: f"{hub_org}/{name}" for name in cards}
    if output_dir.exists():  # replaced whole: refused when it holds anything this script does not write
        names = {f"{dataset}-{name}" for dataset in DATASET_NAMES for name in PUBLISHED}
        ours = {"README.md", *names, *(f"{name}/README.md" for name in names)}
        top = [*output_dir.iterdir()] if output_dir.is_dir() else [output_dir]
        held = top + [
            path for entry in top if entry.name in names and entry.is_dir() for path in entry.iterdir()
        ]
        foreign = [path for path in held if path.relative_to(output_dir).as_posix() not in ours]
        if foreign:
            raise FileExistsError(
                f"--output-dir {output_dir}: {foreign[0]} is no model card of this script, and writing the "
                "cards would delete it (give a new folder, or the folder of earlier cards)"
            )
    # The folder is this script's: cards of an earlier run that this one does not write must go.
    with replacing_dir(output_dir) as staging:
        for name, card in cards.items():
            (staging / name).mkdir()
            (staging / name / "README.md").write_text(str(card) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(index(repos, left_out, sources), encoding="utf-8")
    return repos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reproduction",
        action="append",
        metavar="NAME=DIR",
        help="a dataset's reproduce_paper.py output folder (results.json, cv protocol); "
        "default emomv-c=docs/reproduction-emomv-c",
    )
    parser.add_argument(
        "--tagger",
        action="append",
        metavar="NAME=JSON",
        help="a dataset's tagging/seed_runs.py output; default emomv-c=docs/tagging-emomv-c.json",
    )
    parser.add_argument(
        "--hub-org", default="emomv", help="the Hub organisation of the checkpoints and datasets"
    )
    parser.add_argument("--output-dir", default=str(REPO_ROOT / "model_cards"), help="default: model_cards/")
    args = parser.parse_args(argv)
    try:
        reproductions = _pairs(args.reproduction or ["emomv-c=docs/reproduction-emomv-c"], "--reproduction")
        taggers = _pairs(args.tagger or ["emomv-c=docs/tagging-emomv-c.json"], "--tagger")
        repos = write_model_cards(reproductions, taggers, Path(args.output_dir), args.hub_org)
    except (ValueError, OSError, KeyError, ComparisonError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    print(f"{counted(len(repos), 'model card')} in {args.output_dir}: {', '.join(repos.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
