"""What every command-line script of ``dataset_scripts/`` shares: arguments parsed into dataclasses by
``transformers.HfArgumentParser`` (as ``examples/``), one-line warnings and errors, exit codes, and the Hub
upload of built dataset folders.

A usage error (an unknown flag, a missing required one, a value a dataclass rejects) prints the usage and one
``error: ...`` line and exits with status 2.

An error of a documented kind (bad input files, a missing release, an output folder that would lose files, a
failed upload) ends a script with ``error: <message>`` on stderr and a non-zero exit status instead of a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser

from emomv_hf.data.arguments import DatasetOutputArguments
from emomv_hf.data.release import ReleaseNotFoundError
from emomv_hf.hub import HubUploadError, push_to_hub
from emomv_hf.training.arguments import make_parser, parse_or_exit

__all__ = [
    "EXIT_ERROR",
    "EXIT_USAGE",
    "SCRIPT_ERRORS",
    "DatasetOutputArguments",
    "make_parser",
    "push_datasets",
    "run_script",
]

EXIT_ERROR = 1
"""Exit status of a run that failed on its inputs or outputs."""

EXIT_USAGE = 2
"""Exit status of a run that was not told what to work on (as argparse's usage errors)."""

SCRIPT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # ReleaseFormatError, UnreadableFileError, DegenerateDatasetError, bad option values
    FileNotFoundError,  # missing inputs, MissingReleaseFilesError, MissingWeightsError
    FileExistsError,  # UnexpectedFilesError: the output folder holds files a build would delete
    HubUploadError,
)
"""The package's documented error types that a script reports in one line."""


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One line per warning ("warning: release file missing ...") instead of Python's source-line format.
    print(f"warning: {message}", file=sys.stderr)


def run_script(
    parser: HfArgumentParser,
    run: Callable[..., int],
    argv: Sequence[str] | None = None,
    *,
    errors: tuple[type[BaseException], ...] = (),
) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) into ``parser``'s dataclasses and return ``run(*dataclasses)``'s
    exit status.

    Usage errors, a value a dataclass's ``__post_init__`` rejects included, exit with :data:`EXIT_USAGE` and
    one ``error:`` line (:func:`~emomv_hf.training.arguments.parse_or_exit`). Warnings print as
    ``warning: ...`` lines; :data:`SCRIPT_ERRORS` and ``errors`` print as ``error: ...`` and give
    :data:`EXIT_ERROR` (:class:`~emomv_hf.data.release.ReleaseNotFoundError`: :data:`EXIT_USAGE`).
    """
    arguments: tuple[Any, ...] = parse_or_exit(parser, list(argv) if argv is not None else None)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            return run(*arguments)
        except ReleaseNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        except (*SCRIPT_ERRORS, *errors) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_ERROR


def push_datasets(output: DatasetOutputArguments, folders: Sequence[Path]) -> None:
    """With ``--push-to-hub ORG``: upload each built dataset folder as ``ORG/<folder name>`` and print its URL."""
    if not output.push_to_hub:
        return
    for folder in folders:
        repo_id = f"{output.push_to_hub}/{Path(folder).name}"
        url = push_to_hub(folder, repo_id, repo_type="dataset", private=output.private)
        print(f"pushed {folder} to {repo_id}: {url}")
