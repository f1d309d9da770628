"""Command-line arguments of ``dataset_scripts/build_emomv.py`` and ``dataset_scripts/create_pairs.py``: one
dataclass per script plus :class:`DatasetOutputArguments`, the output options both share, and
:class:`DatasetLicenseArguments` (``create_pairs.py`` and ``create_dataset.py``: the user's own data), parsed together
(see :func:`emomv_hf.cli.run_script`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..cli import check_flags, flag
from .card import UNKNOWN_LICENSE
from .schema import DATASET_NAMES

DatasetChoice = Literal["emomv-a", "emomv-b", "emomv-c", "all"]
"""``--dataset`` of ``build_emomv.py``: one of :data:`~emomv_hf.data.schema.DATASET_NAMES`, or ``all``."""


@dataclass(kw_only=True)
class DatasetOutputArguments:
    """What to do with a built dataset folder: replace one holding other files, upload it to the Hub."""

    overwrite: bool = flag(
        "replace the output dataset folder even if it holds files the build does not write "
        "(they are deleted)",
        default=False,
    )
    push_to_hub: str | None = flag(
        "upload each built dataset folder as the Hub dataset repository ORG/<folder name>",
        default=None,
        metavar="ORG",
    )
    private: bool = flag("create private Hub repositories", default=False)

    def __post_init__(self) -> None:
        valid = self.push_to_hub is None or (bool(self.push_to_hub.strip()) and "/" not in self.push_to_hub)
        check_flags({"push_to_hub": (valid, "a Hub user or organisation name (ORG, without '/')")}, self)


@dataclass(kw_only=True)
class DatasetLicenseArguments:
    """The licence of a dataset made from the user's own segments or media: only its maker knows it."""

    license: str = flag(
        "the dataset's licence, a Hub licence id such as cc-by-4.0 "
        "(https://huggingface.co/docs/hub/repositories-licenses); default other: not stated, unknown",
        default=UNKNOWN_LICENSE,
    )

    def __post_init__(self) -> None:
        # The id goes into the card's YAML: a Hub licence id is lower-case letters, digits, '.', '-' and '+'.
        valid = re.fullmatch(r"[a-z0-9][a-z0-9.+-]{0,63}", self.license) is not None
        check_flags({"license": (valid, "a Hub licence id")}, self)


@dataclass(kw_only=True)
class BuildEmoMVArguments:
    """``build_emomv.py``: which datasets to build from which release, and where."""

    release_dir: str | None = flag("release root (default: $EMOMV_RELEASE_DIR, else download)", default=None)
    output_dir: str = flag("parent folder of the dataset folders")
    dataset: DatasetChoice = flag("the dataset to build, or all of them", default="all")
    strict: bool = flag("a missing release file is an error", default=False)

    @property
    def dataset_names(self) -> tuple[str, ...]:
        """The datasets ``--dataset`` names."""
        return tuple(DATASET_NAMES) if self.dataset == "all" else (self.dataset,)


@dataclass(kw_only=True)
class CreatePairsArguments:
    """``create_pairs.py``: the segments to pair and how (EmoMV paper, section 3.1)."""

    segments: str = flag("CSV of labelled segments, or a folder written by extract_features.py")
    output_dir: str = flag("parent folder of the dataset folder")
    name: str = flag("dataset folder / repository name", default="emomv-pairs")
    seed: int = flag("seed of the pairing and of the train/validation split", default=0)
    balance: bool = flag(
        "keep as many matched pairs as mismatched ones (the paper's balancing)", default=True
    )
    group_by_source: bool = flag(
        "without a split column: split train/validation grouped by source video (EmoMV-C)", default=False
    )
    validation_fraction: float = flag(
        "share of the source videos in validation (with --group-by-source)", default=0.2
    )
    max_per_source: int = flag(
        "with --group-by-source: at most this many segments per source video (0: no cap); otherwise no segment "
        "is capped",
        default=2,
    )
    allow_degenerate: bool = flag(
        "write splits without matched or without mismatched pairs (with a warning) instead of refusing",
        default=False,
    )

    def __post_init__(self) -> None:
        check_flags(
            {
                # One folder in --output-dir: "." or ".." would name (and --overwrite replace) it or its parent.
                "name": (
                    self.name.strip() not in {"", ".", ".."} and Path(self.name).name == self.name,
                    "a folder name (not '.' or '..', no '/')",
                ),
                "validation_fraction": (0.0 <= self.validation_fraction <= 1.0, "in [0, 1]"),
                "max_per_source": (self.max_per_source >= 0, "a non-negative integer (0: no cap)"),
            },
            self,
        )
