"""The survey's web form (paper Figure 11), served by the standard library's threading HTTP server.

One page per sample, in manifest order: the video with its music (the video muted, the music segment's audio
played in step with it under one set of controls, so a mismatched pair shows one segment's pictures with
another's music), two 5-point Likert questions ("Matched in emotions", "Aligned in general") and the emotion the
video and the music convey. Where the manifest has no media the page says so with neutral labels ("Video clip
3", "Music clip 3": the sample's number), never the segment ids, which give the answer away (a matched pair's
two ids are the same). A submission is stored by :meth:`SurveyStore.submit` (an upsert) and answered with a
redirect to the next sample (post/redirect/get), so a reload never posts again; a page shows the stored answers
when revisited. The routes are in ``_ROUTES``.

Security (see SECURITY.md): a participant registers an id (a display name) at ``/start`` and gets an
unguessable token (``secrets.token_urlsafe``; the store keeps its SHA-256 only); every participant page is
under ``/p/<token>/``, which is the participant's personal link, so knowing an id reads or changes nothing.
Media are served only when they are regular files inside the sample's media root once symlinks are resolved,
checked at every request and opened as checked (``_open_media``: no symlink followed after the check).
Requests are read with a socket timeout (``request_timeout``, 10 s by default), bodies are bounded (64 KiB:
413 beyond), a malformed ``Content-Length``, a body that is not UTF-8 form data or one shorter than declared
is answered 400 (or the connection is closed at the timeout), and nothing a client sends makes the server
print a traceback.
"""

from __future__ import annotations

import html
import mimetypes
import os
import re
import secrets
import stat
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

from emomv_hf.emotions import EMOTIONS
from emomv_hf.io_utils import counted

from .sampling import MediaError, SurveySample, resolve_media
from .store import LIKERT_LABELS, PARTICIPANT_ID, QUESTIONS, ResponseError, SurveyStore

EMOTION_CHOICES: dict[str, str] = {
    "exciting": "Exciting",
    "fearful": "Fear",
    "tense": "Tension",
    "sad": "Sadness",
    "relaxing": "Relaxation",
}
"""Canonical emotion -> the column heading Figure 11 gives it."""

ANSWER_LABELS: dict[str, str] = {
    **QUESTIONS,
    "video_emotion": "Video emotion",
    "music_emotion": "Music emotion",
}
"""A submission's fields (:meth:`SurveyStore.submit`'s answers) -> how an error names a missing one."""

_MAX_BODY = 64 * 1024
_MAX_FIELDS = 32

DEFAULT_REQUEST_TIMEOUT = 10.0
"""Seconds a connection may stay silent (while sending its request or body) before the server closes it."""

_TOKEN_PATH = re.compile(r"/p/[^/\s]+")

_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # the page URL holds the participant's token
    (
        "Content-Security-Policy",  # no framing (clickjacking), no plugins, forms post back here only
        "frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'",
    ),
)

_ROUTES = (
    ("GET", r"/", "_start_page"),
    ("GET", r"/healthz", "_health"),
    ("GET", r"/media/([^/]+)/(video|music)", "_media"),  # files the manifest names only, with range requests
    ("GET", r"/p/([^/]+)/done", "_done"),
    # /p/<token>/<n>: sample n (from 1) of the token's participant; int() refuses over 4300 digits
    ("GET", r"/p/([^/]+)/([0-9]{1,9})", "_sample_page"),
    ("POST", r"/start", "_start"),  # register a participant id: a redirect to the personal link
    ("POST", r"/p/([^/]+)/([0-9]{1,9})", "_submit"),
)
"""(method, path pattern, handler): the handler gets the pattern's groups (and a POST's form); HEAD is GET."""


class _HTTPError(Exception):
    """A request answered with ``status`` and an error page: the message is shown to the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_STATIC = Path(__file__).resolve().parent / "static"
_STYLE = (_STATIC / "survey.css").read_text(encoding="utf-8")
_PLAYER_SCRIPT = f"<script>{(_STATIC / 'player.js').read_text(encoding='utf-8')}</script>"
_SUBMIT_ONCE = f"<script>{(_STATIC / 'submit_once.js').read_text(encoding='utf-8')}</script>"


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    ).encode()


class SurveyServer(ThreadingHTTPServer):
    """A threading HTTP server (one thread per request) of ``store``'s survey on ``host:port`` (port 0: any free
    port; see :attr:`url`); ``request_timeout``: seconds a silent connection is kept."""

    daemon_threads = True
    # socketserver's default backlog (5) resets connections when a class starts at once
    request_queue_size = 128

    def __init__(
        self,
        store: SurveyStore,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        if not request_timeout > 0:
            raise ValueError(f"request_timeout must be positive seconds, got {request_timeout!r}")
        self.store = store
        self.request_timeout = float(request_timeout)
        self.samples: list[SurveySample] = store.samples()
        if not self.samples:
            raise ResponseError(f"{store.path} holds no samples: load a manifest into it first")
        self.by_id = {sample.sample_id: sample for sample in self.samples}
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request, client_address) -> None:
        """A request that failed unexpectedly: one line on stderr (a full traceback with ``EMOMV_SURVEY_LOG``);
        a client that went away or went silent is not an error."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        if os.environ.get("EMOMV_SURVEY_LOG"):
            traceback.print_exc()
        else:
            print(
                f"survey: a request from {client_address[0]} failed: {type(error).__name__}: {error}",
                file=sys.stderr,
            )


class _Handler(BaseHTTPRequestHandler):
    server: SurveyServer
    protocol_version = "HTTP/1.1"

    @property
    def timeout(self) -> float:  # read by StreamRequestHandler.setup: the socket timeout of every read
        return self.server.request_timeout

    def log_message(self, format: str, *args) -> None:  # quiet by default (EMOMV_SURVEY_LOG: log requests)
        if os.environ.get("EMOMV_SURVEY_LOG"):  # tokens are credentials: never in the log
            super().log_message(format, *(_TOKEN_PATH.sub("/p/<token>", str(arg)) for arg in args))

    # Responses

    def _send_head(self, status: int, content_type: str, length: int, headers=()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (*headers, *_SECURITY_HEADERS):
            self.send_header(name, value)
        self.end_headers()

    def _send(
        self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8", headers=()
    ) -> None:
        self._send_head(status, content_type, len(body), [("Cache-Control", "no-store"), *headers])
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", headers=[("Location", location)])

    def _error(self, status: int, message: str) -> None:
        body = f"<h1>{status} {HTTPStatus(status).phrase}</h1><p class='error'>{html.escape(message)}</p>"
        body += "<p><a href='/'>Start page</a></p>"
        self._send(status, _page(HTTPStatus(status).phrase, body))

    # Routing

    def do_GET(self) -> None:
        """Every method (HEAD and POST too): the handler of the path's route (``_ROUTES``), or an error page."""
        path = urlsplit(self.path).path
        method = "POST" if self.command == "POST" else "GET"
        if method == "GET" and (self.headers.get("Transfer-Encoding") or self.headers.get("Content-Length")):
            # A body no route reads: behind a proxy that reuses connections, it would be parsed as the next request
            # (one smuggled past the proxy). Answer, then close.
            self.close_connection = True
        try:
            form = [self._read_form()] if method == "POST" else []
        except _HTTPError as error:
            self.close_connection = True  # whatever is left of the body must not be read as a request
            return self._error(error.status, str(error))
        except (TimeoutError, ConnectionError):  # a body shorter than declared, or a client gone
            self.close_connection = True
            return
        try:
            for route_method, pattern, handler in _ROUTES:
                if route_method == method and (match := re.fullmatch(pattern, path)):
                    return getattr(self, handler)(*match.groups(), *form)
            raise _HTTPError(HTTPStatus.NOT_FOUND, f"no page {path}")
        except _HTTPError as error:
            self._error(error.status, str(error))

    do_HEAD = do_POST = do_GET

    def _read_form(self) -> dict[str, str]:
        """The url-encoded form in the body: at most ``_MAX_BODY`` bytes of UTF-8, read with the socket timeout
        (a silent client raises ``TimeoutError``)."""
        if self.headers.get("Transfer-Encoding"):
            raise _HTTPError(HTTPStatus.LENGTH_REQUIRED, "send the form with a Content-Length, not chunked")
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise _HTTPError(HTTPStatus.LENGTH_REQUIRED, "a form needs a Content-Length header")
        if len(set(lengths)) != 1 or not re.fullmatch(r"[0-9]{1,18}", lengths[0].strip()):
            raise _HTTPError(HTTPStatus.BAD_REQUEST, "malformed Content-Length header")
        length = int(lengths[0])
        if length > _MAX_BODY:
            raise _HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form too large")
        body = self.rfile.read(length)
        if len(body) != length:
            raise _HTTPError(HTTPStatus.BAD_REQUEST, "the body is shorter than its Content-Length")
        try:
            # errors="strict": a %-escape that is not UTF-8 raises too (parse_qs replaces it by default)
            fields = parse_qs(
                body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=_MAX_FIELDS
            )
        except UnicodeDecodeError:
            raise _HTTPError(HTTPStatus.BAD_REQUEST, "the form is not UTF-8") from None
        except ValueError:
            raise _HTTPError(HTTPStatus.BAD_REQUEST, "malformed form") from None
        return {key: values[-1] for key, values in fields.items()}

    # Pages

    def _health(self) -> None:
        self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")

    def _start_page(self, error: str = "", value: str = "", status: int = HTTPStatus.OK) -> None:
        suggestion = value or f"p-{secrets.token_hex(4)}"
        body = (
            "<div class='card'><h1>Music video emotion survey</h1>"
            f"<p>You will watch {counted(len(self.server.samples), 'short music video sample')} and, for each, rate how well "
            "its music and video match in emotions and in general, and say which emotion each conveys.</p>"
            + (f"<p class='error' id='error'>{html.escape(error)}</p>" if error else "")
            + "<form method='post' action='/start'><label>Participant id "
            f"<input name='participant' value='{html.escape(suggestion)}' required pattern='{PARTICIPANT_ID.pattern}' "
            "maxlength='64'></label> <button type='submit'>Start</button></form>"
            "<p><small>Starting gives you a personal link (the address of your survey pages): keep it (bookmark "
            "it) to continue later, and do not share it: anyone with it can see and change your answers. Your "
            "answers are saved per sample.</small></p></div>"
        )
        self._send(status, _page("EmoMV survey", body))

    def _start(self, form: dict[str, str]) -> None:
        participant = form.get("participant", "").strip()
        try:
            token = self.server.store.add_participant(participant)
        except ResponseError as error:
            return self._start_page(str(error), participant, HTTPStatus.BAD_REQUEST)
        if token is None:
            return self._start_page(
                f"participant id {participant!r} is taken. If it is yours, continue with your personal link (the "
                "address of your survey pages; the organiser can give you a new one); otherwise choose another id.",
                "",
                HTTPStatus.CONFLICT,
            )
        self._redirect(f"/p/{token}/1")

    def _participant(self, token: str) -> str:
        """The participant of ``token`` (a 404, the same for any wrong token, otherwise)."""
        participant = self.server.store.participant_for_token(token)  # None for a malformed token too
        if participant is None:
            raise _HTTPError(
                HTTPStatus.NOT_FOUND,
                "no such participant link: start from the start page, or use the personal link you were given",
            )
        return participant

    def _sample(self, token: str, number: str) -> tuple[str, int, SurveySample]:
        """The participant of ``token``, and sample ``number`` (from 1) as an int and a sample."""
        participant, samples, index = self._participant(token), self.server.samples, int(number)
        if not 1 <= index <= len(samples):
            raise _HTTPError(HTTPStatus.NOT_FOUND, f"no sample {index} (the survey has {len(samples)})")
        return participant, index, samples[index - 1]

    def _sample_page(self, token: str, number: str) -> None:
        participant, index, sample = self._sample(token, number)
        stored = self.server.store.response(participant, sample.sample_id)
        values = {name: str(getattr(stored, name)) for name in ANSWER_LABELS} if stored else {}
        self._send_sample(token, participant, index, sample, values)

    def _media_block(self, sample: SurveySample, number: int) -> str:
        sid = quote(sample.sample_id, safe="")  # one path segment, even with a '/' in the id
        parts = []
        if sample.video_media:
            parts.append(
                f"<video id='video' preload='auto' playsinline muted src='/media/{sid}/video'></video>"
            )
        if sample.music_media:
            parts.append(f"<audio id='music' preload='auto' src='/media/{sid}/music'></audio>")
        if sample.video_media or sample.music_media:
            volume = (
                "<label>Volume <input type='range' id='volume' min='0' max='1' step='0.05' value='1'></label>"
                if sample.music_media
                else ""
            )
            parts.append(
                "<div class='controls'><button type='button' id='play'>Play</button>"
                "<input type='range' id='seek' min='0' max='1000' value='0' aria-label='Position'>"
                f"<span id='time'>0:00 / 0:00</span>{volume}</div>{_PLAYER_SCRIPT}"
            )
        # Only the sample's number names what is missing: anything derived from the segment ids or emotions could
        # give the label away (a matched pair's video and music ids are the same).
        missing = [
            f"{kind} clip {number}"
            for kind, media in (("Video", sample.video_media), ("Music", sample.music_media))
            if not media
        ]
        if missing:
            parts.append(f"<p class='nomedia'>No media file in this survey for {' and '.join(missing)}.</p>")
        return "".join(parts)

    def _send_sample(
        self,
        token: str,
        participant: str,
        number: int,
        sample: SurveySample,
        values: dict[str, str],
        error: str = "",
        status: int = HTTPStatus.OK,
    ) -> None:
        """Sample ``number``'s page, its answers checked as in ``values`` (field -> value), with ``error`` shown."""
        total = len(self.server.samples)

        def radio_rows(rows: dict[str, str], choices: list[tuple[str, str]]) -> str:
            header = "".join(f"<th>{html.escape(label)}</th>" for _, label in choices)
            lines = [f"<tr><th></th>{header}</tr>"]
            for name, label in rows.items():
                cells = "".join(
                    f"<td><input type='radio' name='{name}' value='{value}' aria-label='{html.escape(label)}: "
                    f"{html.escape(choice)}' required{' checked' if values.get(name) == value else ''}></td>"
                    for value, choice in choices
                )
                lines.append(f"<tr data-question='{name}'><td>{html.escape(label)}</td>{cells}</tr>")
            return f"<table class='grid'>{''.join(lines)}</table>"

        likert = radio_rows(
            dict(QUESTIONS), [(str(index), label) for index, label in enumerate(LIKERT_LABELS, 1)]
        )
        emotions = radio_rows(
            {"video_emotion": "Video", "music_emotion": "Music"},
            [(name, EMOTION_CHOICES[name]) for name in EMOTIONS],
        )
        back = f"<a href='/p/{token}/{number - 1}'>Back</a>" if number > 1 else "<span></span>"
        body = (
            f"<p>Participant <b id='participant'>{html.escape(participant)}</b> · sample {number} of {total}</p>"
            + (_personal_link(token) if number == 1 else "")
            + f"<div class='card'><h2>Sample {html.escape(sample.sample_id)}</h2>"
            f"<p>Sample ID: <span id='sample-id'>{html.escape(sample.sample_id)}</span></p>"
            f"{self._media_block(sample, number)}</div>"
            + (f"<p class='error' id='error'>{html.escape(error)}</p>" if error else "")
            + f"<form class='sample' method='post' action='/p/{token}/{number}'>"
            f"<input type='hidden' name='sample_id' value='{html.escape(sample.sample_id)}'>"
            "<div class='card'><p>How well do you think that the music and video in this sample match in terms of "
            f"emotions as well as their alignment? <span class='required'>*</span></p>{likert}</div>"
            "<div class='card'><p>Which emotions are the music and video conveying in this sample? "
            f"<span class='required'>*</span></p>{emotions}</div>"
            f"<nav>{back}<button type='submit'>{'Next' if number < total else 'Submit'}</button></nav>"
            f"</form>{_SUBMIT_ONCE}"
        )
        self._send(status, _page(f"Sample {sample.sample_id}", body))

    def _submit(self, token: str, number: str, form: dict[str, str]) -> None:
        participant, index, sample = self._sample(token, number)
        if form.get("sample_id") != sample.sample_id:
            raise _HTTPError(
                HTTPStatus.CONFLICT,
                f"this form was for sample {form.get('sample_id')!r}, but sample {index} is {sample.sample_id!r}",
            )
        missing = [label for name, label in ANSWER_LABELS.items() if not form.get(name)]
        if missing:
            error = f"Please answer: {', '.join(missing)}."
            return self._send_sample(token, participant, index, sample, form, error, HTTPStatus.BAD_REQUEST)
        try:
            answers = {name: int(form[name]) if name in QUESTIONS else form[name] for name in ANSWER_LABELS}
            self.server.store.submit(participant, sample.sample_id, **answers)
        except ValueError as error:  # ResponseError too
            return self._send_sample(
                token, participant, index, sample, form, str(error), HTTPStatus.BAD_REQUEST
            )
        self._redirect(f"/p/{token}/{index + 1 if index < len(self.server.samples) else 'done'}")

    def _done(self, token: str) -> None:
        participant = self._participant(token)
        answered = {response.sample_id for response in self.server.store.responses(participant)}
        open_samples = [
            f"<li><a href='/p/{token}/{n}'>Sample {html.escape(sample.sample_id)}</a></li>"
            for n, sample in enumerate(self.server.samples, 1)
            if sample.sample_id not in answered
        ]
        total = len(self.server.samples)
        body = (
            f"<div class='card'><h1>Thank you!</h1><p id='progress'>{len(answered)} of {counted(total, 'sample')} answered.</p>"
            + (f"<p>Still open:</p><ul>{''.join(open_samples)}</ul>" if open_samples else "")
            + f"<p><a href='/p/{token}/1'>Review your answers</a></p>{_personal_link(token)}</div>"
        )
        self._send(HTTPStatus.OK, _page("Thank you", body))

    def _media(self, sample_id: str, kind: str) -> None:
        sample_id = unquote(sample_id)  # as _media_block quoted it
        sample = self.server.by_id.get(sample_id)
        media = getattr(sample, f"{kind}_media", None) if sample else None
        not_found = _HTTPError(HTTPStatus.NOT_FOUND, f"no {kind} file for sample {sample_id!r}")
        if not media or not sample.media_root:
            raise not_found
        # Checked at every request: a regular file inside the sample's media root once links are resolved.
        try:
            path, file = _open_media(sample.media_root, media)
        except (MediaError, OSError, ValueError):
            raise not_found from None
        with file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise not_found
            self._send_file(file, path, info.st_size)

    def _send_file(self, file, path: Path, size: int) -> None:
        start, end, status, headers = 0, size - 1, HTTPStatus.OK, [("Accept-Ranges", "bytes")]
        # One range, "first-[last]" or "-suffix" (RFC 9110 14.1.1); anything else is ignored (a 200), as is an
        # invalid last < first, and a number of more digits than any file size (int() refuses over 4300).
        match = re.fullmatch(
            r"bytes=(?:([0-9]{1,18})-([0-9]{0,18})|-([0-9]{1,18}))", self.headers.get("Range", "").strip()
        )
        if match and not (match[2] and int(match[2]) < int(match[1])):
            if match[1]:
                start = int(match[1])
                end = min(int(match[2]), size - 1) if match[2] else size - 1
            else:
                start = max(size - int(match[3]), 0)
            if start >= size:  # past the end, or an empty suffix: unsatisfiable
                return self._send(
                    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                    b"",
                    headers=[("Content-Range", f"bytes */{size}")],
                )
            status = HTTPStatus.PARTIAL_CONTENT
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        length = end - start + 1
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send_head(status, content_type, length, headers)
        if self.command == "HEAD":
            return
        try:
            self.connection.sendfile(file, start, length)
        except (ConnectionError, TimeoutError):  # the browser dropped a range it no longer needs
            self.close_connection = True


def _open_media(root: str, media: str) -> tuple[Path, BinaryIO]:
    """``media`` checked by :func:`resolve_media` and opened as checked: the resolved path walked from a
    descriptor of the media root one name at a time, none of them followed if it is a symlink (``O_NOFOLLOW``).
    Opening the path in a second step followed a file or folder swapped for a symlink after the check out of the
    root. ``O_NONBLOCK``: a FIFO swapped in is opened without waiting for a writer (and refused by fstat).

    Raises:
        MediaError: the check failed. OSError: a name on the path changed since (ELOOP for a symlink).
        ValueError: the media root resolves elsewhere than it did a moment before.
    """
    folder = Path(root).resolve()
    names = resolve_media(folder, media).relative_to(folder).parts
    flags = os.O_RDONLY | os.O_NOFOLLOW
    descriptor = os.open(folder, flags | os.O_DIRECTORY)
    try:
        for index, name in enumerate(names, 1):
            parent = descriptor
            last = index == len(names)
            descriptor = os.open(name, flags | (os.O_NONBLOCK if last else os.O_DIRECTORY), dir_fd=parent)
            os.close(parent)
    except BaseException:
        os.close(descriptor)
        raise
    return folder.joinpath(*names), os.fdopen(descriptor, "rb")


def _personal_link(token: str) -> str:
    return (
        f"<p class='link'><small>Your personal link: <a id='personal-link' href='/p/{token}/1'>this survey's "
        "page 1</a>. Bookmark it to continue later; anyone with it can see and change your answers.</small></p>"
    )
