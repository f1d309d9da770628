"""The survey's SQLite store: upserts, constraints, tokens kept hashed, a different manifest refused, an older
database upgraded, concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace

import pytest

from emomv_survey.store import ResponseError, SurveyStore, token_sha256


def test_submit_is_an_upsert_that_keeps_the_first_timestamp(store: SurveyStore) -> None:
    assert store.add_participant("p1") is not None
    assert store.add_participant("p1") is None  # registering twice is harmless (and gives no token)
    first = store.submit("p1", "S1", 4, 5, "exciting", "sad")
    again = store.submit("p1", "S1", 2, 3, "tense", "relaxing")
    assert len(store.responses()) == 1
    assert (again.emotion_match, again.alignment, again.video_emotion, again.music_emotion) == (
        2,
        3,
        "tense",
        "relaxing",
    )
    assert (
        again.submissions == 2
        and again.created_at == first.created_at
        and again.updated_at >= first.updated_at
    )
    assert store.response("p1", "S1") == again


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("p1", "S1", 0, 3, "sad", "sad"), "emotion_match must be a rating 1-5"),
        (("p1", "S1", 3, 6, "sad", "sad"), "alignment must be a rating 1-5"),
        (("p1", "S1", 3, 3, "angry", "sad"), "video_emotion must be one of"),
        (("p1", "S9", 3, 3, "sad", "sad"), "unknown sample 'S9'"),
        (("nobody", "S1", 3, 3, "sad", "sad"), "unknown participant 'nobody'"),
    ],
)
def test_bad_answers_are_refused(store: SurveyStore, arguments, message) -> None:
    store.add_participant("p1")
    with pytest.raises(ResponseError, match=message):
        store.submit(*arguments)
    assert store.responses() == []


def test_database_constraints_hold_without_the_python_checks(store: SurveyStore) -> None:
    store.add_participant("p1")
    with store.connect() as connection, pytest.raises(sqlite3.IntegrityError):
        connection.execute("INSERT INTO responses VALUES ('p1', 'S1', 7, 3, 'sad', 'sad', 'now', 'now', 1)")
    with store.connect() as connection:
        connection.execute("INSERT INTO responses VALUES ('p1', 'S1', 3, 3, 'sad', 'sad', 'now', 'now', 1)")
    with store.connect() as connection, pytest.raises(sqlite3.IntegrityError, match="UNIQUE|PRIMARY"):
        connection.execute("INSERT INTO responses VALUES ('p1', 'S1', 4, 4, 'sad', 'sad', 'now', 'now', 1)")
    assert len(store.responses()) == 1


@pytest.mark.parametrize("participant", ["", "a b", "x" * 65, "-lead", "p/1"])
def test_participant_ids_are_url_safe(store: SurveyStore, participant: str) -> None:
    with pytest.raises(ResponseError, match="participant id"):
        store.add_participant(participant)


def test_tokens_are_stored_hashed_and_can_be_replaced(store: SurveyStore) -> None:
    token = store.add_participant("p1")
    other = store.add_participant("p2")
    assert len(token) == 43 and token != other
    assert store.participant_for_token(token) == "p1" and store.participant_for_token(other) == "p2"
    for wrong in ("p1", "", token[:-1], token + "x", "x" * 43, token_sha256(token), None):
        assert store.participant_for_token(wrong) is None
    with store.connect() as connection:
        rows = {
            row[0]: row[1]
            for row in connection.execute("SELECT participant_id, token_sha256 FROM participants")
        }
    assert rows == {"p1": token_sha256(token), "p2": token_sha256(other)}
    new = store.issue_token("p1")
    assert store.participant_for_token(new) == "p1" and store.participant_for_token(token) is None
    with pytest.raises(ResponseError, match="unknown participant 'ghost'"):
        store.issue_token("ghost")


def test_a_database_from_before_tokens_is_upgraded(tmp_path, samples) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:  # the first release's tables, with one participant and answer
        connection.executescript(
            "CREATE TABLE participants (participant_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);"
            "INSERT INTO participants VALUES ('old', 'then');"
        )
    store = SurveyStore(path)
    store.set_samples(samples)
    assert store.participant_for_token("x" * 43) is None  # no token matches a participant without one
    store.submit("old", "S1", 3, 3, "sad", "sad")
    assert store.participant_for_token(store.issue_token("old")) == "old"
    assert store.samples() == samples


def test_a_database_from_before_media_roots_is_read_read_only(store: SurveyStore, samples) -> None:
    # read_only opens without the upgrade that adds media_root: samples() asked for the column and failed
    with store.connect(write=True) as connection:
        connection.execute("ALTER TABLE samples DROP COLUMN media_root")
    assert SurveyStore(store.path, read_only=True).samples() == samples


def test_wal_mode_and_reopening(store: SurveyStore, samples) -> None:
    with store.connect() as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = SurveyStore(store.path, create=False)
    moved = replace(samples[0], video_media="/m/x.mp4", media_root="/m")
    reopened.set_samples([moved, *samples[1:]])  # media may change
    assert reopened.samples() == [moved, *samples[1:]]


def test_a_transaction_commits_whole_or_not_at_all(store: SurveyStore) -> None:
    with pytest.raises(RuntimeError), store.connect() as connection:
        connection.execute("INSERT INTO participants (participant_id, created_at) VALUES ('p1', 'now')")
        raise RuntimeError("a failure after the write")
    with store.connect() as connection:
        connection.execute("INSERT INTO participants (participant_id, created_at) VALUES ('p2', 'now')")
    with store.connect() as connection:
        assert [row[0] for row in connection.execute("SELECT participant_id FROM participants")] == ["p2"]


def test_reads_take_no_write_lock(store: SurveyStore, samples) -> None:
    # every call began with BEGIN IMMEDIATE: a read waited for any writer (30 s, then "database is locked")
    store.add_participant("p1")
    writer = store._open()
    writer.execute("BEGIN IMMEDIATE")
    try:
        read: list = []
        reader = threading.Thread(
            target=lambda: read.extend([store.samples(), store.responses()]), daemon=True
        )
        reader.start()
        reader.join(timeout=5)
        assert read == [samples, []]
    finally:
        writer.rollback()
        writer.close()


def test_a_different_manifest_is_refused(store: SurveyStore, samples) -> None:
    with pytest.raises(ResponseError, match="holds a different survey"):
        store.set_samples(list(reversed(samples)))
    with pytest.raises(ResponseError, match="holds a different survey"):
        store.set_samples([replace(samples[0], label="mismatched"), *samples[1:]])


def test_missing_database_without_create(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SurveyStore(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_another_programs_database_is_refused_unchanged(tmp_path, samples) -> None:
    # analyze.py / serve.py --db pointed at another SQLite file added the survey's tables to it and switched it
    # to WAL (and analyze.py reported an empty survey from it)
    for tables in (["notes (x)", "users (name)"], []):
        path = tmp_path / f"other{len(tables)}.sqlite"
        connection = sqlite3.connect(path)
        for table in tables:
            connection.execute(f"CREATE TABLE {table}")
        connection.commit()
        before = connection.execute("SELECT sql FROM sqlite_master").fetchall()
        connection.close()
        for create in (False, True) if tables else (False,):
            with pytest.raises(sqlite3.DatabaseError, match="is not a survey database"):
                SurveyStore(path, create=create)
        connection = sqlite3.connect(path)
        assert connection.execute("SELECT sql FROM sqlite_master").fetchall() == before
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        connection.close()
    SurveyStore(tmp_path / "other0.sqlite").set_samples(samples)  # an empty database becomes a survey


def test_concurrent_participants_and_double_submits(store: SurveyStore, samples) -> None:
    """12 threads: 6 participants, each with two threads posting every answer twice, all at once."""
    participants = [f"p{index}" for index in range(6)]
    barrier = threading.Barrier(2 * len(participants))
    errors: list[BaseException] = []

    def work(participant: str) -> None:
        try:
            barrier.wait()
            store.add_participant(participant)
            for _ in range(2):
                for index, sample in enumerate(samples):
                    store.submit(participant, sample.sample_id, 1 + index % 5, 5 - index % 5, "sad", "tense")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(p,)) for p in participants for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    responses = store.responses()
    assert len(responses) == len(participants) * len(samples)
    assert {(r.participant_id, r.sample_id) for r in responses} == {
        (p, s.sample_id) for p in participants for s in samples
    }
    assert all(r.submissions == 4 for r in responses)
    assert all(
        r.emotion_match == 1 + samples.index(next(s for s in samples if s.sample_id == r.sample_id)) % 5
        for r in responses
    )
