#!/usr/bin/env python
"""EmoMV demo (a Gradio app, laid out as a Hugging Face Space): find music for a video, videos for music; do
these match?

    python examples/space/app.py --retrieval-model OUT/retrieval --correspondence-model OUT/correspondence \
        --library datasets/emomv-c [--extractor extractors] [--server-name 0.0.0.0] [--server-port 7860]

"Find music for a video" ranks the library's tracks for an uploaded video or a library video segment with a
retrieval model (MusicRecommender); "Find videos for music" ranks its music videos for a track or a library
music segment with the same model. "Do these match?" scores a video and a music track (files or library
segments) with a correspondence model (PairMatcher). Either model may be left out: its tab says so. Every flag
has an environment variable (EMOMV_RETRIEVAL_MODEL, EMOMV_CORRESPONDENCE_MODEL, EMOMV_LIBRARY, ...; see
--help), which is how a Space is configured. Models and the library are folders or Hub ids.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from emomv_hf.cli import make_parser, run_script  # noqa: E402
from emomv_hf.emotions import EMOTIONS  # noqa: E402
from emomv_hf.features.arguments import ExtractorArguments  # noqa: E402
from emomv_hf.features.extract import FeatureExtractionError  # noqa: E402
from emomv_hf.features.media import (  # noqa: E402
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    MediaError,
    probe_media,
    read_audio,
)
from emomv_hf.recommendation.arguments import QueryExtractorArguments, query_extractors  # noqa: E402
from emomv_hf.recommendation.index import OTHER_STREAM  # noqa: E402
from emomv_hf.recommendation.match import MatchResult, PairMatcher  # noqa: E402
from emomv_hf.recommendation.recommend import (  # noqa: E402
    MusicRecommender,
    Recommendations,
    RecommendedItem,
    time_range,
    top_emotions,
)

RESULT_COLUMNS = ("rank", "score", "track", "segment", "time", "label", "predicted emotion", "file")
"""Columns of the Find-music result table (every cell is text, as shown)."""

SEGMENT_SOURCE, FILE_SOURCE = "Library segment", "File"
SOURCES = (SEGMENT_SOURCE, FILE_SOURCE)
MAX_SEGMENT_CHOICES = 5000
"""Segment ids offered in a dropdown; a bigger library's other ids can still be typed."""
PLAYBACK_SAMPLE_RATE = 44_100
"""Sample rate of the segment clips the audio player plays (VGGish's 16 kHz would sound muffled)."""

PANDAS_DEPRECATIONS_IN_GRADIO = (
    "'future.no_silent_downcasting' is deprecated",
    "The copy keyword is deprecated",
)
"""The pandas 3 deprecation warnings gradio's queue raises on every request (see :func:`launch`)."""

USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    FileNotFoundError,
    FeatureExtractionError,
    MediaError,
)
"""Errors of a bad query (a file without the stream, an unknown segment); the app shows their message."""


EXTRACTOR_VARIABLES = {
    "extractor": ("EMOMV_EXTRACTOR", str),
    "slowfast_weights": ("EMOMV_SLOWFAST_WEIGHTS", str),
    "vggish_weights": ("EMOMV_VGGISH_WEIGHTS", str),
    "random_init": ("EMOMV_RANDOM_INIT", bool),
    "segment_seconds": ("EMOMV_SEGMENT_SECONDS", float),
    "device": ("EMOMV_DEVICE", str),
}
"""The environment variable (and its type) of each flag of :class:`ExtractorArguments` (uploaded files)."""


def _env_value(name: str, default: str | None = None, kind: type = str) -> Any:
    """The environment variable ``name`` (else, or when set empty, ``default``) as a ``kind``."""
    value = os.environ.get(name) or default
    if value is None or kind is str:
        return value
    if kind is bool:
        return value.lower() in ("1", "true", "yes")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not a valid {kind.__name__}") from None


def _env(name: str, help: str, default: str | None = None, kind: type = str) -> Any:
    """A flag whose default is the environment variable ``name`` (read when the parser is made)."""
    return field(
        default_factory=lambda: _env_value(name, default, kind), metadata={"help": f"{help} [{name}]"}
    )


@dataclass(kw_only=True)
class SpaceArguments:
    """The models, the library and the server of the demo; each flag defaults to its environment variable."""

    retrieval_model: str | None = _env(
        "EMOMV_RETRIEVAL_MODEL", "retrieval model (train.py --task retrieval): a folder or Hub id"
    )
    correspondence_model: str | None = _env(
        "EMOMV_CORRESPONDENCE_MODEL",
        "correspondence model (train.py --task correspondence): a folder or Hub id",
    )
    library: str | None = _env(
        "EMOMV_LIBRARY", "segments dataset to rank and to pick segments from: a folder or Hub id"
    )
    split: str | None = _env("EMOMV_LIBRARY_SPLIT", "the library split to use (default: every split)")
    index_dir: str | None = _env(
        "EMOMV_INDEX_DIR",
        "where the retrieval index lives; a stale one here is refused, not rebuilt (default: a folder per library "
        "and model in the Hugging Face cache, $HF_HOME/emomv_hf/retrieval-index, as recommend.py's)",
    )
    top_k: int = _env("EMOMV_TOP_K", "tracks listed by Find music", "10", int)
    server_name: str = _env(
        "GRADIO_SERVER_NAME", "address to listen on (0.0.0.0: every interface)", "127.0.0.1"
    )
    server_port: int = _env("GRADIO_SERVER_PORT", "port to listen on", "7860", int)
    max_upload_mb: float = _env(
        "EMOMV_SPACE_MAX_UPLOAD_MB",
        "largest file a visitor may upload, in MB (bigger ones get 413)",
        "200",
        float,
    )
    upload_lifetime_s: int = _env(
        "EMOMV_SPACE_UPLOAD_LIFETIME_S", "seconds an uploaded file is kept before it is deleted", "3600", int
    )
    max_query_seconds: float = _env(
        "EMOMV_SPACE_MAX_QUERY_SECONDS",
        "longest uploaded file a query extracts, in seconds (each segment costs seconds of CPU: a long file "
        "would hold the app for everyone)",
        "600",
        float,
    )

    def __post_init__(self) -> None:
        if not (self.retrieval_model or self.correspondence_model):
            raise ValueError(
                "give --retrieval-model and/or --correspondence-model (or EMOMV_RETRIEVAL_MODEL / "
                "EMOMV_CORRESPONDENCE_MODEL)"
            )
        if self.retrieval_model and not self.library:
            raise ValueError("--retrieval-model needs --library (or EMOMV_LIBRARY): the tracks to rank")
        if self.top_k < 1:
            raise ValueError(f"--top-k must be >= 1, got {self.top_k}")
        if not self.max_upload_mb > 0:  # NaN too, which every comparison would let through
            raise ValueError(f"--max-upload-mb must be > 0, got {self.max_upload_mb}")
        if self.upload_lifetime_s < 1:
            raise ValueError(f"--upload-lifetime-s must be >= 1, got {self.upload_lifetime_s}")
        if not self.max_query_seconds > 0:
            raise ValueError(f"--max-query-seconds must be > 0, got {self.max_query_seconds}")


@dataclass
class Space:
    """What the demo serves: the loaded models (``None`` with the reason in ``missing``) and the library."""

    recommender: MusicRecommender | None
    matcher: PairMatcher | None
    missing: dict[str, str]
    top_k: int = 10
    video_segments: list[str] = field(default_factory=list)
    music_segments: list[str] = field(default_factory=list)
    media_files: list[str] = field(default_factory=list)
    """The library's media files (resolved): the only files of this machine the app serves."""
    max_query_seconds: float = 600.0
    """Longest uploaded file a query extracts (the length its segments are cut from, read from its header)."""


def load_space(args: SpaceArguments, extractors: ExtractorArguments | None = None) -> Space:
    """Load the models and the library (building the retrieval index the first time); ``extractors`` extract
    uploaded files (into segments as long as the library's, unless they set a length)."""
    recommender = matcher = None
    missing = {}
    if args.retrieval_model:
        recommender = MusicRecommender.from_pretrained(
            args.retrieval_model,
            args.library,
            index_dir=args.index_dir,
            split=args.split,
            extractors=extractors,
            progress=False,
        )
    else:
        missing["find"] = (
            "No retrieval model was given: start the app with --retrieval-model (or set EMOMV_RETRIEVAL_MODEL)."
        )
    if args.correspondence_model:
        # One settled segment length for both tabs (the recommender's, which warns once if it is not the library's).
        settled = (
            recommender.extractors if recommender is not None else query_extractors(extractors, args.library)
        )
        matcher = PairMatcher.from_pretrained(
            args.correspondence_model, args.library or None, split=args.split, extractors=settled
        )
    else:
        missing["match"] = (
            "No correspondence model was given: start the app with --correspondence-model "
            "(or set EMOMV_CORRESPONDENCE_MODEL)."
        )
    space = Space(recommender, matcher, missing, top_k=args.top_k, max_query_seconds=args.max_query_seconds)
    if matcher is not None and matcher.library is not None:
        space.video_segments = matcher.library.segment_ids("video")
        space.music_segments = matcher.library.segment_ids("music")
        media = matcher.library.metadata["media"].to_pylist()
    elif recommender is not None:
        streams = recommender.index.streams
        for stream in ("video", "music"):
            if stream in streams:
                ids = streams[stream].entries.data.column("segment_id").to_pylist()
                setattr(space, f"{stream}_segments", ids)
        media = [
            path for index in streams.values() for path in index.entries.data.column("media").to_pylist()
        ]
    else:
        media = []
    space.media_files = servable_media(media)
    return space


def servable_media(paths: list[str | None]) -> list[str]:
    """The files of a library's ``media`` column that the app may serve: each file itself, never its folder (Gradio
    serves everything below an allowed folder: keys, ``.env``, other files), and only regular files with a media
    extension once links are resolved, since the column is data (a library made by someone else may name any
    path, ``/etc/passwd`` or a link to it)."""
    resolved = {Path(path).resolve() for path in paths if path}
    return sorted(
        str(path) for path in resolved if path.suffix.lower() in MEDIA_EXTENSIONS and path.is_file()
    )


# -- the app's logic, without Gradio ------------------------------------------------------------------------------


def _choose(space: Space, source: str, file: str | None, segment: str | None, stream: str) -> dict[str, str]:
    """One side of a query from the form: ``{stream: file}`` (an upload no longer than the space's
    ``max_query_seconds``) or ``{"segment": id}``."""
    if source == FILE_SOURCE:
        if not file:
            raise ValueError(f"upload a {stream} file (or pick a library segment)")
        # Extraction cuts the file by the length its header gives: bound that before any segment is decoded (a
        # missing file is the extraction's FileNotFoundError).
        seconds = probe_media(file).duration if Path(file).is_file() else None
        if seconds is not None and seconds > space.max_query_seconds:
            raise ValueError(
                f"{Path(file).name} lasts {seconds:.0f} s; this app extracts files of up to "
                f"{space.max_query_seconds:g} s: upload a shorter clip"
            )
        return {stream: file}
    if source == SEGMENT_SOURCE:
        if not segment:
            raise ValueError(f"pick a library {stream} segment (or upload a {stream} file)")
        return {"segment": segment}
    raise ValueError(f"{stream} source must be one of {', '.join(SOURCES)}, got {source!r}")


def find(
    space: Space, query_stream: str, source: str, file: str | None = None, segment: str | None = None
) -> Recommendations:
    """The library's top items of the other stream for a ``query_stream`` file or library segment: tracks for
    a video, music videos for a piece of music."""
    if space.recommender is None:
        raise ValueError(space.missing["find"])
    query = _choose(space, source, file, segment, query_stream)
    return space.recommender.recommend(top_k=space.top_k, query_stream=query_stream, **query)


def match_pair(
    space: Space,
    video_source: str,
    video_file: str | None,
    video_segment: str | None,
    music_source: str,
    music_file: str | None,
    music_segment: str | None,
) -> MatchResult:
    """The matched probability of a video and a music track, each a file or a library segment."""
    if space.matcher is None:
        raise ValueError(space.missing["match"])
    video = _choose(space, video_source, video_file, video_segment, "video")
    music = _choose(space, music_source, music_file, music_segment, "music")
    return space.matcher.match(
        video=video.get("video"),
        video_segment=video.get("segment"),
        music=music.get("music"),
        music_segment=music.get("segment"),
    )


def result_rows(recommendations: Recommendations) -> list[list[str]]:
    """The result table: one row of :data:`RESULT_COLUMNS` per ranked track."""
    return [
        [
            str(item.rank),
            f"{item.score:.4f}",
            item.track,
            item.segment_id,
            time_range(item.start, item.end),
            item.emotion or "-",
            top_emotions(item.predicted_emotions, count=1),
            Path(item.media).name if item.media else "-",
        ]
        for item in recommendations.items
    ]


def _source_name(side: dict[str, Any]) -> str:
    """A query side's name as shown: a segment id, or an uploaded file's name (not its temporary folder)."""
    return side["source"] if side["kind"] in ("segment", "features") else Path(side["source"]).name


def query_summary(recommendations: Recommendations) -> str:
    query, library = recommendations.query, recommendations.library
    emotions = query["predicted_emotions"]
    return (
        f"Query **{_source_name(query)}** ({len(query['segments'])} segment(s)): {len(recommendations.items)} "
        f"of the {library['segments']} {library['stream']} segments of `{library['name']}`, ranked per "
        f"{library['per']} by {library['similarity']} similarity."
        + ("" if emotions else " This model predicts no emotions (single-task).")
    )


def item_summary(item: RecommendedItem) -> str:
    media = f"`{Path(item.media).name}`" if item.media else "no media in the library"
    return (
        f"Rank {item.rank}: **{item.track}** (segment {item.segment_id}, {time_range(item.start, item.end)}), "
        f"score {item.score:.4f}; label {item.emotion or '-'}; {media}."
    )


def match_summary(result: MatchResult) -> str:
    verdict = "a match" if result.matched else "not a match"
    pairs = len(result.pairs)
    return (
        f"**{_source_name(result.video)}** with **{_source_name(result.music)}**: matched probability "
        f"{result.probability:.6f} ({verdict}), the mean over {pairs} aligned segment pair(s)."
    )


def media_players(
    item: RecommendedItem, stream: str = "music"
) -> tuple[str | None, tuple[int, np.ndarray] | str | None]:
    """``(video, audio)`` values of the players for one ranked segment of ``stream``.

    A music video plays whole in the video player. For a ranked music segment the audio player plays that
    segment's music alone (its ``[start, end)`` seconds, decoded at `PLAYBACK_SAMPLE_RATE` as 16-bit samples),
    so a user hears what was ranked rather than the start of the track; without a time range, the whole file.
    A ranked video segment has the video player only. Raises :class:`MediaError` for a file that is gone.
    """
    if not item.media or Path(item.media).resolve().suffix.lower() not in MEDIA_EXTENSIONS:
        return None, None  # the library's `media` column is data: play nothing but media files
    if not Path(item.media).is_file():  # a player of a missing file breaks; read_audio would raise later
        raise MediaError(f"{item.media} is missing (moved or deleted since the library was indexed)")
    video = item.media if Path(item.media).suffix.lower() in VIDEO_EXTENSIONS else None
    if stream == "video":
        return video, None
    if item.start is None or item.end is None:
        return video, None if video else item.media
    waveform = read_audio(item.media, item.start, item.end, sample_rate=PLAYBACK_SAMPLE_RATE)
    return video, (PLAYBACK_SAMPLE_RATE, (np.clip(waveform, -1.0, 1.0) * 32767).astype(np.int16))


# -- the Gradio layout ----------------------------------------------------------------------------------------------


def build_demo(space: Space, upload_lifetime_s: int = 3600):
    """The three tabs as a ``gradio.Blocks`` (launch it with :func:`launch`); uploads and outputs are deleted
    once they are ``upload_lifetime_s`` old."""
    import gradio as gr

    def error_text(error: BaseException) -> str:
        """A bad query's message, shown in the tab's summary (and as a toast); the results are cleared."""
        gr.Warning(str(error))
        return f"**Error:** {error}"

    def emotion_chart(side: str, elem_id: str):
        """The bars of one side's predicted emotions (every class shown)."""
        return gr.Label(num_top_classes=len(EMOTIONS), label=f"{side}: predicted emotions", elem_id=elem_id)

    def query_picker(stream: str, prefix: str, upload_id: str):
        """One query side of ``stream``: a source radio, then the library segment picker or the upload box, as
        the radio says. Returns ``(source, segment, upload)``."""
        source = gr.Radio(
            list(SOURCES),
            value=SEGMENT_SOURCE,
            label=f"{stream.capitalize()} from",
            elem_id=f"{prefix}-source",
        )
        ids = getattr(space, f"{stream}_segments")
        segment = gr.Dropdown(
            choices=ids[:MAX_SEGMENT_CHOICES],
            value=ids[0] if ids else None,
            label=f"Library {stream} segment",
            allow_custom_value=len(ids) > MAX_SEGMENT_CHOICES,
            filterable=True,
            elem_id=f"{prefix}-segment",
        )
        if stream == "video":
            upload = gr.Video(label="Video file", sources=["upload"], visible=False, elem_id=upload_id)
        else:
            upload = gr.Audio(
                label="Music file", sources=["upload"], type="filepath", visible=False, elem_id=upload_id
            )
        source.change(
            lambda chosen: (
                gr.update(visible=chosen == SEGMENT_SOURCE),
                gr.update(visible=chosen == FILE_SOURCE),
            ),
            source,
            [segment, upload],
        )
        return source, segment, upload

    def ranking_tab(query_stream: str, title: str, prefix: str) -> None:
        """A tab that ranks the library's ``OTHER_STREAM[query_stream]`` segments for a query of ``query_stream``
        (every element id starts with ``prefix``)."""
        ranked = OTHER_STREAM[query_stream]
        noun = "tracks" if ranked == "music" else "music videos"

        with gr.Tab(title, id=prefix):
            if space.recommender is None:
                gr.Markdown(space.missing["find"], elem_id=f"{prefix}-missing")
                return
            with gr.Row():
                with gr.Column():
                    source, segment, upload = query_picker(query_stream, prefix, f"{prefix}-{query_stream}")
                    button = gr.Button(
                        f"Find {'music' if ranked == 'music' else 'videos'}",
                        variant="primary",
                        elem_id=f"{prefix}-button",
                    )
                with gr.Column():
                    summary = gr.Markdown(elem_id=f"{prefix}-summary")
                    query_chart = emotion_chart(query_stream.capitalize(), f"{prefix}-query-emotions")
            results = gr.Dataframe(
                headers=list(RESULT_COLUMNS),
                datatype="str",
                interactive=False,
                label=f"Top {space.top_k} {noun}",
                elem_id=f"{prefix}-results",
            )
            with gr.Row():
                with gr.Column():
                    pick = gr.Dropdown(
                        choices=[], label=f"Show {noun[:-1]}", interactive=True, elem_id=f"{prefix}-pick-rank"
                    )
                    item_text = gr.Markdown(elem_id=f"{prefix}-item-summary")
                    item_video = gr.Video(
                        label="Music video", interactive=False, visible=False, elem_id=f"{prefix}-track-video"
                    )
                    item_audio = gr.Audio(
                        label="The ranked segment's music",
                        interactive=False,
                        type="filepath",
                        visible=False,
                        elem_id=f"{prefix}-track-audio",
                    )
                item_chart = emotion_chart(ranked.capitalize(), f"{prefix}-track-emotions")
            found = gr.State()

            def show_item(recommendations: Recommendations | None, choice: str | None):
                if recommendations is None or not choice:
                    return None, "", gr.Video(visible=False), gr.Audio(visible=False)
                item = recommendations.items[int(choice.split(".")[0]) - 1]
                text = item_summary(item)
                try:
                    video, audio = media_players(item, ranked)
                except MediaError as error:  # a library file moved or unreadable since indexing
                    video, audio, text = None, None, f"{text}\n\nError: {error}"
                return (
                    item.predicted_emotions,
                    text,
                    gr.Video(value=video, visible=video is not None),
                    gr.Audio(value=audio, visible=audio is not None),
                )

            def on_find(chosen: str, file: str | None, segment_id: str | None):
                try:
                    recommendations = find(space, query_stream, chosen, file, segment_id)
                except USER_ERRORS as error:
                    return (
                        None,
                        error_text(error),
                        None,
                        [],
                        gr.Dropdown(choices=[], value=None),
                        *show_item(None, None),
                    )
                choices = [f"{item.rank}. {item.track}" for item in recommendations.items]
                first = choices[0] if choices else None
                return (
                    recommendations,
                    query_summary(recommendations),
                    recommendations.query["predicted_emotions"],
                    result_rows(recommendations),
                    gr.Dropdown(choices=choices, value=first),
                    *show_item(recommendations, first),
                )

            item_outputs = [item_chart, item_text, item_video, item_audio]
            button.click(
                on_find,
                [source, upload, segment],
                [found, summary, query_chart, results, pick, *item_outputs],
            )
            pick.input(show_item, [found, pick], item_outputs)

    lifetime = (upload_lifetime_s, upload_lifetime_s)  # (how often to look, age to delete)
    with gr.Blocks(title="EmoMV: music for a video", delete_cache=lifetime) as demo:
        gr.Markdown(
            "# EmoMV: music for a video\nAffective music-video correspondence "
            "([EmoMV](https://github.com/ivyha010/EmoMV)): emotions predicted for five classes "
            f"({', '.join(EMOTIONS)})."
        )
        ranking_tab("video", "Find music for a video", "find")
        ranking_tab("music", "Find videos for music", "videos")
        with gr.Tab("Do these match?", id="match"):
            if space.matcher is None:
                gr.Markdown(space.missing["match"], elem_id="match-missing")
            else:
                with gr.Row():
                    with gr.Column():
                        video_source, video_segment, video_file = query_picker("video", "video", "video-file")
                    with gr.Column():
                        music_source, music_segment, music_file = query_picker("music", "music", "music-file")
                match_button = gr.Button("Do these match?", variant="primary", elem_id="match-button")
                with gr.Row():
                    with gr.Column():
                        probability = gr.Textbox(
                            label="Matched probability", interactive=False, elem_id="match-probability"
                        )
                        verdict = gr.Label(label="Correspondence", elem_id="match-verdict")
                        match_text = gr.Markdown(elem_id="match-summary")
                    video_chart = emotion_chart("Video", "video-emotions")
                    music_chart = emotion_chart("Music", "music-emotions")

                def on_match(*form: Any):
                    try:
                        result = match_pair(space, *form)
                    except USER_ERRORS as error:
                        return "", None, error_text(error), None, None
                    return (
                        f"{result.probability:.6f}",
                        {"matched": result.probability, "mismatched": 1.0 - result.probability},
                        match_summary(result),
                        result.video["predicted_emotions"],
                        result.music["predicted_emotions"],
                    )

                match_button.click(
                    on_match,
                    [video_source, video_file, video_segment, music_source, music_file, music_segment],
                    [probability, verdict, match_text, video_chart, music_chart],
                )
    return demo


def launch(
    space: Space,
    server_name: str,
    server_port: int,
    *,
    block: bool = True,
    max_upload_mb: float = 200,
    upload_lifetime_s: int = 3600,
):
    """Serve :func:`build_demo`; returns the demo (serving in a thread unless ``block``).

    The app serves the library's media files (and nothing beside them), the files visitors upload (at most
    ``max_upload_mb`` each; larger ones are refused with 413 and not kept) and the models' outputs. Uploads and
    outputs are deleted once they are ``upload_lifetime_s`` old (checked as often)."""
    demo = build_demo(space, upload_lifetime_s)
    # Gradio's queue summarises every request for its monitoring page (gradio.queueing.Queue._get_df) with two pandas
    # calls that pandas 3 deprecates; the app does not use that page, and the warnings say nothing about it.
    for message in PANDAS_DEPRECATIONS_IN_GRADIO:
        warnings.filterwarnings(
            "ignore", message=re.escape(message), category=DeprecationWarning, module=r"gradio\.queueing"
        )
    demo.launch(
        server_name=server_name,
        server_port=server_port,
        allowed_paths=space.media_files,
        max_file_size=int(max_upload_mb * 1024 * 1024),
        prevent_thread_lock=not block,
        ssr_mode=False,
        quiet=not block,
    )
    return demo


def build_parser():
    parser = make_parser(
        SpaceArguments, QueryExtractorArguments, prog="app.py", description=__doc__.splitlines()[0]
    )
    # The extractor flags are declared once (ExtractorArguments); here they default to their variables.
    for action in parser._actions:
        if action.dest in EXTRACTOR_VARIABLES:
            name, kind = EXTRACTOR_VARIABLES[action.dest]
            value = _env_value(name, None, kind)
            if value is not None:
                action.default = value
            action.help = f"{action.help} [{name}]"
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except ValueError as error:  # an environment variable that is not a number
        print(f"error: {error}", file=sys.stderr)
        return 2
    return run_script(parser, _run, argv, errors=(FeatureExtractionError, MediaError))


def _run(args: SpaceArguments, extractors: ExtractorArguments) -> int:
    space = load_space(args, extractors)
    warnings.simplefilter("ignore", ResourceWarning)  # the server's event loops, not the app's
    for reason in space.missing.values():
        print(f"note: {reason}", file=sys.stderr)
    launch(
        space,
        args.server_name,
        args.server_port,
        max_upload_mb=args.max_upload_mb,
        upload_lifetime_s=args.upload_lifetime_s,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
