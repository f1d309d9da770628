"""What every command-line script of ``dataset_scripts/`` shares: one-line warnings and errors, exit codes,
and the Hub upload options.

An error of a documented kind (bad input files, a missing release, an output folder that would lose files, a
failed upload) ends a script with ``error: <message>`` on stderr and a non-zero exit status instead of a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from emomv_hf.data.release import ReleaseNotFoundError
from emomv_hf.hub import HubUploadError, push_to_hub

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
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
    *,
    errors: tuple[type[BaseException], ...] = (),
) -> int:
    """Parse ``argv`` with ``parser`` and return ``run(args)``'s exit status.

    Warnings print as ``warning: ...`` lines; :data:`SCRIPT_ERRORS` and ``errors`` print as ``error: ...``
    and give :data:`EXIT_ERROR` (:class:`~emomv_hf.data.release.ReleaseNotFoundError`: :data:`EXIT_USAGE`).
    """
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            return run(args)
        except ReleaseNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        except (*SCRIPT_ERRORS, *errors) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_ERROR


def add_dataset_output_arguments(parser: argparse.ArgumentParser, repo_name: str) -> None:
    """``--overwrite`` (replace a dataset folder even when it holds files a build does not write),
    ``--push-to-hub ORG`` (upload as ``ORG/<repo_name>``) and ``--private``."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the output dataset folder even if it holds files the build does not write (they are deleted)",
    )
    parser.add_argument(
        "--push-to-hub", metavar="ORG", help=f"upload as the dataset repository ORG/{repo_name}"
    )
    parser.add_argument("--private", action="store_true", help="create private Hub repositories")


def push_datasets(args: argparse.Namespace, folders: Sequence[Path]) -> None:
    """With ``--push-to-hub ORG``: upload each built dataset folder as ``ORG/<folder name>`` and print its URL."""
    if not args.push_to_hub:
        return
    for folder in folders:
        repo_id = f"{args.push_to_hub}/{Path(folder).name}"
        url = push_to_hub(folder, repo_id, repo_type="dataset", private=args.private)
        print(f"pushed {folder} to {repo_id}: {url}")
