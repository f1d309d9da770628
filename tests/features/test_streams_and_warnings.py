"""A stream that cannot be read makes only its own feature null (issue 23.10), and building the extractors
prints no deprecation noise of the libraries below them (issue 26.8)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.features.extract import extract_dataset

from .synthetic_media import write_clip

pytest.importorskip("pytorchvideo")

RANDOM = ExtractorArguments(random_init=True, segment_seconds=1.0)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.5 s clip: enough video for SlowFast, too little audio for one 0.96 s VGGish example."""
    return write_clip(tmp_path_factory.mktemp("short") / "short.mp4", 0.5)


def test_audio_too_short_keeps_the_video_feature(short_clip: Path, tmp_path: Path):
    import datasets

    out = tmp_path / "features"
    summary = extract_dataset(short_clip.parent, out, RANDOM, progress=False)  # on_error="raise"
    assert (summary.rows, summary.all_failures) == (1, [])
    (row,) = datasets.load_dataset(str(out), "segments", split="train", download_mode="force_redownload")
    assert len(row["video_features"]) == 2304 and row["music_features"] is None
    assert not (out / "failures.csv").exists()


def test_a_short_clip_is_a_video_query(short_clip: Path):
    from emomv_hf.recommendation.recommend import extract_query

    query = extract_query(short_clip, "video", RANDOM)
    assert query.features.shape == (1, 2304) and query.segments[0].end == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="cannot be a music query"):
        extract_query(short_clip, "music", RANDOM)


def test_building_slowfast_prints_no_torch_jit_deprecation(monkeypatch):
    from emomv_hf.features.modeling_slowfast import _slowfast_blocks

    # The warnings come from importing pytorchvideo's dependencies: import them afresh (restored afterwards).
    for name in [name for name in sys.modules if name.split(".")[0] in {"pytorchvideo", "fvcore"}]:
        monkeypatch.delitem(sys.modules, name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _slowfast_blocks()
    assert [str(w.message) for w in caught if "torch.jit" in str(w.message)] == []


def test_loading_an_extractor_folder_opens_no_second_progress_bar(tmp_path: Path, capsys):
    from tqdm.auto import tqdm
    from transformers.utils import logging as transformers_logging

    from emomv_hf.features.convert import convert_checkpoint, load_extractor

    folder = convert_checkpoint("vggish", None, tmp_path / "vggish")  # random weights
    capsys.readouterr()
    with tqdm(total=1, desc="extracting") as bar:  # as extract_dataset's, open while the extractors load
        load_extractor(folder)
        bar.update(1)
    err = capsys.readouterr().err
    assert "\x1b[A" not in err and "Loading weights" not in err and "extracting" in err
    assert transformers_logging.is_progress_bar_enabled()  # restored for everything else
