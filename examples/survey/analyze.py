#!/usr/bin/env python
"""Tables 5-7 and the emotion-agreement rates (paper section 4.2) from the survey's response database.

    python examples/survey/analyze.py --db responses.sqlite [--output-dir DIR] [--complete-only] [--no-plots]

Prints the Markdown tables (the paper's values in brackets) and writes DIR/survey_report.md,
DIR/survey_results.json (counts and exact fractions) and PNG plots; DIR defaults to the database's folder.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from emomv_hf.cli import make_parser, run_script
from emomv_hf.survey.analysis import analyze, format_markdown, write_report
from emomv_hf.survey.store import SurveyStore


@dataclass
class AnalyzeArguments:
    db: str = field(metadata={"help": "SQLite database written by serve.py"})
    output_dir: str | None = field(
        default=None, metadata={"help": "folder of the report (default: the db's)"}
    )
    complete_only: bool = field(
        default=False, metadata={"help": "count only participants who answered every sample"}
    )
    plots: bool = field(default=True, metadata={"help": "write the PNG plots"})


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(AnalyzeArguments, description=__doc__.splitlines()[0])
    parser.prog = "analyze.py"
    return run_script(parser, _run, argv, errors=(sqlite3.DatabaseError,))


def _run(args: AnalyzeArguments) -> int:
    store = SurveyStore(args.db, create=False)
    results = analyze(store, complete_only=args.complete_only)
    print(format_markdown(results), end="")
    output_dir = Path(args.output_dir) if args.output_dir else store.path.parent
    for path in write_report(results, output_dir, plots=args.plots):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
