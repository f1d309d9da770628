"""The survey form in headless Chromium (Debian's ``chromium`` package, driven by Playwright): playback of a
mismatched pair, answers stored exactly once across reload, double click and resubmission, resuming with the
personal link, two participants at once. Screenshots go to ``tests/artifacts/survey`` (git-ignored; ``EMOMV_TEST_ARTIFACTS`` moves it).

Without ``/usr/bin/chromium`` or the ``playwright`` package these tests skip, naming what is missing, except
where ``EMOMV_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs both): there they fail.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from emomv_survey.store import SurveyStore

from .helpers import REPO_ROOT, make_samples, serve, write_webm


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("EMOMV_TEST_ARTIFACTS", REPO_ROOT / "tests" / "artifacts")) / "survey"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def survey(tmp_path: Path):
    """A running form over the hand-made samples; S1 (matched) and S3 (mismatched) have webm media."""
    low, high = (
        write_webm(tmp_path / "a1.webm", tone_hz=330.0),
        write_webm(tmp_path / "a4.webm", tone_hz=660.0),
    )
    samples = make_samples()
    root = str(tmp_path)
    samples[0] = replace(samples[0], video_media=str(low), music_media=str(low), media_root=root)
    samples[2] = replace(samples[2], video_media=str(low), music_media=str(high), media_root=root)
    store = SurveyStore(tmp_path / "responses.sqlite")
    store.set_samples(samples)
    server = serve(store)
    yield server, store
    server.shutdown()
    server.server_close()


def _answer(page, emotion_match: int, alignment: int, video: str, music: str) -> None:
    page.check(f"input[name=emotion_match][value='{emotion_match}']")
    page.check(f"input[name=alignment][value='{alignment}']")
    page.check(f"input[name=video_emotion][value='{video}']")
    page.check(f"input[name=music_emotion][value='{music}']")


def _start(page, url: str, participant: str) -> str:
    """Register ``participant`` from the start page; the token of the personal link the browser lands on."""
    page.goto(url + "/")
    page.fill("input[name=participant]", participant)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/p/[A-Za-z0-9_-]{43}/1$"))
    assert page.inner_text("#participant") == participant
    assert page.get_attribute("#personal-link", "href") == urlsplit(page.url).path
    return urlsplit(page.url).path.split("/")[2]


def test_fill_submit_reload_stores_once(browser, survey, artifacts) -> None:
    server, store = survey
    page = browser.new_page()
    token = _start(page, server.url, "alice")
    assert page.inner_text("#sample-id") == "S1"
    # The matched pair's clip plays: one play button starts the muted video and the music together.
    page.wait_for_function("document.getElementById('video').readyState >= 2", timeout=20_000)
    page.click("#play")
    page.wait_for_function(
        "(() => { const v = document.getElementById('video'), m = document.getElementById('music');"
        " return !v.paused && !m.paused && m.currentTime > 0.3; })()",
        timeout=20_000,
    )
    assert page.inner_text("#play") == "Pause"
    page.fill("#volume", "0.25")
    assert page.evaluate(
        "[document.getElementById('video').muted, document.getElementById('music').volume]"
    ) == [
        True,
        0.25,
    ]
    assert page.evaluate("document.getElementById('video').duration") == pytest.approx(2.0, abs=0.2)
    assert page.evaluate("document.getElementById('video').hasAttribute('controls')") is False
    page.screenshot(path=artifacts / "sample_with_media.png", full_page=True)

    # Submitting with a question open is stopped by the browser: nothing is stored.
    page.check("input[name=emotion_match][value='5']")
    page.click("button[type=submit]")
    assert page.url.endswith(f"/p/{token}/1") and store.responses() == []

    _answer(page, 5, 4, "exciting", "exciting")
    page.dblclick("button[type=submit]")  # a double click posts once
    page.wait_for_url(f"**/p/{token}/2")
    page.reload()  # the redirect made this a GET: a reload posts nothing
    assert page.url.endswith(f"/p/{token}/2")
    [response] = store.responses("alice")
    assert (response.sample_id, response.emotion_match, response.alignment, response.submissions) == (
        "S1",
        5,
        4,
        1,
    )

    # Sample 2 has no media: the page says so with neutral labels, never its segment ids (they reveal the label).
    assert page.inner_text(".nomedia") == "No media file in this survey for Video clip 2 and Music clip 2."
    assert "a2" not in page.inner_text("body")
    page.screenshot(path=artifacts / "sample_without_media.png", full_page=True)
    _answer(page, 2, 1, "sad", "relaxing")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/p/{token}/3")

    # Back to sample 1: the stored answers are shown; changing and resubmitting updates the one row.
    page.click("text=Back")
    page.click("text=Back")
    page.wait_for_url(f"**/p/{token}/1")
    assert page.is_checked("input[name=emotion_match][value='5']")
    assert page.is_checked("input[name=music_emotion][value='exciting']")
    page.check("input[name=alignment][value='3']")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/p/{token}/2")
    responses = {r.sample_id: r for r in store.responses("alice")}
    assert set(responses) == {"S1", "S2"}
    assert (responses["S1"].alignment, responses["S1"].submissions) == (3, 2)
    assert (responses["S2"].emotion_match, responses["S2"].music_emotion) == (2, "relaxing")

    # The mismatched pair plays one clip's pictures with the other clip's music.
    page.goto(server.url + f"/p/{token}/3")
    sources = page.evaluate(
        "[document.getElementById('video').currentSrc, document.getElementById('music').currentSrc]"
    )
    assert sources == [server.url + "/media/S3/video", server.url + "/media/S3/music"]
    page.wait_for_function("document.getElementById('music').readyState >= 1", timeout=20_000)
    page.close()

    # Later, in a new browser: the personal link resumes with the answers; the id alone gives nothing.
    context = browser.new_context()
    later = context.new_page()
    later.goto(server.url + "/")
    later.fill("input[name=participant]", "alice")
    later.click("button[type=submit]")
    assert "is taken" in later.inner_text("#error") and "/p/" not in later.url
    assert later.goto(server.url + "/p/alice/1").status == 404
    later.goto(server.url + f"/p/{token}/1")
    assert later.inner_text("#participant") == "alice"
    assert later.is_checked("input[name=alignment][value='3']")
    context.close()


def test_two_participants_at_once(browser, survey, artifacts) -> None:
    server, store = survey
    samples = store.samples()
    contexts = [browser.new_context(), browser.new_context()]
    pages = [context.new_page() for context in contexts]
    tokens = [_start(page, server.url, name) for page, name in zip(pages, ("bob", "carol"), strict=True)]

    def answers(participant: int, number: int) -> tuple[int, int, str, str]:
        emotions = ("exciting", "fearful", "tense", "sad", "relaxing")
        return (
            1 + (number + participant) % 5,
            1 + (2 * number + participant) % 5,
            emotions[number % 5],
            emotions[(number + participant + 1) % 5],
        )

    for number in range(1, len(samples) + 1):
        for participant, page in enumerate(pages):
            _answer(page, *answers(participant, number))
        for page in pages:  # both posts in flight together
            page.click("button[type=submit]", no_wait_after=True)
        for page, token in zip(pages, tokens, strict=True):
            page.wait_for_url(f"**/p/{token}/{number + 1 if number < len(samples) else 'done'}")
    for page, name in zip(pages, ("bob", "carol"), strict=True):
        assert page.inner_text("#progress") == f"{len(samples)} of {len(samples)} samples answered."
        page.screenshot(path=artifacts / f"done_{name}.png", full_page=True)
    for participant, name in enumerate(("bob", "carol")):
        stored = store.responses(name)
        assert [r.sample_id for r in stored] == [s.sample_id for s in samples]
        for number, response in enumerate(stored, 1):
            assert (
                response.emotion_match,
                response.alignment,
                response.video_emotion,
                response.music_emotion,
            ) == answers(participant, number)
            assert response.submissions == 1
    for context in contexts:
        context.close()
