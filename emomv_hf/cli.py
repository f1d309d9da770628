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

from emomv_hf.data.release import ReleaseNotFoundError
from emomv_hf.hub import HubUploadError

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


def add_hub_arguments(parser: argparse.ArgumentParser, repo_name: str) -> None:
    """``--push-to-hub ORG`` (upload as ``ORG/<repo_name>``) and ``--private``."""
    parser.add_argument(
        "--push-to-hub", metavar="ORG", help=f"upload as the dataset repository ORG/{repo_name}"
    )
    parser.add_argument("--private", action="store_true", help="create private Hub repositories")


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    """``--overwrite``: replace an output folder even when it holds files a build does not write."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the output dataset folder even if it holds files the build does not write (they are deleted)",
    )
