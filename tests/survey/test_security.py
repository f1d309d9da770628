"""Issue 24's attacks on the survey, each against a server the test starts on 127.0.0.1 (or the CLI), and what
held before it (binding, traversal, XSS, SQL injection, 413, many participants, ``kill -9``).

Findings: a symlink out of the media folder was served; the participant id was the only credential; a
``Content-Length`` of ``abc`` or ``-1``, a body shorter than declared or not UTF-8 hung a thread or printed a
traceback. Every socket here has a timeout and every loop a bound.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from emomv_survey.sampling import load_manifest, resolve_media
from emomv_survey.server import SurveyServer
from emomv_survey.store import SurveyStore

from .helpers import REPO_ROOT, load_script, make_samples, request, serve

ANSWER = {"emotion_match": "4", "alignment": "2", "video_emotion": "sad", "music_emotion": "tense"}
HOST = "127.0.0.1"


def _serve(store: SurveyStore):
    server = serve(store)
    assert server.server_address[0] == HOST
    server.request_timeout = 1.0  # read by each new connection: the short-body test waits this long
    return server


def _media_of_s1(store: SurveyStore) -> list[tuple[int, bytes]]:
    """Status and body of ``GET /media/S1/video`` and ``/music`` from a server started on ``store``."""
    server = _serve(store)
    try:
        return [request(server, "GET", f"/media/S1/{kind}")[::2] for kind in ("video", "music")]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(store: SurveyStore):
    survey = _serve(store)
    yield survey
    survey.shutdown()
    survey.server_close()


def raw(server, data: bytes, *, wait: float = 5.0) -> tuple[bytes, float]:
    """Send ``data`` on a raw socket kept open, and return what the server answers until it closes the
    connection, the response is complete or ``wait`` seconds pass, and the seconds that took."""
    began = time.monotonic()
    with socket.create_connection((HOST, server.server_address[1]), timeout=wait) as client:
        client.sendall(data)
        received = b""
        try:
            while len(received) < 1_000_000:
                chunk = client.recv(65536)
                if not chunk:
                    break
                received += chunk
                if b"\r\n\r\n" in received and _complete(received):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return received, time.monotonic() - began


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def status_of(response: bytes) -> int | None:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.") else None


def post_head(path: str, length: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def participants(store: SurveyStore) -> list[str]:
    with sqlite3.connect(store.path) as connection:
        return [row[0] for row in connection.execute("SELECT participant_id FROM participants")]


def register(server, participant: str) -> str:
    """Register at /start as a browser would and return the path of page 1 the server sends the participant to."""
    status, headers, _ = request(server, "POST", "/start", {"participant": participant})
    assert status == 303
    return headers["Location"]


# Finding 5: media that leave the media folder


def test_sampling_refuses_a_symlink_out_of_the_media_folder(emomv_c_dir, tmp_path, capsys) -> None:
    """A link in the media folder to /etc/passwd: sample.py stops with one line naming it (it was drawn)."""
    from emomv_survey.sampling import draw_samples, find_media, read_pairs

    pairs = read_pairs(emomv_c_dir, ["validation"])
    probe = draw_samples({"emomv-c": pairs}, seed=4)
    media = tmp_path / "media"
    media.mkdir()
    (media / f"{probe[0].video_segment_id}.mp4").symlink_to("/etc/passwd")
    with pytest.raises(ValueError, match=r"\.mp4 \(a link to /etc/passwd\) is outside the media folder"):
        find_media(media, probe[0].video_segment_id)
    output = tmp_path / "manifest.json"
    argv = ["--dataset", str(emomv_c_dir), "--split", "validation", "--seed", "4", "--media-dir", str(media)]
    assert load_script("sample").main([*argv, "--output", str(output)]) == 1
    [error] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert f"{probe[0].video_segment_id}.mp4" in error and "/etc/passwd" in error
    assert not output.exists()


def _media_survey(tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    """A media folder holding a webm for S1 and a manifest beside it naming it relative to the manifest."""
    media = tmp_path / "media"
    media.mkdir()
    (media / "a1.webm").write_bytes(b"webm bytes")
    entries = [asdict(sample) for sample in make_samples()]
    for entry in entries:
        entry.pop("media_root", None)
    entries[0].update(video_media="a1.webm", music_media="a1.webm")
    manifest = media / "manifest.json"
    manifest.write_text(json.dumps({"version": 1, "samples": entries}))
    return media, manifest, entries


def test_a_file_swapped_for_a_symlink_after_start_is_not_served(tmp_path) -> None:
    media, manifest, _ = _media_survey(tmp_path)
    store = SurveyStore(tmp_path / "db.sqlite")
    store.set_samples(load_manifest(manifest))
    server = _serve(store)
    try:
        assert request(server, "GET", "/media/S1/video")[::2] == (200, b"webm bytes")
        (media / "a1.webm").unlink()
        (media / "a1.webm").symlink_to("/etc/passwd")
        for kind in ("video", "music"):
            status, _, body = request(server, "GET", f"/media/S1/{kind}")
            assert status == 404 and b"root:" not in body
        # A link that stays inside the media folder is still served.
        (media / "a1.webm").unlink()
        (media / "real.webm").write_bytes(b"inside")
        (media / "a1.webm").symlink_to("real.webm")
        assert request(server, "GET", "/media/S1/video")[::2] == (200, b"inside")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("swapped", ["file", "folder"])
def test_a_symlink_swapped_in_between_check_and_open_is_not_served(tmp_path, samples, monkeypatch, swapped):
    """The media file, or the folder holding it, replaced by a symlink out of the media folder right after the
    server's check (resolve_media) passed: a 404, not the file outside (both were served: the check and the open
    were two steps on the path)."""
    media, outside = tmp_path / "media", tmp_path / "outside"
    (media / "clips").mkdir(parents=True)
    outside.mkdir()
    (media / "clips" / "a1.webm").write_bytes(b"webm bytes")
    (outside / "a1.webm").write_bytes(b"the organiser's notes")
    store = SurveyStore(tmp_path / "db.sqlite")
    clip = {"video_media": "clips/a1.webm", "music_media": "clips/a1.webm", "media_root": str(media)}
    store.set_samples([replace(samples[0], **clip), *samples[1:]])

    def check_then_swap(root, path):
        checked = resolve_media(root, path)  # raises for the second request: the link is there by then
        if swapped == "file":
            (media / "clips" / "a1.webm").unlink()
            (media / "clips" / "a1.webm").symlink_to(outside / "a1.webm")
        else:
            (media / "clips").rename(media / "moved")
            (media / "clips").symlink_to(outside)
        return checked

    monkeypatch.setattr("emomv_survey.server.resolve_media", check_then_swap)
    for status, body in _media_of_s1(store):
        assert status == 404 and b"organiser" not in body
    assert (media / "clips" / "a1.webm").read_bytes() == b"the organiser's notes"  # the swap did happen


def _run_serve(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """examples/survey/serve.py in a process of its own (it would serve forever in-process if it started)."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "PYTHONUNBUFFERED": "1",
    }
    script = str(REPO_ROOT / "examples" / "survey" / "serve.py")
    return subprocess.run(
        [sys.executable, script, *arguments], capture_output=True, text=True, env=environment, timeout=timeout
    )


def test_an_edited_manifest_or_database_pointing_outside_is_refused(tmp_path) -> None:
    media, manifest, entries = _media_survey(tmp_path)
    secret = tmp_path / "secret.txt"  # beside the media folder, not in it
    secret.write_text("the organiser's notes")
    store = SurveyStore(tmp_path / "db.sqlite")
    store.set_samples(load_manifest(manifest))
    # The manifest edited afterwards to name files outside the media folder: refused in one line.
    for path in ("../secret.txt", "/etc/passwd"):
        entries[0]["video_media"] = path
        if path.startswith("/"):
            entries[0]["media_root"] = "."
        manifest.write_text(json.dumps({"version": 2, "samples": entries}))
        with pytest.raises(ValueError, match=r"sample 0: video_media: .* is outside the media folder"):
            load_manifest(manifest)
    result = _run_serve("--db", str(store.path), "--manifest", str(manifest), "--port", "0")
    assert result.returncode == 1 and result.stdout == ""
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "/etc/passwd" in error and "outside the media folder" in error
    # The stored samples edited to name files outside: 404 at serving.
    with store.connect() as connection:
        connection.execute(
            "UPDATE samples SET video_media = ?, music_media = ?", (str(secret), "/etc/passwd")
        )
    for status, body in _media_of_s1(store):
        assert status == 404 and b"organiser" not in body and b"root:" not in body


def test_a_manifest_naming_the_database_or_itself_serves_neither(tmp_path) -> None:
    """A version 1 manifest in the survey's folder (its media root) naming the manifest (the answer key) and the
    database (answers, token hashes) as media: refused at loading; stored so, neither is served (both were,
    to anyone, as application/json and application/vnd.sqlite3)."""
    entries = [asdict(sample) for sample in make_samples()]
    entries[0].update(video_media="manifest.json", music_media="responses.sqlite", media_root=None)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"version": 1, "samples": entries}))
    store = SurveyStore(tmp_path / "responses.sqlite")
    with pytest.raises(
        ValueError, match=r"sample 0: video_media: .*manifest\.json is not a video or audio file"
    ):
        load_manifest(manifest)
    (tmp_path / "clip.WEBM").write_bytes(b"webm bytes")  # a media file, whatever the case of its extension
    entries[0].update(video_media="clip.WEBM", music_media="clip.WEBM")
    manifest.write_text(json.dumps({"version": 1, "samples": entries}))
    store.set_samples(load_manifest(manifest))
    with store.connect(write=True) as connection:
        connection.execute(
            "UPDATE samples SET video_media = ?, music_media = ? WHERE sample_id = 'S1'",
            (str(manifest), str(store.path)),
        )
    for status, body in _media_of_s1(store):
        assert status == 404 and b"SQLite" not in body and b"samples" not in body


# Finding 5: the participant id as the only credential


def test_knowing_a_participant_id_reads_and_changes_nothing(server, store) -> None:
    page_one = register(server, "victim")
    assert request(server, "POST", page_one, {**ANSWER, "sample_id": "S1"})[0] == 303
    assert b"required checked" in request(server, "GET", page_one)[2]  # the victim's own link works
    before = store.responses()
    # The attacker knows (or guesses) the id.
    status, headers, body = request(server, "POST", "/start", {"participant": "victim"})
    assert status != 303 and "Location" not in headers and b"required checked" not in body
    for path in ("/p/victim/1", "/p/victim/done", "/p/victim/2"):
        status, _, body = request(server, "GET", path)
        assert status == 404 and b"checked" not in body and b"1 of 6" not in body
    overwrite = {**ANSWER, "emotion_match": "1", "video_emotion": "exciting", "sample_id": "S1"}
    assert request(server, "POST", "/p/victim/1", overwrite)[0] == 404
    assert request(server, "POST", "/p/victim/2", {**ANSWER, "sample_id": "S2"})[0] == 404
    assert store.responses() == before
    # Nor does a guess that looks like a token.
    guess = "A" * 43
    assert request(server, "GET", f"/p/{guess}/1")[0] == 404
    assert request(server, "POST", f"/p/{guess}/1", overwrite)[0] == 404
    assert store.responses() == before


# Finding 6: malformed requests


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "0x10"])
def test_a_malformed_content_length_is_a_400(server, store, capfd, length: str) -> None:
    response, seconds = raw(server, post_head("/start", length) + b"participant=p1")
    assert status_of(response) == 400 and b"Content-Length" in response and seconds < 4
    assert "Traceback" not in capfd.readouterr().err
    assert participants(store) == []
    assert request(server, "GET", "/healthz")[0] == 200


def test_other_malformed_forms_are_4xx(server, store, capfd) -> None:
    head = f"POST /start HTTP/1.1\r\nHost: {HOST}\r\n".encode()
    response, _ = raw(server, head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n")
    assert status_of(response) == 411
    assert status_of(raw(server, head + b"\r\n")[0]) == 411
    twice = head + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef"
    assert status_of(raw(server, twice)[0]) == 400
    fields = "&".join(f"f{index}=x" for index in range(100)).encode()
    assert status_of(raw(server, post_head("/start", str(len(fields))) + fields)[0]) == 400
    assert participants(store) == [] and "Traceback" not in capfd.readouterr().err


def test_a_get_with_a_body_cannot_smuggle_a_second_request(server, store) -> None:
    """A GET (or HEAD) declaring a body whose bytes are a POST /start: one answer, then the connection closes; the
    body is never read as a request (behind a proxy reusing connections, a request smuggled past it)."""
    smuggled = post_head("/start", "14") + b"participant=zz"
    for method in ("GET", "HEAD"):
        for framing in (f"Content-Length: {len(smuggled)}", "Transfer-Encoding: chunked"):
            head = f"{method} /healthz HTTP/1.1\r\nHost: {HOST}\r\n{framing}\r\n\r\n".encode()
            with socket.create_connection((HOST, server.server_address[1]), timeout=3) as client:
                client.sendall(head + smuggled)
                received = b""
                with contextlib.suppress(TimeoutError, ConnectionResetError):
                    while chunk := client.recv(65536):
                        received += chunk
            assert received.count(b"HTTP/1.1 ") == 1 and status_of(received) == 200, (method, framing)
    assert participants(store) == []


def test_a_body_that_is_not_utf8_is_a_400(server, store, capfd) -> None:
    for body in (b"participant=p\xff\xfe1", b"participant=p%ff%fe1"):  # raw or %-escaped
        response, _ = raw(server, post_head("/start", str(len(body))) + body)
        assert status_of(response) == 400 and b"not UTF-8" in response
    page_one = register(server, "p1")
    body = b"sample_id=S1&emotion_match=4&alignment=2&video_emotion=sad&music_emotion=\xc3"
    response, _ = raw(server, post_head(page_one, str(len(body))) + body)
    assert status_of(response) == 400 and store.responses() == []
    assert "Traceback" not in capfd.readouterr().err


def test_a_body_shorter_than_declared_is_dropped_at_the_timeout(server, store, capfd) -> None:
    """The server (request_timeout 1 s) closes the connection without an answer or a traceback, and the
    thread that read it ends."""
    baseline = threading.active_count()
    response, seconds = raw(server, post_head("/start", "100") + b"participant=p1", wait=8.0)
    assert seconds < 5, f"the server held the connection for {seconds:.1f} s"
    assert status_of(response) in (None, 400, 408)
    for _ in range(50):  # the handler thread is gone
        if threading.active_count() <= baseline:
            break
        time.sleep(0.1)
    assert threading.active_count() <= baseline
    assert participants(store) == []
    assert "Traceback" not in capfd.readouterr().err
    assert request(server, "GET", "/healthz")[0] == 200


def test_many_slow_clients_are_each_dropped_at_the_timeout(server) -> None:
    clients = []
    try:
        for _ in range(20):
            client = socket.create_connection((HOST, server.server_address[1]), timeout=8)
            client.sendall(post_head("/start", "100") + b"participant=")
            clients.append(client)
        assert request(server, "GET", "/healthz")[0] == 200
        began = time.monotonic()
        for client in clients:  # the server closes each at its 1 s timeout
            try:
                assert client.recv(100) == b""
            except TimeoutError:
                pytest.fail("a slow client was held for 8 s")
        assert time.monotonic() - began < 6
    finally:
        for client in clients:
            client.close()


# What held before and must keep holding


def test_binds_to_localhost_by_default(store) -> None:
    survey = SurveyServer(store, port=0)
    try:
        assert survey.server_address[0] == "127.0.0.1"
    finally:
        survey.server_close()
    script = load_script("serve")
    assert script.ServeArguments(db="x").host == "127.0.0.1"


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/media/../../etc/passwd",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/S1/../../../../etc/passwd",
        "/media/..%2f..%2fetc%2fpasswd/video",
        "//etc/passwd",
    ],
)
def test_paths_outside_the_routes_are_refused(server, path: str) -> None:
    response, _ = raw(server, f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
    assert status_of(response) == 404 and b"root:" not in response


def test_markup_and_sql_in_forms_are_inert(server, store) -> None:
    script = "<script>alert(1)</script>"
    status, _, body = request(server, "POST", "/start", {"participant": script})
    assert status == 400 and b"<script>alert" not in body and b"&lt;script&gt;" in body
    status, _, body = request(server, "POST", "/start", {"participant": "x' OR '1'='1"})
    assert status == 400 and participants(store) == []
    page_one = register(server, "p1")
    status, _, body = request(
        server, "POST", page_one, {**ANSWER, "sample_id": f"S1'; DROP TABLE responses;--{script}"}
    )
    assert status == 409 and b"<script>alert" not in body
    status, _, body = request(
        server, "POST", page_one, {**ANSWER, "video_emotion": script, "sample_id": "S1"}
    )
    assert status == 400 and b"<script>alert" not in body
    status, _, body = request(server, "POST", page_one, {**ANSWER, "alignment": "6", "sample_id": "S1"})
    assert status == 400 and b"alignment must be a rating 1-5" in body
    assert store.responses() == [] and len(store.samples()) == 6


def test_a_50_mb_post_is_a_413(server, store, capfd) -> None:
    response, _ = raw(server, post_head("/start", str(50 * 1024 * 1024)))  # answered before the body is sent
    assert status_of(response) == 413 and participants(store) == []
    assert "Traceback" not in capfd.readouterr().err


def test_50_participants_at_once_lose_nothing(server, store, samples) -> None:
    pages = {f"p{index:02d}": register(server, f"p{index:02d}") for index in range(50)}
    barrier = threading.Barrier(len(pages))
    errors: list[str] = []

    def participant(name: str) -> None:
        barrier.wait(timeout=60)
        base = pages[name].rsplit("/", 1)[0]
        for number, sample in enumerate(samples, 1):
            form = {**ANSWER, "emotion_match": str(1 + number % 5), "sample_id": sample.sample_id}
            status = request(server, "POST", f"{base}/{number}", form)[0]
            if status != 303:
                errors.append(f"{name} sample {number}: HTTP {status}")

    threads = [threading.Thread(target=participant, args=(name,)) for name in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    assert len(store.responses()) == 50 * len(samples)


def test_kill_9_under_load_leaves_an_intact_database(tmp_path, store) -> None:
    """serve.py killed with SIGKILL while eight clients post: the database passes its integrity check and holds
    every answer that was acknowledged."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "PYTHONUNBUFFERED": "1",
    }
    script = str(REPO_ROOT / "examples" / "survey" / "serve.py")
    process = subprocess.Popen(
        [sys.executable, script, "--db", str(store.path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        assert ready, "serve.py printed nothing in 120 s"
        line = process.stdout.readline()
        assert " at http://127.0.0.1:" in line, line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])

        class Remote:
            server_address = (HOST, port)

        acknowledged: list[tuple[str, str]] = []
        stop = threading.Event()

        def client(index: int) -> None:
            try:
                base = register(Remote, f"k{index}").rsplit("/", 1)[0]
                for round_ in range(200):
                    if stop.is_set():
                        return
                    number = 1 + round_ % 6
                    sample_id = f"S{number}"
                    if (
                        request(Remote, "POST", f"{base}/{number}", {**ANSWER, "sample_id": sample_id})[0]
                        == 303
                    ):
                        acknowledged.append((f"k{index}", sample_id))
            except (OSError, http.client.HTTPException, AssertionError):
                return  # the server is gone

        threads = [threading.Thread(target=client, args=(index,)) for index in range(8)]
        for thread in threads:
            thread.start()
        for _ in range(100):  # until some answers are in
            if len(acknowledged) >= 40:
                break
            time.sleep(0.05)
        process.kill()
        process.wait(timeout=30)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
    assert acknowledged
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {
        (response.participant_id, response.sample_id) for response in SurveyStore(store.path).responses()
    }
    assert set(acknowledged) <= stored
