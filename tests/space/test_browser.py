"""The Space in headless Chromium (Debian's ``chromium``, driven by Playwright): the app serves EmoMV-C with tiny
trained models; the page picks segments, submits, and its result rows and matched probability are the models'.
Screenshots go to ``tests/artifacts/space`` (git-ignored; ``EMOMV_TEST_ARTIFACTS`` moves it).

Without ``/usr/bin/chromium``, playwright or gradio these tests skip, naming what is missing, except where
``EMOMV_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs them): there they fail.
"""

from __future__ import annotations

import socket

import pytest
import torch

from emomv_hf.models_registry import load_model

TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(app, space, browser_requirement):
    try:
        import gradio  # noqa: F401
    except ImportError:
        browser_requirement("gradio is not installed: pip install -e '.[space]'")
    port = _free_port()
    demo = app.launch(space, "127.0.0.1", port, block=False)
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def url(browser, browser_requirement, app, space):
    demo, address = _serve(app, space, browser_requirement)
    yield address
    demo.close()


def _pick(page, dropdown: str, value: str) -> None:
    """Choose ``value`` in a Gradio dropdown by typing into its filter and clicking the option."""
    page.click(f"{dropdown} input")
    page.fill(f"{dropdown} input", value)
    page.click(f"{dropdown} [role=option][aria-label='{value}']")
    assert page.input_value(f"{dropdown} input") == value


def _table(page, selector: str) -> list[list[str]]:
    """The rows of a Gradio dataframe as shown (its cells are ``data-testid="cell-ROW-COLUMN"``)."""
    return page.evaluate(
        """selector => {
            const rows = [];
            for (const cell of document.querySelectorAll(`${selector} [data-testid^="cell-"]`)) {
                const [, row, column] = cell.dataset.testid.split("-").map(Number);
                (rows[row] ??= [])[column] = cell.innerText.trim();
            }
            return rows;
        }""",
        selector,
    )


def _rank_segment(page, tab: str, segment: str) -> list[list[str]]:
    """Submit library ``segment`` in the ranking tab whose ids start with ``tab``; the shown top-10 table once
    its summary names the segment and all ten rows are drawn."""
    _pick(page, f"#{tab}-segment", segment)
    page.click(f"#{tab}-button")
    page.wait_for_function(
        "([tab, id]) => document.querySelector(`#${tab}-summary`).innerText.includes(id)",
        arg=[tab, segment],
        timeout=TIMEOUT_MS,
    )
    page.wait_for_function(
        'tab => document.querySelectorAll(`#${tab}-results [data-testid^="cell-9-"]`).length === 8',
        arg=tab,
        timeout=TIMEOUT_MS,
    )
    return _table(page, f"#{tab}-results")


def test_find_music_and_do_these_match(browser, url, space, model_dirs, artifacts) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    page.goto(url)
    page.wait_for_selector("#find-button", timeout=TIMEOUT_MS)

    # Find music for a video: a library video segment, submitted; the table is MusicRecommender's top 10.
    segment = space.video_segments[7]
    rows = _rank_segment(page, "find", segment)
    expected = space.recommender.recommend(segment=segment, top_k=10)
    assert [row[:4] for row in rows] == [
        [str(item.rank), f"{item.score:.4f}", item.track, item.segment_id] for item in expected.items
    ]
    assert [row[5] for row in rows] == [item.emotion for item in expected.items]
    # The query's bar chart heads with its most likely emotion; the track shown first is rank 1.
    predicted = expected.query["predicted_emotions"]
    assert page.inner_text("#find-query-emotions").splitlines()[1] == max(predicted, key=predicted.get)
    assert f"Rank 1: {expected.items[0].track}" in page.inner_text("#find-item-summary")
    page.screenshot(path=artifacts / "find_music.png", full_page=True)

    # Another rank's distribution and summary, picked under the table.
    first_chart = page.inner_text("#find-track-emotions")
    _pick(page, "#find-pick-rank", f"2. {expected.items[1].track}")
    page.wait_for_function(
        "() => document.querySelector('#find-item-summary').innerText.startsWith('Rank 2')",
        timeout=TIMEOUT_MS,
    )
    second = expected.items[1].predicted_emotions
    # The summary and the bar chart are separate outputs of one event: wait for the chart's redraw too (its first
    # line is its title, then the most likely emotion). Rank 1's chart may head with the same emotion, and the
    # chart is blank while it redraws: so wait for a text other than rank 1's with an emotion in it, and check the
    # text the wait saw (a second read could fall into a redraw).
    top = max(second, key=second.get)
    # While it redraws, the chart can show its axes' titles before its bars: wait for an emotion's name there.
    shown = page.wait_for_function(
        """([before, emotions]) => {
            const text = document.querySelector('#find-track-emotions').innerText;
            return text !== before && emotions.includes(text.split('\\n')[1] || '') ? text : null;
        }""",
        arg=[first_chart, list(second)],
        timeout=TIMEOUT_MS,
    ).json_value()
    assert shown.splitlines()[1] == top

    # Do these match? Two library segments: the probability is the correspondence model's.
    page.click("button[role=tab]:has-text('Do these match?')")
    video_id, music_id = space.video_segments[3], space.music_segments[40]
    _pick(page, "#video-segment", video_id)
    _pick(page, "#music-segment", music_id)
    page.click("#match-button")
    page.wait_for_function(
        "() => document.querySelector('#match-probability textarea').value !== ''", timeout=TIMEOUT_MS
    )
    model = load_model(str(model_dirs["correspondence"])).eval()
    library = space.matcher.library
    with torch.no_grad():
        logits = model(
            video_features=torch.from_numpy(library.query(video_id, "video").features),
            music_features=torch.from_numpy(library.query(music_id, "music").features),
        ).logits
    probability = float(logits.softmax(-1)[0, 1])
    assert page.input_value("#match-probability textarea") == f"{probability:.6f}"
    summary = page.inner_text("#match-summary")
    assert video_id in summary and music_id in summary
    for chart in ("#video-emotions", "#music-emotions", "#match-verdict"):
        assert page.inner_text(chart).strip()
    page.screenshot(path=artifacts / "do_these_match.png", full_page=True)
    _pick(page, "#music-segment", space.music_segments[0])
    page.check("#video-source input[value='File']")
    page.click("#match-button")
    page.wait_for_function(
        "() => document.querySelector('#match-summary').innerText.startsWith('Error: upload a video file')",
        timeout=TIMEOUT_MS,
    )
    assert page.input_value("#match-probability textarea") == ""

    # Find videos for music: a library music segment; the table is the recommender's music-query ranking.
    page.click("button[role=tab]:has-text('Find videos for music')")
    music_id = space.music_segments[12]
    rows = _rank_segment(page, "videos", music_id)
    expected = space.recommender.recommend(segment=music_id, query_stream="music", top_k=10)
    assert [row[:4] for row in rows] == [
        [str(item.rank), f"{item.score:.4f}", item.track, item.segment_id] for item in expected.items
    ]
    assert "video segments" in page.inner_text("#videos-summary")
    page.screenshot(path=artifacts / "find_videos.png", full_page=True)

    # A bad query shows its message, naming the input.
    page.click("button[role=tab]:has-text('Find music for a video')")
    page.check("#find-source input[value='File']")
    page.click("#find-button")
    page.wait_for_function(
        "() => document.querySelector('#find-summary').innerText.startsWith('Error: upload a video file')",
        timeout=TIMEOUT_MS,
    )
    assert _table(page, "#find-results") == []
    page.screenshot(path=artifacts / "find_music_error.png", full_page=True)
    page.close()


def test_a_missing_model_is_named_on_its_tab(
    browser, browser_requirement, app, model_dirs, artifacts
) -> None:
    only_match = app.load_space(app.SpaceArguments(correspondence_model=str(model_dirs["correspondence"])))
    demo, address = _serve(app, only_match, browser_requirement)
    try:
        page = browser.new_page()
        page.goto(address)
        page.wait_for_selector("#find-missing", timeout=TIMEOUT_MS)
        assert "--retrieval-model" in page.inner_text("#find-missing")
        page.screenshot(path=artifacts / "no_retrieval_model.png", full_page=True)
        page.close()
    finally:
        demo.close()


def test_an_uploaded_video_and_the_library_players(
    browser, browser_requirement, app, media_space, media_library, artifacts
) -> None:
    demo, address = _serve(app, media_space, browser_requirement)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1800})
        page.goto(address)
        page.wait_for_selector("#find-button", timeout=TIMEOUT_MS)
        page.check("#find-source input[value='File']")
        page.set_input_files("#find-video input[type=file]", str(media_library["clip"]))
        page.wait_for_selector("#find-video video", timeout=TIMEOUT_MS)  # uploaded: its preview plays
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        page.click("#find-button")
        try:
            page.wait_for_function(
                "() => document.querySelector('#find-summary').innerText.includes('clip.webm')",
                timeout=120_000,  # the upload is extracted (random-weight SlowFast on the CPU)
            )
        except PlaywrightTimeoutError:  # say what the page showed instead
            page.screenshot(path=artifacts / "uploaded_video_timeout.png", full_page=True)
            raise AssertionError(
                f"no ranking of clip.webm; the page shows: {page.inner_text('body')[:3000]}"
            ) from None
        (segment_id,) = [s for s in media_space.video_segments if s.startswith("clip")]
        expected = media_space.recommender.recommend(segment=segment_id, top_k=10)
        rows = _table(page, "#find-results")
        assert [row[1:4] for row in rows] == [
            [f"{item.score:.4f}", item.track, item.segment_id] for item in expected.items
        ]
        assert {row[7] for row in rows} == {"clip.webm", "low.ogg", "high.ogg"}

        # Each track plays from the library: a music video whole in the video player, and the ranked segment's
        # music (1 s of the file) in the audio player.
        for rank, item in enumerate(expected.items, start=1):
            _pick(page, "#find-pick-rank", f"{rank}. {item.track}")
            page.wait_for_function(
                "rank => document.querySelector('#find-item-summary').innerText.startsWith(`Rank ${rank}:`)",
                arg=rank,
                timeout=TIMEOUT_MS,
            )
            if item.track == "clip":  # the video element has loaded the clip's metadata
                page.wait_for_function(
                    "() => { const video = document.querySelector('#find-track-video video');"
                    " return video && video.readyState >= 1; }",
                    timeout=TIMEOUT_MS,
                )
                duration = page.evaluate("document.querySelector('#find-track-video video').duration")
                assert duration == pytest.approx(1.0, abs=0.2)
            # The audio player has decoded the segment (not the 2.2 s track) into its waveform.
            page.wait_for_function(
                "() => document.querySelector('#find-track-audio #duration')?.innerText === '0:01'",
                timeout=TIMEOUT_MS,
            )
            if item.track == "clip":
                page.screenshot(path=artifacts / "find_music_upload_video_player.png", full_page=True)
            elif item.track == "high":
                page.screenshot(path=artifacts / "find_music_upload_audio_player.png", full_page=True)
        page.close()
    finally:
        demo.close()
