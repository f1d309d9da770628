"""The Space as a server on 127.0.0.1 (issue 24.1, 24.2): it serves the library's media files and nothing beside
them (not a key, a ``.env`` or a file in a subfolder next to a library video), and refuses an upload over its
size limit without keeping it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

gradio = pytest.importorskip("gradio")
httpx = pytest.importorskip("httpx")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(app, space, **limits):
    port = _free_port()
    demo = app.launch(space, "127.0.0.1", port, block=False, **limits)
    return demo, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def secrets(media_library) -> list[Path]:
    """Files next to the library's media that are not in the library: a key in a subfolder, a ``.env``, notes."""
    media = media_library["media"]
    (media / ".ssh").mkdir(exist_ok=True)
    (media / "drafts").mkdir(exist_ok=True)
    files = [
        media / ".ssh" / "id_rsa",
        media / ".env",
        media / "notes.txt",
        media / "drafts" / "left-out.ogg",
    ]
    for path in files:
        path.write_text(f"secret {path.name}\n", encoding="utf-8")
    return files


def test_only_the_librarys_media_files_are_served(app, media_space, media_library, secrets):
    demo, url = _serve(app, media_space)
    try:
        for path in secrets:
            response = httpx.get(f"{url}/gradio_api/file={path.resolve()}")
            assert response.status_code != 200, path
            assert b"secret" not in response.content
        assert httpx.get(f"{url}/gradio_api/file={media_library['media'].resolve()}").status_code != 200
        for path in (media_library["clip"], media_library["track"]):
            response = httpx.get(f"{url}/gradio_api/file={path.resolve()}")
            assert response.status_code == 200 and response.content == path.read_bytes()
    finally:
        demo.close()


def test_an_upload_over_the_limit_is_refused_and_not_kept(app, media_space, tmp_path, monkeypatch):
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    demo, url = _serve(app, media_space, max_upload_mb=1, upload_lifetime_s=60)
    try:
        assert demo.delete_cache == (60, 60)
        big = httpx.post(f"{url}/gradio_api/upload", files={"files": ("big.mp4", b"\0" * (2 << 20))})
        assert big.status_code == 413
        assert not [path for path in uploads.rglob("*") if path.is_file()]
        small = httpx.post(f"{url}/gradio_api/upload", files={"files": ("small.mp4", b"\0" * (100 << 10))})
        assert small.status_code == 200
        (kept,) = small.json()
        assert Path(kept).is_relative_to(uploads) and Path(kept).stat().st_size == 100 << 10
    finally:
        demo.close()


def test_the_limits_have_flags_and_environment_variables(app, monkeypatch):
    parser = app.build_parser()
    monkeypatch.setenv("EMOMV_SPACE_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("EMOMV_SPACE_UPLOAD_LIFETIME_S", "120")
    args = app.SpaceArguments(correspondence_model="m")
    assert (args.max_upload_mb, args.upload_lifetime_s) == (5, 120)
    monkeypatch.delenv("EMOMV_SPACE_MAX_UPLOAD_MB")
    monkeypatch.delenv("EMOMV_SPACE_UPLOAD_LIFETIME_S")
    args = app.SpaceArguments(correspondence_model="m")
    assert (args.max_upload_mb, args.upload_lifetime_s) == (200, 3600)
    flags = {option for action in parser._actions for option in action.option_strings}
    assert {"--max-upload-mb", "--upload-lifetime-s"} <= flags
    for limit in (0, float("nan")):
        with pytest.raises(ValueError, match="--max-upload-mb must be > 0"):
            app.SpaceArguments(correspondence_model="m", max_upload_mb=limit)


def test_a_librarys_media_column_cannot_name_other_files(app, tmp_path):
    """The `media` column is data: only regular media files are served or played, whatever it names."""
    clip = tmp_path / "clip.webm"
    clip.write_bytes(b"not decoded here")
    (tmp_path / "secret-link.mp4").symlink_to("/etc/passwd")
    (tmp_path / "folder.mp4").mkdir()
    named = [str(clip), "/etc/passwd", str(tmp_path / "secret-link.mp4"), str(tmp_path / "folder.mp4"), None]
    assert app.servable_media(named) == [str(clip.resolve())]
    item = app.RecommendedItem(
        rank=1,
        score=1.0,
        track="t",
        segment_id="s",
        media="/etc/passwd",
        start=0.0,
        end=1.0,
        emotion=None,
        predicted_emotions=None,
        query_segment=None,
    )
    assert app.media_players(item) == (None, None)


def test_a_request_raises_no_pandas_deprecation_warnings(app, space, recwarn):
    """Issue 26.8: gradio's queue summarised every request with two pandas calls that pandas 3 deprecates."""
    from gradio_client import Client

    demo, url = _serve(app, space)
    try:
        ranked = Client(url, verbose=False).predict(
            app.SEGMENT_SOURCE, None, space.video_segments[0], api_name="/on_find"
        )
        assert space.video_segments[0] in ranked[0]  # the query summary: the request ran through the queue
    finally:
        demo.close()
    deprecations = [
        str(warning.message) for warning in recwarn if issubclass(warning.category, DeprecationWarning)
    ]
    assert not [message for message in deprecations if "pandas" in message or "deprecated" in message], (
        deprecations
    )
