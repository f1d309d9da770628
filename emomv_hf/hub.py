"""Uploading finished folders (trained models, built datasets) to the Hugging Face Hub."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi
from huggingface_hub.errors import HTTPError

# Never part of a Hub repository: training states (they are for resuming here) and hidden files.
IGNORED_FOR_UPLOAD = ["checkpoints/*", ".*"]

REPLACED_ON_PUSH = {
    "dataset": ["data/*"],
    "model": [
        "*.safetensors",
        "*.safetensors.index.json",
        # evaluation.write_plots' files
        "roc_curve.png",
        "reliability_diagram.png",
        "confusion_matrix*.png",
        "precision_recall_*.png",
    ],
}
"""Repository type -> remote files that a push replaces (``fnmatch`` patterns; ``*`` spans folders): those the
uploaded folder does not have are deleted in the same commit, so a repository never mixes the Parquet shards,
weights or plots of two builds or runs (a dataset rebuilt with fewer shards would otherwise load the old ones
too). Files of other names, say an image someone added to the card on the Hub, stay."""


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    repo_type: str = "model",
    private: bool = False,
    api: HfApi | None = None,
) -> str:
    """Create the ``repo_type`` repository ``repo_id`` if needed and upload ``folder`` but
    :data:`IGNORED_FOR_UPLOAD`, in one commit that deletes the repository's files of :data:`REPLACED_ON_PUSH`
    which ``folder`` no longer has; returns the commit URL.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
        OSError: the Hub could not be reached or refused (no network, offline mode, no token...).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"nothing to upload: {folder} is not a folder")
    api = api if api is not None else HfApi()
    # HTTPError: the Hub client's transport and HTTP errors (no network, DNS, timeouts, refusals); OSError:
    # ConnectionError, offline mode, no token.
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type=repo_type,
            commit_message=f"Upload {folder.name} with emomv-hf",
            ignore_patterns=list(IGNORED_FOR_UPLOAD),  # upload_folder appends to the list it is given
            delete_patterns=REPLACED_ON_PUSH[repo_type],
        )
    except (HTTPError, OSError) as error:
        raise OSError(
            f"cannot upload {folder} to the Hub {repo_type} repository {repo_id!r}: "
            f"{type(error).__name__}: {error}. Check the network and log in with `hf auth login` "
            "(or set HF_TOKEN)."
        ) from error
    return str(getattr(commit, "commit_url", commit))


def push_datasets(output: Any, folders: Sequence[Path]) -> None:
    """With ``--push-to-hub ORG`` (``output``: the scripts' ``DatasetOutputArguments``): upload each built dataset folder as ``ORG/<folder name>`` and print its URL."""
    if not output.push_to_hub:
        return
    for folder in folders:
        repo_id = f"{output.push_to_hub}/{Path(folder).name}"
        url = push_to_hub(folder, repo_id, repo_type="dataset", private=output.private)
        print(f"pushed {folder} to {repo_id}: {url}")
