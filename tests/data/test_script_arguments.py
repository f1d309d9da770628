"""The dataset scripts parse like ``examples/``: dataclasses under ``HfArgumentParser`` (issue 7, item 8).

Every flag keeps its dash and underscore spellings; ``--help`` works; a value a dataclass rejects is a usage
error (status 2) with one ``error:`` line and no traceback.
"""

from __future__ import annotations

from typing import get_args

import pytest

from emomv_hf.data.arguments import (
    BuildEmoMVArguments,
    CreatePairsArguments,
    DatasetChoice,
    DatasetLicenseArguments,
    DatasetOutputArguments,
)
from emomv_hf.data.schema import DATASET_NAMES
from emomv_hf.features.arguments import ExtractorArguments, FeatureExtractionArguments

from .helpers import REPO_ROOT, load_script

SCRIPTS = ("build_emomv", "create_pairs", "extract_features", "convert_weights")


def parse(name: str, argv: list[str]) -> tuple:
    return load_script(name).build_parser().parse_args_into_dataclasses(args=argv, look_for_args_file=False)


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_lists_every_flag(name, capsys):
    with pytest.raises(SystemExit) as exited:
        load_script(name).main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {name}.py") and "--output-dir" in out
    if name == "convert_weights":
        assert "--push-to-hub ORG/NAME" in out and "--vggish-pca" in out
    elif name != "extract_features":
        assert "--overwrite" in out and "--push-to-hub ORG" in out and "--private" in out
    if name == "create_pairs":
        assert "--no-balance" in out and "Turn off --balance." in out
    if name == "extract_features":
        assert "--no-progress" in out and "--slowfast-weights PATH" in out


def test_dataset_choices_are_the_dataset_names():
    assert get_args(DatasetChoice) == (*DATASET_NAMES, "all")


def test_build_emomv_flags_and_defaults():
    args, output = parse("build_emomv", ["--output-dir", "out"])
    assert args == BuildEmoMVArguments(output_dir="out")
    assert (args.release_dir, args.dataset, args.strict, args.dataset_names) == (
        None,
        "all",
        False,
        DATASET_NAMES,
    )
    assert output == DatasetOutputArguments()
    argv = ["--release_dir", "r", "--output_dir", "o", "--dataset", "emomv-c", "--strict", "--overwrite"]
    args, output = parse("build_emomv", [*argv, "--push-to-hub", "org", "--private"])
    assert (args.release_dir, args.output_dir, args.dataset_names, args.strict) == (
        "r",
        "o",
        ("emomv-c",),
        True,
    )
    assert output == DatasetOutputArguments(overwrite=True, push_to_hub="org", private=True)


def test_create_pairs_flags_and_defaults():
    args, output, card = parse("create_pairs", ["--segments", "s.csv", "--output-dir", "o"])
    assert args == CreatePairsArguments(segments="s.csv", output_dir="o")
    assert card == DatasetLicenseArguments(license="other")  # unknown: never the authors' MIT
    assert (args.name, args.seed, args.balance, args.group_by_source) == ("emomv-pairs", 0, True, False)
    assert (args.validation_fraction, args.max_per_source, args.allow_degenerate) == (0.2, 2, False)
    argv = ["--segments", "s.csv", "--output_dir", "o", "--name", "mine", "--seed", "-3", "--no-balance"]
    argv += [
        "--group_by_source",
        "--validation-fraction",
        "0.5",
        "--max-per-source",
        "0",
        "--allow-degenerate",
    ]
    args, output, card = parse("create_pairs", [*argv, "--push_to_hub", "org", "--license", "cc-by-4.0"])
    assert args == CreatePairsArguments(
        segments="s.csv",
        output_dir="o",
        name="mine",
        seed=-3,
        balance=False,
        group_by_source=True,
        validation_fraction=0.5,
        max_per_source=0,
        allow_degenerate=True,
    )
    assert output == DatasetOutputArguments(push_to_hub="org")
    assert card.license == "cc-by-4.0"


def test_extract_features_flags_and_defaults():
    args, extractor = parse("extract_features", ["--media", "m", "--output-dir", "o"])
    assert args == FeatureExtractionArguments(media="m", output_dir="o") and extractor == ExtractorArguments()
    assert (extractor.slowfast_weights, extractor.vggish_weights, extractor.random_init) == (
        None,
        None,
        False,
    )
    # device None: the process's accelerate device (cpu here, cuda:N per process under accelerate launch)
    options = args.extraction_options(extractor)
    assert (extractor.segment_seconds, extractor.device, options["on_error"], args.progress) == (
        30.0,
        None,
        "raise",
        True,
    )
    assert (extractor.extractor, args.files_per_shard, args.num_workers, args.batch_size) == (None, 16, 0, 1)
    argv = ["--media", "m", "--output_dir", "o", "--slowfast_weights", "s", "--vggish-weights", "v"]
    args, extractor = parse(
        "extract_features", [*argv, "--random-init", "--segment_seconds", "2.5", "--skip-errors"]
    )
    assert (extractor.slowfast_weights, extractor.vggish_weights, extractor.random_init) == ("s", "v", True)
    assert (extractor.segment_seconds, args.extraction_options(extractor)["on_error"]) == (2.5, "skip")
    args, extractor = parse("extract_features", [*argv, "--device", "cuda", "--no-progress"])
    assert (extractor.device, args.progress) == ("cuda", False)
    args, extractor = parse(
        "extract_features", [*argv, "--files-per-shard", "4", "--num-workers", "2", "--extractor", "x"]
    )
    assert (args.files_per_shard, args.num_workers, extractor.extractor) == (4, 2, "x")


@pytest.mark.parametrize(
    "name, argv, message",
    [
        ("extract_features", ["--segment-seconds", "-5"], "--segment-seconds must be positive, got -5.0"),
        ("extract_features", ["--segment-seconds", "0"], "--segment-seconds must be positive, got 0.0"),
        ("extract_features", ["--files-per-shard", "0"], "--files-per-shard must be >= 1, got 0"),
        ("extract_features", ["--num-workers", "-1"], "--num-workers must be >= 0, got -1"),
        (
            "create_pairs",
            ["--validation-fraction", "1.5"],
            "--validation-fraction must be in [0, 1], got 1.5",
        ),
        ("create_pairs", ["--max-per-source", "-1"], "--max-per-source must be a non-negative integer"),
        ("create_pairs", ["--push-to-hub", "org/name"], "--push-to-hub must be a Hub user or organisation"),
        # "." names --output-dir itself, ".." its parent: --overwrite would delete everything in them.
        *(
            ("create_pairs", ["--name", name, "--overwrite"], "--name must be a folder name")
            for name in (".", "..", "a/b")
        ),
        ("build_emomv", ["--dataset", "emomv-x"], "argument --dataset: invalid choice: 'emomv-x'"),
        ("build_emomv", ["--unknown-flag"], "['--unknown-flag']"),
        ("convert_weights", [], "nothing to convert: give --vggish PATH and/or --slowfast PATH"),
        ("convert_weights", ["--vggish", "v.pth", "--push-to-hub", "org"], "--push-to-hub must be ORG/NAME"),
        ("convert_weights", ["--vggish-pca", "p.pth", "--slowfast", "s.pyth"], "--vggish-pca needs --vggish"),
    ],
)
def test_invalid_value_is_one_usage_error_line(name, argv, message, tmp_path, capsys):
    required = {
        "build_emomv": ["--output-dir", str(tmp_path / "o")],
        "create_pairs": ["--segments", str(tmp_path / "s.csv"), "--output-dir", str(tmp_path / "o")],
        "extract_features": ["--media", str(tmp_path), "--output-dir", str(tmp_path / "o")],
        "convert_weights": ["--output-dir", str(tmp_path / "o")],
    }[name]
    with pytest.raises(SystemExit) as exited:
        load_script(name).main([*required, *argv])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{name}.py: error: ") and message in errors[0]
    assert captured.err.strip().splitlines()[-1] == errors[0] and captured.out == ""
    assert not (tmp_path / "o").exists()


def test_missing_required_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        load_script("create_pairs").main(["--output-dir", "o"])
    assert exited.value.code == 2
    assert "the following arguments are required: --segments" in capsys.readouterr().err


def test_invalid_value_from_the_command_line(tmp_path, run_script):
    script = REPO_ROOT / "dataset_scripts" / "extract_features.py"
    argv = ["--media", tmp_path, "--output-dir", tmp_path / "o", "--segment-seconds", "-5"]
    done = run_script(script, argv)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "extract_features.py: error: --segment-seconds must be positive, got -5.0"
    )


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf"])
def test_query_segment_length_is_checked_only_when_given(value):
    """A query's length defaults to None (the library's); one that is given is checked as extraction's is."""
    from emomv_hf.cli import make_parser
    from emomv_hf.recommendation.arguments import QueryExtractorArguments

    parser = make_parser(QueryExtractorArguments)
    assert parser.parse_args_into_dataclasses(args=[])[0].segment_seconds is None
    assert parser.parse_args_into_dataclasses(args=["--segment-seconds", "2.5"])[0].segment_seconds == 2.5
    with pytest.raises(ValueError, match=rf"^--segment-seconds must be positive, got {float(value)!r}$"):
        parser.parse_args_into_dataclasses(args=["--segment-seconds", value])


def test_a_path_flag_starting_with_a_tilde_means_the_home_folder(tmp_path, monkeypatch):
    # `--output-dir=~/x` (or a quoted ~/x) reaches the script unexpanded: it must not make a folder named "~".
    from emomv_hf.cli import parse_or_exit

    monkeypatch.setenv("HOME", str(tmp_path))
    parser = load_script("build_emomv").build_parser()
    args, _ = parse_or_exit(parser, ["--output-dir=~/datasets", "--release-dir", "~/release"])
    assert (args.output_dir, args.release_dir) == (str(tmp_path / "datasets"), str(tmp_path / "release"))


def test_only_a_command_leaves_its_objects_to_the_operating_system_at_exit(monkeypatch):
    """Parsing the process's own command line registers `gc.freeze` for exit (Python's finalization would walk every
    object with the cyclic collector, about 1.4 s after torch and transformers); a Python caller's argv does not."""
    import gc
    import sys

    from emomv_hf import cli

    registered: list = []
    monkeypatch.setattr(cli.atexit, "register", registered.append)
    parser = load_script("build_emomv").build_parser()
    cli.parse_or_exit(parser, ["--output-dir", "out"])
    assert registered == []
    monkeypatch.setattr(sys, "argv", ["build_emomv.py", "--output-dir", "out"])
    cli.parse_or_exit(parser)
    assert registered == [gc.freeze]
