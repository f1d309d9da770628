"""The survey form over HTTP (no browser): routing, personal links, validation, post/redirect/get, media ranges,
concurrency. The attacks of issue 24 are in ``test_security``."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import pytest

from emomv_survey.server import SurveyServer
from emomv_survey.store import ResponseError, SurveyStore

from .helpers import load_script, request, serve

ANSWER = {"emotion_match": "4", "alignment": "2", "video_emotion": "sad", "music_emotion": "tense"}


@pytest.fixture
def server(store: SurveyStore):
    survey = serve(store)
    yield survey
    survey.shutdown()
    survey.server_close()


def start(server, participant: str) -> str:
    """Register ``participant`` at /start and return the token of the personal link it is sent to."""
    status, headers, _ = request(server, "POST", "/start", {"participant": participant})
    assert status == 303, status
    match = re.fullmatch(r"/p/([A-Za-z0-9_-]{43})/1", headers["Location"])
    assert match, headers["Location"]
    return match[1]


def test_start_page_and_registration(server, store) -> None:
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and b"6 short music video samples" in body and b"name='participant'" in body
    assert b"personal link" in body and headers["Referrer-Policy"] == "no-referrer"
    token = start(server, "p1")
    assert store.participant_for_token(token) == "p1" and start(server, "p2") != token
    # The store keeps the token's hash only.
    with store.connect() as connection:
        stored = [row[0] for row in connection.execute("SELECT token_sha256 FROM participants")]
    assert len(stored) == 2 and all(len(value) == 64 and token not in value for value in stored)
    page = request(server, "GET", f"/p/{token}/1")[2].decode()
    assert f"id='personal-link' href='/p/{token}/1'" in page and "<b id='participant'>p1</b>" in page
    status, _, body = request(server, "POST", "/start", {"participant": "bad id"})
    assert status == 400 and b"participant id must be" in body
    assert request(server, "GET", "/healthz")[:3:2] == (200, b"ok\n")
    status, headers, body = request(server, "HEAD", "/healthz")  # HEAD: GET's route and headers, no body
    assert (status, headers["Content-Length"], body) == (200, "3", b"")
    assert request(server, "POST", "/healthz", {})[0] == request(server, "GET", "/start")[0] == 404


def test_sample_page_layout_without_media(server) -> None:
    token = start(server, "p1")
    status, _, body = request(server, "GET", f"/p/{token}/3")
    page = body.decode()
    assert status == 200
    assert "Sample ID: <span id='sample-id'>S3</span>" in page and "sample 3 of 6" in page
    for text in (
        "Matched in emotions",
        "Aligned in general",
        "Very Poor",
        "Very Good",
        "Relaxation",
        "Tension",
    ):
        assert text in page
    assert page.count("type='radio'") == 2 * 5 + 2 * 5
    # No media in this manifest: the page says so with neutral labels, not the segment ids (a3's pictures, a4's music).
    assert "<video" not in page and "No media file in this survey for Video clip 3 and Music clip 3." in page
    assert "a3" not in page.replace(token, "") and "a4" not in page.replace(token, "")


def test_pages_without_media_do_not_reveal_the_label(server, samples) -> None:
    """Issue 26.7: the segment ids gave the answer away (a matched pair's two ids are the same). The pages of a
    matched and a mismatched sample differ only in the sample's number and id."""
    token = start(server, "p1")
    shown = {}
    for number in range(2, len(samples)):  # the first has the personal link, the last a Submit button
        sample = samples[number - 1]
        page = request(server, "GET", f"/p/{token}/{number}")[2].decode()
        assert f"Video clip {number} and Music clip {number}" in page and "segment" not in page
        page = page.replace(token, "TOKEN").replace(sample.sample_id, "ID")
        shown.setdefault(sample.label, set()).add(re.sub(r"\b\d+\b", "N", page))
    assert set(shown) == {"matched", "mismatched"}
    assert len(shown["matched"] | shown["mismatched"]) == 1, "a page depends on more than the sample's number"


def test_submit_redirects_and_is_stored_once(server, store) -> None:
    token = start(server, "p1")
    for _ in range(3):  # a double submit / a resubmitted form
        status, headers, _ = request(server, "POST", f"/p/{token}/1", {**ANSWER, "sample_id": "S1"})
        assert status == 303 and headers["Location"] == f"/p/{token}/2"
    [response] = store.responses()
    assert (response.sample_id, response.emotion_match, response.alignment, response.submissions) == (
        "S1",
        4,
        2,
        3,
    )
    # Revisiting (later, with the personal link) shows the stored answers.
    page = request(server, "GET", f"/p/{token}/1")[2].decode()
    assert "value='4' aria-label='Matched in emotions: Good' required checked" in page
    assert "value='sad' aria-label='Video: Sadness' required checked" in page
    # Registering the id again gives no access: it is taken, and the page says to use the personal link.
    status, headers, body = request(server, "POST", "/start", {"participant": "p1"})
    assert (
        status == 409
        and "Location" not in headers
        and b"personal link" in body
        and token.encode() not in body
    )


def test_bad_submissions(server, store) -> None:
    token = start(server, "p1")
    status, _, body = request(server, "POST", f"/p/{token}/2", {"sample_id": "S2", "emotion_match": "3"})
    assert status == 400 and b"Please answer: Aligned in general, Video emotion, Music emotion." in body
    assert b"value='3' aria-label='Matched in emotions: Moderate' required checked" in body  # kept
    status, _, body = request(server, "POST", f"/p/{token}/2", {**ANSWER, "sample_id": "S1"})
    assert status == 409 and b"this form was for sample" in body
    status, _, body = request(
        server, "POST", f"/p/{token}/2", {**ANSWER, "alignment": "9", "sample_id": "S2"}
    )
    assert status == 400 and b"alignment must be a rating 1-5" in body
    assert request(server, "POST", f"/p/{token}/9", {**ANSWER, "sample_id": "S2"})[0] == 404
    assert request(server, "POST", "/p/ghost/1", {**ANSWER, "sample_id": "S1"})[0] == 404
    assert request(server, "GET", "/p/ghost/1")[0] == 404
    assert request(server, "GET", f"/p/{token[:-1]}x/1")[0] == 404
    assert request(server, "GET", "/nowhere")[0] == 404
    assert store.responses() == []


def test_last_sample_leads_to_done(server, store, samples) -> None:
    token = start(server, "p1")
    for number, sample in enumerate(samples, 1):
        status, headers, _ = request(
            server, "POST", f"/p/{token}/{number}", {**ANSWER, "sample_id": sample.sample_id}
        )
        assert status == 303
    assert headers["Location"] == f"/p/{token}/done"
    page = request(server, "GET", f"/p/{token}/done")[2].decode()
    assert "6 of 6 samples answered" in page and f"href='/p/{token}/1'" in page


def test_a_new_link_replaces_a_lost_one(server, store, tmp_path, capsys) -> None:
    token = start(server, "p1")
    assert request(server, "POST", f"/p/{token}/1", {**ANSWER, "sample_id": "S1"})[0] == 303
    assert load_script("serve").main(["--db", str(store.path), "--new-link", "p1"]) == 0
    [new] = re.findall(r"/p/([A-Za-z0-9_-]{43})/1", capsys.readouterr().out)
    assert request(server, "GET", f"/p/{token}/1")[0] == 404  # the old link no longer works
    assert b"required checked" in request(server, "GET", f"/p/{new}/1")[2]  # the answers are kept
    assert load_script("serve").main(["--db", str(store.path), "--new-link", "nobody"]) == 1
    assert "unknown participant 'nobody'" in capsys.readouterr().err


def _store_with_clip(tmp_path, samples, content: bytes, **first) -> SurveyStore:
    """A store whose first sample (with ``first`` fields replaced) plays ``content`` as its video and music."""
    clip = tmp_path / "clip.webm"
    clip.write_bytes(content)
    store = SurveyStore(tmp_path / "db.sqlite")
    media = {"video_media": str(clip), "music_media": str(clip), "media_root": str(tmp_path)}
    store.set_samples([replace(samples[0], **first, **media), *samples[1:]])
    return store


def test_media_with_ranges(tmp_path, samples) -> None:
    server = serve(_store_with_clip(tmp_path, samples, bytes(range(100))))
    try:
        status, headers, body = request(server, "GET", "/media/S1/video")
        assert (status, headers["Content-Type"], body) == (200, "video/webm", bytes(range(100)))
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, headers, body = request(server, "GET", "/media/S1/music", headers={"Range": "bytes=10-19"})
        assert (status, headers["Content-Range"], body) == (206, "bytes 10-19/100", bytes(range(10, 20)))
        assert request(server, "GET", "/media/S1/video", headers={"Range": "bytes=-5"})[2] == bytes(
            range(95, 100)
        )
        assert request(server, "GET", "/media/S1/video", headers={"Range": "bytes=200-"})[0] == 416
        assert request(server, "GET", "/media/S2/video")[0] == 404
        page = request(server, "GET", f"/p/{start(server, 'p1')}/1")[2].decode()
        assert "<video id='video' preload='auto' playsinline muted src='/media/S1/video'>" in page
        assert "id='play'" in page and "id='volume'" in page
        assert "<audio id='music' preload='auto' src='/media/S1/music'>" in page and "segment" not in page
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("header", "status", "content_range", "content"),
    [
        # RFC 9110 14.1.1 and 14.2: an invalid or malformed Range is ignored (200, the whole body): it was 206
        ("bytes=-", 200, None, range(100)),  # neither a first position nor a suffix length
        ("bytes=5-2", 200, None, range(100)),  # last < first: invalid
        ("bytes=abc", 200, None, range(100)),
        ("bytes=0-1,5-6", 200, None, range(100)),  # several ranges: the server may serve the whole file
        ("items=0-1", 200, None, range(100)),
        # unsatisfiable (15.5.17): 416 with the size
        ("bytes=-0", 416, "bytes */100", range(0)),  # an empty suffix
        ("bytes=100-", 416, "bytes */100", range(0)),  # a start at or past the end
        ("bytes=150-160", 416, "bytes */100", range(0)),
        # satisfiable: 206, the end clipped to the file
        ("bytes=0-", 206, "bytes 0-99/100", range(100)),
        ("bytes=90-500", 206, "bytes 90-99/100", range(90, 100)),
        ("bytes=-500", 206, "bytes 0-99/100", range(100)),
        ("bytes=99-99", 206, "bytes 99-99/100", range(99, 100)),
    ],
)
def test_malformed_or_unsatisfiable_ranges(tmp_path, samples, header, status, content_range, content) -> None:
    server = serve(_store_with_clip(tmp_path, samples, bytes(range(100))))
    try:
        answer, headers, body = request(server, "GET", "/media/S1/video", headers={"Range": header})
        assert (answer, headers.get("Content-Range")) == (status, content_range)
        if status != 416:
            assert body == bytes(content) and headers["Content-Length"] == str(len(content))
    finally:
        server.shutdown()
        server.server_close()


def test_media_of_a_sample_id_with_spaces_slashes_or_unicode(tmp_path, samples) -> None:
    # the page quotes the id into the media URL: the server must find the sample again (it was a 404)
    server = serve(_store_with_clip(tmp_path, samples, b"webm bytes", sample_id="Clip 1/é?#"))
    try:
        page = request(server, "GET", f"/p/{start(server, 'p1')}/1")[2].decode()
        for kind in ("video", "music"):
            source = re.search(f"<{'video' if kind == 'video' else 'audio'} [^>]* src='([^']+)'", page)[1]
            assert source.endswith(f"/{kind}")
            assert request(server, "GET", source)[::2] == (200, b"webm bytes")
    finally:
        server.shutdown()
        server.server_close()


def test_numbers_too_long_for_int_are_answered(tmp_path, samples, capfd) -> None:
    # int() refuses over 4300 digits: the connection was dropped without an answer and stderr got a line
    server = serve(_store_with_clip(tmp_path, samples, bytes(range(100))))
    try:
        digits = "1" * 5000
        for header in (f"bytes={digits}-", f"bytes=0-{digits}", f"bytes=-{digits}"):
            assert request(server, "GET", "/media/S1/video", headers={"Range": header})[0] in (200, 416)
        assert request(server, "GET", f"/p/{start(server, 'p1')}/{digits}")[0] == 404
        assert capfd.readouterr().err == ""
    finally:
        server.shutdown()
        server.server_close()


def test_concurrent_participants_over_http(server, store, samples) -> None:
    """Eight participants at once, each posting every answer twice from two threads."""
    errors: list[str] = []
    barrier = threading.Barrier(16)

    tokens = {f"p{i}": start(server, f"p{i}") for i in range(8)}

    def participant(name: str) -> None:
        barrier.wait()
        for number, sample in enumerate(samples, 1):
            form = {**ANSWER, "emotion_match": str(1 + number % 5), "sample_id": sample.sample_id}
            status = request(server, "POST", f"/p/{tokens[name]}/{number}", form)[0]
            if status != 303:
                errors.append(f"{name} sample {number}: HTTP {status}")

    threads = [threading.Thread(target=participant, args=(name,)) for name in tokens for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    responses = store.responses()
    assert len(responses) == 8 * len(samples) and all(r.submissions == 2 for r in responses)
    assert all(r.emotion_match == 1 + (int(r.sample_id[1:])) % 5 for r in responses)


def test_serve_script_refuses_an_empty_or_other_survey(tmp_path, store, samples, capsys) -> None:
    script = load_script("serve")
    SurveyStore(tmp_path / "empty.sqlite")
    assert script.main(["--db", str(tmp_path / "empty.sqlite"), "--port", "0"]) == 1
    assert "holds no samples" in capsys.readouterr().err
    # a mistyped --db, or a manifest that does not load, left an empty survey database behind
    assert script.main(["--db", str(tmp_path / "typo.sqlite"), "--port", "0"]) == 1
    assert "typo.sqlite does not exist" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{")
    assert script.main(["--db", str(tmp_path / "new.sqlite"), "--manifest", str(tmp_path / "bad.json")]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    assert not list(tmp_path.glob("typo.sqlite*")) and not list(tmp_path.glob("new.sqlite*"))
    other = tmp_path / "other.json"
    from emomv_survey.sampling import write_manifest

    write_manifest(other, list(reversed(samples)))
    assert script.main(["--db", str(store.path), "--manifest", str(other), "--port", "0"]) == 1
    assert "holds a different survey" in capsys.readouterr().err
    with pytest.raises(ResponseError):
        store.set_samples(list(reversed(samples)))


def test_request_timeout_must_be_positive(tmp_path, store, capsys) -> None:
    with pytest.raises(ValueError, match="request_timeout must be positive"):
        SurveyServer(store, port=0, request_timeout=0)
    with pytest.raises(SystemExit) as exit_:
        load_script("serve").main(["--db", str(store.path), "--request-timeout", "-1"])
    assert exit_.value.code == 2
    assert "--request-timeout must be positive" in capsys.readouterr().err
