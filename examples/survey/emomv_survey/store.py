"""The survey's SQLite store: the samples shown, the participants and one response per participant and sample.

Nothing is lost or doubled: ``responses`` has ``PRIMARY KEY (participant_id, sample_id)`` and a submission is
an upsert, so a reload, a double click or a resubmitted form updates the one row (``submissions`` counts the
posts, ``created_at`` keeps the first); ``CHECK`` constraints keep ratings in 1-5 and emotions in the taxonomy.
The database runs in WAL mode with a busy timeout, and every call opens its own connection, so any number of
server threads (participants) write at once; a read takes no write lock, and ``read_only`` opens a copy without
write permission (analyze.py). The samples (with their labels and emotions) are stored too, so
that the analysis needs the database only.

A participant's answers are reached on the web only with the participant's token: :meth:`SurveyStore.add_participant`
issues one (``secrets.token_urlsafe``) and stores only its SHA-256, and :meth:`SurveyStore.participant_for_token`
finds the participant again. The participant id is a display name; knowing it gives no access.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, astuple, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from emomv_hf.emotions import EMOTIONS, MATCH_LABELS
from emomv_hf.io_utils import counted

from .sampling import MEDIA_FIELDS, SurveySample

LIKERT_LABELS: tuple[str, ...] = ("Very Poor", "Poor", "Moderate", "Good", "Very Good")
"""The 5-point scale of Figure 11; rating ``r`` is ``LIKERT_LABELS[r - 1]``."""

QUESTIONS: dict[str, str] = {"emotion_match": "Matched in emotions", "alignment": "Aligned in general"}
"""Rating column -> the row label Figure 11 gives the question."""

PARTICIPANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""What a participant id may be (a display name on the form's pages)."""

TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
"""What a participant token may look like (``secrets.token_urlsafe(32)`` gives 43 such characters)."""

_TOKEN_BYTES = 32

_EMOTION_LIST = ", ".join(f"'{emotion}'" for emotion in EMOTIONS)
_LABEL_LIST = ", ".join(f"'{label}'" for label in MATCH_LABELS)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS samples (
    sample_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL UNIQUE,
    dataset TEXT NOT NULL,
    pair_id TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ({_LABEL_LIST})),
    video_segment_id TEXT NOT NULL,
    music_segment_id TEXT NOT NULL,
    video_emotion TEXT NOT NULL CHECK (video_emotion IN ({_EMOTION_LIST})),
    music_emotion TEXT NOT NULL CHECK (music_emotion IN ({_EMOTION_LIST})),
    video_media TEXT,
    music_media TEXT,
    media_root TEXT,
    UNIQUE (dataset, pair_id)
);
CREATE TABLE IF NOT EXISTS participants (
    participant_id TEXT PRIMARY KEY CHECK (length(participant_id) BETWEEN 1 AND 64),
    created_at TEXT NOT NULL,
    token_sha256 TEXT
);
CREATE TABLE IF NOT EXISTS responses (
    participant_id TEXT NOT NULL REFERENCES participants (participant_id),
    sample_id TEXT NOT NULL REFERENCES samples (sample_id),
    emotion_match INTEGER NOT NULL CHECK (emotion_match BETWEEN 1 AND 5),
    alignment INTEGER NOT NULL CHECK (alignment BETWEEN 1 AND 5),
    video_emotion TEXT NOT NULL CHECK (video_emotion IN ({_EMOTION_LIST})),
    music_emotion TEXT NOT NULL CHECK (music_emotion IN ({_EMOTION_LIST})),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submissions INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (participant_id, sample_id)
);
"""

# Columns added after the first release: a database written before them gets them on opening.
_ADDED_COLUMNS = {"samples": {"media_root": "TEXT"}, "participants": {"token_sha256": "TEXT"}}
_INDEXES = "CREATE UNIQUE INDEX IF NOT EXISTS participants_token ON participants (token_sha256);"

_SAMPLE_COLUMNS = [field.name for field in fields(SurveySample)]


class ResponseError(ValueError):
    """A submitted answer is missing or out of range, or names an unknown participant or sample."""


@dataclass(frozen=True)
class Response:
    """One participant's answers for one sample: ratings 1-5 and emotion names (as the participant chose)."""

    participant_id: str
    sample_id: str
    emotion_match: int
    alignment: int
    video_emotion: str
    music_emotion: str
    created_at: str = ""
    updated_at: str = ""
    submissions: int = 1


def token_sha256(token: str) -> str:
    """The hex SHA-256 of a participant token: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SurveyStore:
    """The survey database at ``path``, created with its schema when missing (``create=False``: an error);
    ``read_only``: an existing database opened for reading only (SQLite refuses any write), which needs no write
    permission on it or its folder (a collaborator's copy).

    Raises:
        FileNotFoundError: ``create=False`` or ``read_only``, and there is no file at ``path``.
        sqlite3.DatabaseError: ``path`` is not an SQLite database, or one without the survey's tables (an empty
            one is made a survey database with ``create``).
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True, read_only: bool = False) -> None:
        self.path, self.read_only = Path(path), read_only
        if (read_only or not create) and not self.path.is_file():
            raise FileNotFoundError(f"survey database {self.path} does not exist")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._open()
        try:
            # another program's database is left as it is (no survey tables added, no column, no WAL)
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if (tables or not create) and not {"samples", "participants", "responses"} & tables:
                raise sqlite3.DatabaseError(
                    f"{self.path} is not a survey database (no table samples, participants or responses)"
                )
            if read_only:
                return
            # WAL cannot be switched on inside a transaction; it stays on for the file once set
            if connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                raise OSError(f"{self.path}: SQLite cannot use WAL mode here")
            connection.executescript(SCHEMA)
            for table, columns in _ADDED_COLUMNS.items():
                have = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns.items():
                    if name not in have:
                        connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            connection.executescript(_INDEXES)
        finally:
            connection.close()

    def _open(self) -> sqlite3.Connection:
        target = self.path
        if self.read_only:
            # A folder without write permission cannot take the WAL index (-shm): a database there without a
            # -wal file holds all its rows and is read as immutable (no locks, no index).
            immutable = not os.access(self.path.parent, os.W_OK) and not Path(f"{self.path}-wal").exists()
            target = f"{self.path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
        connection = sqlite3.connect(target, timeout=30.0, isolation_level=None, uri=self.read_only)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A new connection (one per call and thread): one transaction, committed on success, then closed; a
        ``write`` one holds the write lock from its start, a read one only reads (a snapshot in WAL mode)."""
        connection = self._open()
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            with connection:  # commits, or rolls back on any exception
                yield connection
        finally:
            connection.close()

    # Samples

    def set_samples(self, samples: Sequence[SurveySample]) -> None:
        """Store the survey's samples; a database that already holds samples must hold exactly these (same ids,
        order, pairs and labels; media paths and media roots may change), so answers never get attached to
        other pairs."""
        with self.connect(write=True) as connection:
            stored = [dict(row) for row in connection.execute("SELECT * FROM samples ORDER BY position")]

            def key(entry: dict) -> tuple:
                return tuple(entry[name] for name in _SAMPLE_COLUMNS if name not in MEDIA_FIELDS)

            if stored and [key(row) for row in stored] != [key(asdict(sample)) for sample in samples]:
                raise ResponseError(
                    f"{self.path} holds a different survey ({counted(len(stored), 'sample')}, first "
                    f"{stored[0]['sample_id']} = {stored[0]['dataset']} {stored[0]['pair_id']}); use a new "
                    "database for a new manifest"
                )
            connection.executemany(  # a stored sample keeps its row and takes the new media paths
                f"INSERT INTO samples (position, {', '.join(_SAMPLE_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' for _ in _SAMPLE_COLUMNS)}) ON CONFLICT (sample_id) DO UPDATE SET "
                "video_media = excluded.video_media, music_media = excluded.music_media, media_root = excluded.media_root",
                [(position, *astuple(sample)) for position, sample in enumerate(samples)],
            )

    def samples(self) -> list[SurveySample]:
        """The stored samples in survey order (an added column that a read-only older database lacks: its
        default)."""
        with self.connect() as connection:
            rows = connection.execute("SELECT * FROM samples ORDER BY position")
            return [SurveySample(**{k: v for k, v in dict(row).items() if k != "position"}) for row in rows]

    # Participants and responses

    def add_participant(self, participant_id: str) -> str | None:
        """Register ``participant_id`` and return its new token (the only time the token is known: the store
        keeps its SHA-256); ``None``, with no effect, where the id is registered already (its answers stay
        reachable with its own token only; :meth:`issue_token` replaces a lost one)."""
        _check_participant_id(participant_id)
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        with self.connect(write=True) as connection:
            cursor = connection.execute(
                "INSERT INTO participants (participant_id, created_at, token_sha256) VALUES (?, ?, ?) "
                "ON CONFLICT (participant_id) DO NOTHING",
                (participant_id, _now(), token_sha256(token)),
            )
            return token if cursor.rowcount == 1 else None

    def issue_token(self, participant_id: str) -> str:
        """A new token for a registered participant (a lost personal link): the old token stops working."""
        _check_participant_id(participant_id)
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        with self.connect(write=True) as connection:
            cursor = connection.execute(
                "UPDATE participants SET token_sha256 = ? WHERE participant_id = ?",
                (token_sha256(token), participant_id),
            )
            if cursor.rowcount != 1:
                raise ResponseError(f"unknown participant {participant_id!r}")
        return token

    def participant_for_token(self, token: str) -> str | None:
        """The participant whose token this is, or ``None`` (a malformed, unknown or replaced token)."""
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            return None
        with self.connect() as connection:
            row = connection.execute(
                "SELECT participant_id FROM participants WHERE token_sha256 = ?", (token_sha256(token),)
            ).fetchone()
            return row["participant_id"] if row else None

    def submit(
        self,
        participant_id: str,
        sample_id: str,
        emotion_match: int,
        alignment: int,
        video_emotion: str,
        music_emotion: str,
    ) -> Response:
        """Store (or replace) one participant's answers for one sample and return the stored row."""
        for name, value in (("emotion_match", emotion_match), ("alignment", alignment)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
                raise ResponseError(f"{name} must be a rating 1-5, got {value!r}")
        for name, value in (("video_emotion", video_emotion), ("music_emotion", music_emotion)):
            if value not in EMOTIONS:
                raise ResponseError(f"{name} must be one of {', '.join(EMOTIONS)}, got {value!r}")
        now = _now()
        with self.connect(write=True) as connection:
            sample, participant = connection.execute(
                "SELECT (SELECT 1 FROM samples WHERE sample_id = ?), "
                "(SELECT 1 FROM participants WHERE participant_id = ?)",
                (sample_id, participant_id),
            ).fetchone()
            if sample is None:
                raise ResponseError(f"unknown sample {sample_id!r}")
            if participant is None:
                raise ResponseError(f"unknown participant {participant_id!r}")
            connection.execute(
                "INSERT INTO responses (participant_id, sample_id, emotion_match, alignment, video_emotion, "
                "music_emotion, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (participant_id, sample_id) DO UPDATE SET emotion_match = excluded.emotion_match, "
                "alignment = excluded.alignment, video_emotion = excluded.video_emotion, "
                "music_emotion = excluded.music_emotion, updated_at = excluded.updated_at, "
                "submissions = submissions + 1",
                (participant_id, sample_id, emotion_match, alignment, video_emotion, music_emotion, now, now),
            )
            return _response(connection, participant_id, sample_id)

    def response(self, participant_id: str, sample_id: str) -> Response | None:
        with self.connect() as connection:
            return _response(connection, participant_id, sample_id)

    def responses(self, participant_id: str | None = None) -> list[Response]:
        """All responses (of one participant), by participant then survey order."""
        query = (
            "SELECT r.* FROM responses r JOIN samples s USING (sample_id)"
            + (" WHERE r.participant_id = ?" if participant_id is not None else "")
            + " ORDER BY r.participant_id, s.position"
        )
        with self.connect() as connection:
            rows = connection.execute(query, () if participant_id is None else (participant_id,))
            return [Response(**dict(row)) for row in rows]


def _response(connection: sqlite3.Connection, participant_id: str, sample_id: str) -> Response | None:
    row = connection.execute(
        "SELECT * FROM responses WHERE participant_id = ? AND sample_id = ?", (participant_id, sample_id)
    ).fetchone()
    return Response(**dict(row)) if row else None


def _check_participant_id(participant_id: str) -> None:
    if not isinstance(participant_id, str) or not PARTICIPANT_ID.fullmatch(participant_id):
        raise ResponseError(
            f"participant id must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
            f"got {participant_id!r}"
        )
