#!/usr/bin/env python
"""Serve the label-validation survey's web form (paper Figure 11); answers go into an SQLite database.

    python examples/survey/serve.py --manifest manifest.json --db responses.sqlite [--host 127.0.0.1] [--port 8000]
                                    [--request-timeout 10]
    python examples/survey/serve.py --db responses.sqlite --new-link PARTICIPANT

Participants open http://HOST:PORT/, enter (or keep) a participant id and get a personal link (an unguessable
token in the address) under which they answer one page per sample; they continue later with that link only, so
knowing an id gives no access to its answers. ``--new-link`` prints a new personal link for a participant who
lost theirs (the old one stops working) and exits. Restarting with the same database continues the survey; a
database holding another manifest's samples is refused. Media are served only from inside each sample's media
folder (see SECURITY.md).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from emomv_hf.cli import check_flags, flag, make_parser, run_script
from emomv_hf.io_utils import counted
from emomv_survey.sampling import MediaError, load_manifest, resolve_media
from emomv_survey.server import DEFAULT_REQUEST_TIMEOUT, SurveyServer
from emomv_survey.store import SurveyStore


@dataclass
class ServeArguments:
    db: str = flag("SQLite database of the responses (created with --manifest when missing)")
    manifest: str | None = flag("manifest from sample.py (optional once the database holds it)", default=None)
    host: str = flag("address to listen on (0.0.0.0: every interface)", default="127.0.0.1")
    port: int = flag("port (0: any free one)", default=8000)
    request_timeout: float = flag(
        "seconds a silent connection is kept before it is closed", default=DEFAULT_REQUEST_TIMEOUT
    )
    new_link: str | None = flag(
        "print a new personal link for this participant id (the old one stops working), exit", default=None
    )

    def __post_init__(self) -> None:
        check_flags({"request_timeout": (self.request_timeout > 0, "positive seconds")}, self)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(ServeArguments, prog="serve.py", description=__doc__.splitlines()[0])
    return run_script(parser, _run, argv, errors=(sqlite3.DatabaseError, OSError))


def _run(args: ServeArguments) -> int:
    if args.new_link:
        store = SurveyStore(args.db, create=False)
        token = store.issue_token(args.new_link)
        print(
            f"personal link of {args.new_link}: http://{args.host}:{args.port}/p/{token}/1 (on the address the"
        )
        print("survey is served at; the participant's previous link no longer works)")
        return 0
    # the manifest is read first, and only a manifest creates a database: no empty one is left behind
    samples = load_manifest(args.manifest) if args.manifest else None
    store = SurveyStore(args.db, create=samples is not None)
    if samples:
        store.set_samples(samples)
    server = SurveyServer(store, args.host, args.port, request_timeout=args.request_timeout)
    for sample in server.samples:  # the server checks again at every request; say now what it will refuse
        for kind in ("video", "music"):
            media = getattr(sample, f"{kind}_media")
            if media:
                try:
                    if not sample.media_root:
                        raise MediaError(f"{media} has no media root (draw the manifest again)")
                    resolve_media(sample.media_root, media)
                except MediaError as error:
                    print(f"warning: {sample.sample_id} {kind} will not be served: {error}")
    print(
        f"survey of {counted(len(server.samples), 'sample')} at {server.url}/ (responses in {store.path}); Ctrl+C stops"
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
