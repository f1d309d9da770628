"""Decoding and the VGGish front end / network (fast: no SlowFast here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers.audio_utils import hertz_to_mel

from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.features.configuration_vggish import VGGishConfig
from emomv_hf.features.convert import load_extractor, vggish_from_port
from emomv_hf.features.extract import split_into_segments
from emomv_hf.features.feature_extraction_vggish import (
    MEL_MAX_HZ,
    MEL_MIN_HZ,
    log_mel_spectrogram,
    mel_filterbank,
    waveform_to_examples,
)
from emomv_hf.features.media import (
    VGGISH_SAMPLE_RATE,
    MediaError,
    MediaInfo,
    probe_media,
    read_audio,
    read_video_frames,
)
from emomv_hf.features.modeling_vggish import VGGishModel

from .synthetic_media import HEIGHT, WIDTH, rotate_upright, write_clip


def _all_frames(clip: Path) -> np.ndarray:
    import av

    with av.open(str(clip)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def test_probe_and_video_frames(clip: Path):
    info = probe_media(clip)
    assert info.has_video and info.has_audio
    assert info.duration == pytest.approx(3.5, abs=0.05)
    everything = _all_frames(clip)
    assert everything.shape == (35, HEIGHT, WIDTH, 3)
    window = read_video_frames(clip, 1.0, 2.0, num_frames=10)
    assert window.shape == (10, HEIGHT, WIDTH, 3) and window.dtype == np.uint8
    # The red channel encodes the frame index: the window's 10 frames are frames 10-19.
    np.testing.assert_allclose(window[:, 0, 0, 0].astype(int), everything[10:20, 0, 0, 0].astype(int), atol=2)


def test_uniform_frame_sampling(clip: Path):
    everything = _all_frames(clip)
    sampled = read_video_frames(clip, 0.0, 3.5, num_frames=8)
    assert sampled.shape == (8, HEIGHT, WIDTH, 3)
    # Same frames as linspace(0, T - 1, 8) over the 35 frames, truncated (pytorchvideo's UniformTemporalSubsample).
    index = np.linspace(0, 34, 8).astype(int)
    np.testing.assert_allclose(
        sampled[:, 0, 0, 0].astype(int), everything[index, 0, 0, 0].astype(int), atol=2
    )
    assert read_video_frames(clip, 1.0, 2.0, num_frames=32).shape == (32, HEIGHT, WIDTH, 3)


@pytest.mark.parametrize("container", ["mp4", "avi with B-frames"])
def test_video_frames_are_pytorchvideos_clip_subsampled(clip: Path, tmp_path: Path, container):
    # The frames of pytorchvideo's EncodedVideo.get_clip(start, end) at UniformTemporalSubsample's truncated
    # linspace indices; the nearest frame to each evenly spaced time was taken (frame 5, not 4, of 0-34). An AVI
    # with B-frames: seeking to the window's start landed after it, so its first frames were missing.
    encoded_video = pytest.importorskip("pytorchvideo.data.encoded_video")
    video = clip if container == "mp4" else write_clip(tmp_path / "clip.avi", 3.5, b_frames=2)
    for start, end, num_frames in [
        (0.0, 3.5, 8),
        (1.0, 2.0, 8),
        (0.5, 3.0, 32),
        (1.5, 2.3, 8),
        (2.9, 3.5, 4),
    ]:
        frames = encoded_video.EncodedVideo.from_path(video, decoder="pyav").get_clip(start, end)["video"]
        index = torch.linspace(0, frames.shape[1] - 1, num_frames).long()  # uniform_temporal_subsample
        expected = frames[:, index].permute(1, 2, 3, 0).to(torch.uint8).numpy()
        np.testing.assert_array_equal(read_video_frames(video, start, end, num_frames), expected)


def test_video_window_times_count_from_the_first_frame(tmp_path: Path):
    # A video stream stamped from 2 s: a window [a, b) is the same frames as in a clip stamped from 0, as audio
    # positions count from the first sample; it used to be [a - 2, b - 2) of the content (the end never read).
    late, clip = (
        write_clip(tmp_path / f"{name}.mp4", start_seconds=start) for name, start in (("late", 2), ("c", 0))
    )
    assert probe_media(late).duration == pytest.approx(3.5, abs=0.05)
    for start, end in ((0.0, 3.5), (1.0, 2.0), (2.5, 3.5)):
        np.testing.assert_array_equal(
            read_video_frames(late, start, end, 8), read_video_frames(clip, start, end, 8)
        )


def test_a_matroska_file_whose_streams_start_late_is_cut_at_its_end(tmp_path: Path):
    # Matroska stores no stream durations, and FFmpeg's container duration of an mkv is its end time: streams
    # stamped from 2 s made a 3.5 s file 5.5 s long, and its last windows had no frames.
    late = write_clip(tmp_path / "late.mkv", 3.5, start_seconds=2.0)
    assert probe_media(late).duration == pytest.approx(3.5, abs=0.05)
    segments = split_into_segments(probe_media(late).duration, 1.0)
    assert len(segments) == 4
    assert read_video_frames(late, *segments[-1], num_frames=4).shape == (4, HEIGHT, WIDTH, 3)


def test_video_frames_are_turned_as_the_rotation_metadata_says(clip: Path, tmp_path: Path):
    # A phone video held upright stores landscape frames with a display matrix: the frames a viewer sees (and
    # SlowFast, trained on upright video, should see) are turned 90 degrees clockwise; they came out sideways.
    upright = rotate_upright(write_clip(tmp_path / "phone.mp4", 3.5))
    frames = read_video_frames(upright, 1.0, 2.0, num_frames=4)
    assert frames.shape == (4, WIDTH, HEIGHT, 3)
    np.testing.assert_array_equal(
        frames, np.rot90(read_video_frames(clip, 1.0, 2.0, num_frames=4), -1, (1, 2))
    )


@pytest.mark.parametrize("size", [(2, 1080), (1080, 2), (WIDTH, HEIGHT)])
def test_extreme_aspect_ratios_and_frame_sizes_are_refused(tmp_path: Path, monkeypatch, size):
    # SlowFast's preprocessing scales the short side to 256: the 32 frames of a 2x1080 video became 256x138240
    # float32 images, about 13 GB, and the machine went down. The 64x48 clip stands for frames of too many pixels.
    import emomv_hf.features.media as media

    monkeypatch.setattr(media, "MAX_FRAME_PIXELS", WIDTH * HEIGHT - 1)
    odd = write_clip(tmp_path / "odd.mp4", 1.0, with_audio=False, size=size)
    with pytest.raises(
        MediaError, match=rf"odd.mp4: {size[0]}x{size[1]} video frames are beyond the 4:1"
    ) as error:
        read_video_frames(odd, 0.0, 1.0, num_frames=32)
    assert "\n" not in str(error.value)


def test_cover_art_is_not_a_video_stream(tmp_path: Path):
    # A music file's album cover is a one-picture "video" stream marked attached_pic: it was taken for the video,
    # so every song of a library got SlowFast features of a still picture (or a failing window after 0 s).
    song = write_clip(tmp_path / "song.mp4", 2.0, with_video=False, cover_art=True)
    assert probe_media(song) == MediaInfo(
        has_video=False, has_audio=True, duration=pytest.approx(2.0, abs=0.05)
    )
    with pytest.raises(MediaError, match="no video stream"):
        read_video_frames(song, 0.0, 1.0, num_frames=4)


def test_audio_is_16k_mono_of_the_right_length(clip: Path):
    audio = read_audio(clip)
    assert audio.dtype == np.float32 and audio.ndim == 1
    # AAC pads the last 1024-sample frame: allow up to ~50 ms more.
    assert 3.5 * VGGISH_SAMPLE_RATE <= audio.shape[0] <= 3.55 * VGGISH_SAMPLE_RATE
    assert 0.4 < np.abs(audio).max() < 0.6  # channel average of a 0.5 sine, not a downmix gain
    assert read_audio(clip, 1.0, 2.5).shape == (int(1.5 * VGGISH_SAMPLE_RATE),)


def test_audio_that_starts_after_the_video_is_on_the_videos_timeline(tmp_path: Path):
    # Sample positions counted from the audio stream's own first sample: with the music starting 1 s after the first
    # frame, the window of video segment k took the music of 1 s later.
    delayed = write_clip(tmp_path / "delayed.mp4", 3.5, audio_delay=1.0)
    rate = VGGISH_SAMPLE_RATE
    whole = read_audio(delayed)
    assert np.argmax(np.abs(whole) > 0.05) / rate == pytest.approx(1.0, abs=0.002)  # silence until then
    assert whole.shape[0] == pytest.approx(4.5 * rate, abs=0.05 * rate)
    np.testing.assert_array_equal(read_audio(delayed, 1.5, 2.5), whole[int(1.5 * rate) : int(2.5 * rate)])
    np.testing.assert_array_equal(read_audio(delayed, 0.5, 1.5), whole[int(0.5 * rate) : int(1.5 * rate)])


def test_media_errors_name_the_file(tmp_path: Path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(MediaError, match="nope.mp4"):
        read_audio(missing)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError, match="garbage.mp4"):
        read_video_frames(garbage, 0.0, 1.0, num_frames=2)
    silent = write_clip(tmp_path / "silent.mp4", 1.0, with_audio=False)
    with pytest.raises(MediaError, match=r"silent.mp4: no audio stream"):
        read_audio(silent)
    with pytest.raises(MediaError, match=r"silent.mp4: no video frames"):
        read_video_frames(silent, 5.0, 6.0, num_frames=2)


def test_mel_filterbank_shape_and_edges():
    weights = mel_filterbank()
    assert weights.shape == (257, 64)
    assert (weights >= 0).all() and weights[0].sum() == 0
    freqs = np.linspace(0, 8000, 257)
    used = freqs[weights.sum(axis=1) > 0]
    assert used.min() >= MEL_MIN_HZ and used.max() <= MEL_MAX_HZ


def test_log_mel_peak_of_a_pure_tone_and_framing():
    seconds, tone = 3.0, 1000.0
    t = np.arange(int(seconds * VGGISH_SAMPLE_RATE)) / VGGISH_SAMPLE_RATE
    waveform = 0.5 * np.sin(2 * np.pi * tone * t)
    log_mel = log_mel_spectrogram(waveform)
    assert log_mel.shape == (1 + (48_000 - 400) // 160, 64) and log_mel.dtype == torch.float32
    # The band whose centre is nearest to the tone in mel must hold the peak.
    edges = np.linspace(hertz_to_mel(MEL_MIN_HZ, "htk"), hertz_to_mel(MEL_MAX_HZ, "htk"), 66)
    expected = int(np.argmin(np.abs(edges[1:-1] - hertz_to_mel(tone, "htk"))))
    assert int(log_mel.mean(dim=0).argmax()) == expected
    examples = waveform_to_examples(waveform)
    assert examples.shape == (3, 1, 96, 64)
    assert waveform_to_examples(waveform[:15_000]).shape[0] == 0  # < 0.975 s: no example


def test_vggish_random_init_shapes_and_non_negative():
    torch.manual_seed(0)
    processor, model = load_extractor("vggish")
    waveform = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * VGGISH_SAMPLE_RATE)
    with torch.no_grad():
        output = model(**processor(audio=waveform, sampling_rate=VGGISH_SAMPLE_RATE))
    embeddings, feature = output.last_hidden_state[0], output.pooler_output[0]
    assert embeddings.shape == (3, 128) and embeddings.dtype == torch.float32
    assert torch.isfinite(embeddings).all() and (embeddings >= 0).all()
    assert feature.shape == (128,) and feature.dtype == torch.float32
    np.testing.assert_allclose(feature.numpy(), embeddings.mean(0).numpy(), rtol=1e-6)
    for samples in (8000, 300, 15599):  # 300: less than one STFT frame; 15,600 samples make one example
        with pytest.raises(ValueError, match="too short"):
            processor(audio=waveform[:samples], sampling_rate=VGGISH_SAMPLE_RATE)
    assert processor(audio=waveform[:15600], sampling_rate=VGGISH_SAMPLE_RATE)["input_features"].shape[1] == 1
    with pytest.raises(
        ValueError, match=r"too short .* \(a \(num_samples, num_channels\) array\? pass its transpose"
    ):
        processor(audio=np.stack([waveform, waveform], axis=1), sampling_rate=VGGISH_SAMPLE_RATE)


def test_vggish_state_dict_layout_and_round_trip(tmp_path: Path):
    model = VGGishModel(VGGishConfig())
    keys = set(model.state_dict())
    assert {"features.0.weight", "features.13.bias", "embeddings.0.weight", "embeddings.4.bias"} <= keys
    assert model.embeddings[0].in_features == 512 * 4 * 6
    torch.manual_seed(1)
    processor, first = load_extractor("vggish")
    path = tmp_path / "vggish.pth"
    torch.save(first.state_dict(), path)
    second = vggish_from_port(path)
    inputs = processor(
        audio=np.sin(np.arange(2 * VGGISH_SAMPLE_RATE) * 0.05), sampling_rate=VGGISH_SAMPLE_RATE
    )
    with torch.no_grad():
        assert torch.equal(first(**inputs).pooler_output, second(**inputs).pooler_output)
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="bad.pth"):
        vggish_from_port(tmp_path / "bad.pth")


def test_extractors_without_weights_refuse_naming_the_flags(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="--vggish-weights PATH .*--random-init"):
        ExtractorArguments(slowfast_weights=str(tmp_path)).load("cpu")
    with pytest.raises(FileNotFoundError, match="no converted checkpoint"):
        ExtractorArguments(extractor=str(tmp_path)).weights()
    with pytest.raises(FileNotFoundError, match="convert_weights.py"):
        load_extractor(tmp_path / "vggish-10086976.pth")


def test_fingerprints_and_load_refuse_the_same_bad_weights(tmp_path: Path):
    # Extraction fingerprints the extractors, the other entry points load them: both check ``weights()`` first.
    for use in (ExtractorArguments.fingerprints, lambda arguments: arguments.load("cpu")):
        with pytest.raises(FileNotFoundError, match="--slowfast-weights PATH"):
            use(ExtractorArguments())
        with pytest.raises(FileNotFoundError, match=f"{tmp_path}: not a converted extractor checkpoint"):
            use(ExtractorArguments(slowfast_weights=str(tmp_path), random_init=True))
