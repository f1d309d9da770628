#!/usr/bin/env python
"""Serve the label-validation survey's web form (paper Figure 11); answers go into an SQLite database.

    python examples/survey/serve.py --manifest manifest.json --db responses.sqlite [--host 127.0.0.1] [--port 8000]

Participants open http://HOST:PORT/, enter (or keep) a participant id and answer one page per sample. Restarting
with the same database continues the survey; a database holding another manifest's samples is refused.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from emomv_hf.cli import make_parser, run_script
from emomv_hf.survey import SurveyStore, load_manifest
from emomv_hf.survey.server import make_server


@dataclass
class ServeArguments:
    db: str = field(metadata={"help": "SQLite database of the responses (created when missing)"})
    manifest: str | None = field(
        default=None, metadata={"help": "manifest from sample.py (optional once the database holds it)"}
    )
    host: str = field(
        default="127.0.0.1", metadata={"help": "address to listen on (0.0.0.0: every interface)"}
    )
    port: int = field(default=8000, metadata={"help": "port (0: any free one)"})
    show_segment_ids: bool = field(
        default=False,
        metadata={"help": "show the segment ids under the media too (they can reveal the label)"},
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(ServeArguments, description=__doc__.splitlines()[0])
    parser.prog = "serve.py"
    return run_script(parser, _run, argv, errors=(sqlite3.DatabaseError, OSError))


def _run(args: ServeArguments) -> int:
    store = SurveyStore(args.db)
    if args.manifest:
        store.set_samples(load_manifest(args.manifest))
    server = make_server(store, args.host, args.port, show_segment_ids=args.show_segment_ids)
    print(
        f"survey of {len(server.samples)} samples at {server.url}/ (responses in {store.path}); Ctrl+C stops"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
