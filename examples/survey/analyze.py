#!/usr/bin/env python
"""Tables 5-7 and the emotion-agreement rates (paper section 4.2) from the survey's response database.

    python examples/survey/analyze.py --db responses.sqlite [--output-dir DIR] [--complete-only] [--no-plots]

Prints the Markdown tables (the paper's values in brackets) and writes DIR/survey_report.md,
DIR/survey_results.json (counts and exact fractions) and PNG plots; DIR defaults to the database's folder.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from emomv_hf.cli import flag, make_parser, run_script
from emomv_survey.analysis import analyze, format_markdown, write_report
from emomv_survey.store import SurveyStore


@dataclass
class AnalyzeArguments:
    db: str = flag("SQLite database written by serve.py")
    output_dir: str | None = flag("folder of the report (default: the db's)", default=None)
    complete_only: bool = flag("count only participants who answered every sample", default=False)
    plots: bool = flag("write the PNG plots", default=True)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(AnalyzeArguments, prog="analyze.py", description=__doc__.splitlines()[0])
    return run_script(parser, _run, argv, errors=(sqlite3.DatabaseError,))


def _run(args: AnalyzeArguments) -> int:
    store = SurveyStore(args.db, read_only=True)
    results = analyze(store, complete_only=args.complete_only)
    print(format_markdown(results), end="")
    output_dir = Path(args.output_dir) if args.output_dir else store.path.parent
    for path in write_report(results, output_dir, plots=args.plots):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
