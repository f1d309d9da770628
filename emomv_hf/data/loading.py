"""Loading a built EmoMV dataset, from the Hub or from a local folder, and choosing its reported split."""

from __future__ import annotations

import os

import datasets


def load_emomv(dataset: str, config: str = "pairs") -> datasets.DatasetDict:
    """Load an EmoMV Hub dataset (``emomv/emomv-c``) or a local folder built by ``build_emomv.py``."""
    try:
        return datasets.load_dataset(dataset, config)
    except (ConnectionError, FileNotFoundError) as error:
        raise type(error)(
            f"cannot load EmoMV dataset {dataset!r} (config {config!r}): {error}. Pass a Hub id while online, or "
            "build a local folder with `python dataset_scripts/build_emomv.py --release-dir DIR --output-dir "
            "datasets` and pass `datasets/emomv-c`."
        ) from error


def reporting_split(pairs: datasets.DatasetDict) -> str:
    """The split results are reported on: ``test`` where the dataset has one (EmoMV-A), else ``validation``."""
    return "test" if "test" in pairs else "validation"


def looks_like_local_path(name: str) -> bool:
    """Whether ``name`` is meant as a local folder rather than a Hub id (``ORG/NAME``): it exists, starts with
    ``.``, ``~`` or ``/``, has more than one path separator, or its parent is a local folder (``outputs/typo``)."""
    parent = os.path.dirname(name)
    return (
        os.path.exists(name)
        or name.startswith((".", "~", os.sep))
        or name.count("/") > 1
        or (parent not in ("", ".") and os.path.isdir(parent))
    )
