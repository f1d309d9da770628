"""What every command-line script (``dataset_scripts/``, ``examples/``, ``benchmarks/``) shares: arguments parsed
into dataclasses by ``transformers.HfArgumentParser`` (each field a flag, ``--output-dir`` or ``--output_dir``; a
value a dataclass rejects is a usage error naming its flag), one-line warnings and errors, and exit codes.

This module imports nothing of the package (it is the lowest layer), so every ``*Arguments`` module may use
:func:`flag` and :func:`check_flags` without importing upwards; an error type tells :func:`run_script` its
exit status through an ``exit_status`` attribute instead of this module importing it. An error of a documented
kind ends a script with one ``error:`` line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import MISSING, field
from typing import Any

from transformers import HfArgumentParser

EXIT_ERROR = 1
"""Exit status of a run that failed on its inputs or outputs."""


def flag(help: str, default: Any = MISSING, metavar: str | None = None) -> Any:
    """A dataclass field that :func:`make_parser` turns into a flag (no ``default``: a required one)."""
    return field(default=default, metadata={"help": help} | ({"metavar": metavar} if metavar else {}))


def check_flags(checks: dict[str, tuple[bool, str]], values: object) -> None:
    """Raise ValueError naming the flag of the first field whose check fails: ``checks`` maps a field name to
    ``(ok, what it must be)``; the message quotes the field's value in ``values``."""
    for name, (ok, expected) in checks.items():
        if not ok:
            raise ValueError(f"--{name.replace('_', '-')} must be {expected}, got {getattr(values, name)!r}")


class _DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: VALUE)`` to a flag's help unless the help already says what its default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help = action.help or ""
        return help if "(default:" in help else super()._get_help_string(action)


def make_parser(
    *dataclass_types: type, prog: str | None = None, description: str | None = None
) -> HfArgumentParser:
    """`HfArgumentParser` over the dataclasses, with a help text of its own for every `--no-FLAG` switch;
    ``prog`` names the script in usage and error lines (default: ``sys.argv[0]``'s name)."""
    parser = HfArgumentParser(
        dataclass_types, prog=prog, description=description, formatter_class=_DefaultsHelpFormatter
    )
    for action in parser._actions:
        if action.option_strings and action.option_strings[0].startswith("--no_"):
            positive = action.option_strings[0][len("--no_") :].replace("_", "-")
            action.help = f"Turn off --{positive}."
    return parser


def parse_or_exit(parser: HfArgumentParser, argv: list[str] | None = None) -> tuple[Any, ...]:
    """Parse `argv` into the parser's dataclasses; a value a dataclass rejects exits with one line (status 2)."""
    if argv is None:
        # This process is the command (Python callers pass argv). At exit, Python's finalization walks every object
        # with the cyclic collector, several times (about 1.4 s after torch and transformers here); frozen, they are
        # left to the operating system. Nothing a command writes is still open then (atomic writes, closed files).
        atexit.register(gc.freeze)
    try:
        parsed = parser.parse_args_into_dataclasses(args=argv)  # None: sys.argv[1:]
    except ValueError as error:
        parser.error(str(error))
    # A shell leaves ``--output-dir=~/x`` (or a quoted ``~/x``) as it is; a path flag means the home folder, not a
    # folder named ``~`` (no Hub id or other value starts with it).
    for values in parsed:
        for name, value in vars(values).items():
            if isinstance(value, str) and value.startswith("~"):
                setattr(values, name, os.path.expanduser(value))
    return parsed


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

    Usage errors, a value a dataclass's ``__post_init__`` rejects included, exit with status 2 and one ``error:``
    line (:func:`parse_or_exit`). Warnings print as ``warning: ...`` lines; the package's documented errors and
    ``errors`` print as ``error: ...`` and give the error's ``exit_status`` if it has one (a missing release: 2),
    else :data:`EXIT_ERROR`.
    """
    arguments: tuple[Any, ...] = parse_or_exit(parser, list(argv) if argv is not None else None)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            return run(*arguments)
        # The package's documented errors: ValueError (ReleaseFormatError, unreadable CSV files, bad option values...)
        # and OSError (missing inputs, MissingReleaseFilesError, missing extractor weights, UnexpectedFilesError: the
        # output folder holds files a build would delete, failed Hub uploads, unreadable or unwritable files).
        except (ValueError, OSError, *errors) as error:
            print(f"error: {error}", file=sys.stderr)
            return getattr(error, "exit_status", EXIT_ERROR)
