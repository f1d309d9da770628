"""Uploading finished runs to the Hugging Face Hub."""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import HfApi

# Training states are for resuming here, not for the Hub repository.
IGNORED_FOR_UPLOAD = ["checkpoints/*", ".*"]


def push_folder_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    repo_type: str = "model",
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload EmoMV model",
    api: HfApi | None = None,
) -> str:
    """Create ``repo_id`` if needed and upload ``folder``; returns the commit URL."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"nothing to upload: {folder} is not a folder")
    api = api or HfApi(token=token)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type=repo_type,
        commit_message=commit_message,
        ignore_patterns=IGNORED_FOR_UPLOAD,
    )
    return str(getattr(commit, "commit_url", commit))
