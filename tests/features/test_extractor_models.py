"""The extractors and their processors as transformers classes: bit-identical to the frozen pre-change code
(``frozen_reference.py``) and to pytorchvideo's own ``slowfast_r50``, and bit-exact through save/load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor, AutoVideoProcessor

import emomv_hf  # noqa: F401  (registers the Auto classes)
from emomv_hf.features import feature_extraction_vggish
from emomv_hf.features.arguments import ExtractorArguments
from emomv_hf.features.configuration_slowfast import SlowFastConfig
from emomv_hf.features.configuration_vggish import VGGishConfig
from emomv_hf.features.convert import convert_checkpoint, load_extractor, slowfast_from_zoo, vggish_from_port
from emomv_hf.features.feature_extraction_vggish import VGGishFeatureExtractor
from emomv_hf.features.media import VGGISH_SAMPLE_RATE, resample_audio
from emomv_hf.features.modeling_slowfast import SlowFastModel
from emomv_hf.features.modeling_vggish import VGGishModel
from emomv_hf.features.processing_emomv import EmoMVProcessor
from emomv_hf.features.video_processing_slowfast import SlowFastVideoProcessor

from . import frozen_reference as frozen


def _tone(seconds: float, rate: int = VGGISH_SAMPLE_RATE, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(0).uniform(-0.1, 0.1, t.shape)
    return (0.4 * np.sin(2 * np.pi * hz * t) + noise).astype(np.float32)


# ------------------------------------------------------------------------------------------------------------
# VGGish
# ------------------------------------------------------------------------------------------------------------


def test_vggish_feature_extractor_equals_the_frozen_front_end(tmp_path: Path):
    extractor = VGGishFeatureExtractor()
    waveforms = [_tone(3.2), _tone(1.5, hz=440.0)]
    batch = extractor(waveforms, sampling_rate=VGGISH_SAMPLE_RATE, return_tensors="pt")
    assert batch["input_features"].shape == (2, 3, 1, 96, 64)
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    for index, waveform in enumerate(waveforms):
        expected = frozen.waveform_to_examples(waveform)
        count = expected.shape[0]
        assert torch.equal(batch["input_features"][index, :count], expected)
        assert (batch["input_features"][index, count:] == 0).all()
    with pytest.raises(ValueError, match="too short for VGGish"):
        extractor(_tone(0.9), sampling_rate=VGGISH_SAMPLE_RATE)
    with pytest.raises(ValueError, match="sampling_rate"):
        extractor(_tone(2.0))

    extractor.save_pretrained(tmp_path)
    assert (tmp_path / "preprocessor_config.json").is_file()
    reloaded = VGGishFeatureExtractor.from_pretrained(tmp_path)
    assert reloaded.to_dict() == extractor.to_dict()
    again = reloaded(waveforms, sampling_rate=VGGISH_SAMPLE_RATE, return_tensors="pt")
    assert torch.equal(again["input_features"], batch["input_features"])


def test_vggish_feature_extractor_refuses_integer_pcm():
    # int16 samples (scipy.io.wavfile, soundfile's dtype="int16") are 32768 times too loud for the front end, which
    # expects floats in [-1, 1]: they used to give features silently (a log-mel about 10 higher), now a ValueError.
    pcm = (_tone(2.0) * 32767).astype(np.int16)
    for rate in (VGGISH_SAMPLE_RATE, 44_100):
        with pytest.raises(ValueError, match="int16"):
            VGGishFeatureExtractor()(pcm, sampling_rate=rate)


def test_vggish_feature_extractor_resamples_and_averages_channels(monkeypatch):
    extractor = VGGishFeatureExtractor()
    rate = 44_100
    left, right = _tone(2.0, rate), _tone(2.0, rate, hz=300.0)
    stereo = np.stack([left, right])
    examples = extractor(stereo, sampling_rate=rate, return_tensors="pt")["input_features"][0]
    # The same as FFmpeg-resampling each channel to 16 kHz and averaging (what read_audio does to decoded media).
    mono = resample_audio(stereo, rate).mean(axis=0).astype(np.float32)
    assert abs(mono.shape[0] - 2 * VGGISH_SAMPLE_RATE) <= 16
    assert torch.equal(examples, frozen.waveform_to_examples(mono))
    # A mono 16 kHz waveform reaches the front end as it is (no copy, no dtype change).
    given, front_end = [], feature_extraction_vggish.waveform_to_examples
    monkeypatch.setattr(
        feature_extraction_vggish, "waveform_to_examples", lambda a: given.append(a) or front_end(a)
    )
    extractor.examples(left, VGGISH_SAMPLE_RATE)
    assert given[0] is left


def test_vggish_model_equals_the_port_module_and_round_trips(vggish_port, tmp_path: Path):
    port_vggish = vggish_port[0]
    model = VGGishModel(VGGishConfig()).eval()
    model.load_state_dict(port_vggish.state_dict())  # the port's exact key layout loads as is
    waveforms = [_tone(3.2), _tone(1.5, hz=440.0)]
    inputs = VGGishFeatureExtractor()(waveforms, sampling_rate=VGGISH_SAMPLE_RATE, return_tensors="pt")
    with torch.no_grad():
        output = model(**inputs)
        expected = [port_vggish(frozen.waveform_to_examples(w)) for w in waveforms]
    assert output.pooler_output.shape == (2, 128) and output.last_hidden_state.shape == (2, 3, 128)
    for index, embeddings in enumerate(expected):
        assert torch.equal(output.last_hidden_state[index, : len(embeddings)], embeddings)
        assert torch.equal(output.pooler_output[index], embeddings.mean(dim=0))
    assert (output.last_hidden_state[1, 1:] == 0).all()

    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file() and not list(tmp_path.glob("*.bin"))
    assert AutoConfig.from_pretrained(tmp_path).model_type == "vggish"
    reloaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, VGGishModel)
    with torch.no_grad():
        assert torch.equal(reloaded(**inputs).pooler_output, output.pooler_output)
    # transformers' (model, loading info) form works too (it was an AttributeError on the tuple).
    reloaded, info = VGGishModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    with torch.no_grad():
        assert torch.equal(reloaded.eval()(**inputs).pooler_output, output.pooler_output)


def test_vggish_from_port_file_with_pca_and_load_extractor(vggish_port, tmp_path: Path):
    port_vggish, path = vggish_port
    pca = tmp_path / "vggish_pca_params-970ea276.pth"
    eigen = torch.randn(128, 128, generator=torch.Generator().manual_seed(0))
    means = torch.randn(128, 1, generator=torch.Generator().manual_seed(1))
    torch.save({"pca_eigen_vectors": eigen, "pca_means": means}, pca)
    model = vggish_from_port(path, pca)
    assert model.config.has_pca and torch.equal(model.pca_eigen_vectors, eigen)

    waveform = _tone(2.5)
    inputs = VGGishFeatureExtractor()(waveform, sampling_rate=VGGISH_SAMPLE_RATE, return_tensors="pt")
    with torch.no_grad():
        embeddings = port_vggish(frozen.waveform_to_examples(waveform))
        output = model(**inputs)
    assert torch.equal(output.pooler_output[0], embeddings.mean(dim=0))
    expected_pca = torch.round(((eigen @ (embeddings.T - means)).T.clamp(-2, 2) + 2) * (255 / 4))
    assert torch.equal(model.postprocess(output.last_hidden_state[0]), expected_pca)

    # A converted folder gives the same features as the .pth file.
    folder = convert_checkpoint("vggish", path, tmp_path / "converted", pca_params=pca)
    processor, loaded = load_extractor(folder)
    assert isinstance(processor, EmoMVProcessor) and isinstance(loaded, VGGishModel) and loaded.config.has_pca
    with torch.no_grad():
        features = loaded(**processor(audio=waveform, sampling_rate=VGGISH_SAMPLE_RATE)).pooler_output
    assert torch.equal(features, output.pooler_output)
    assert isinstance(AutoFeatureExtractor.from_pretrained(folder), VGGishFeatureExtractor)


def test_a_converted_folder_named_like_an_extractor_kind_loads_its_weights(
    vggish_port, tmp_path: Path, monkeypatch
):
    # --vggish-weights vggish (or --extractor . beside the converted folders) named the folder 'vggish', which
    # load_extractor read as the kind: random weights, while the fingerprint and card named the folder.
    convert_checkpoint("vggish", vggish_port[1], tmp_path / "vggish")
    monkeypatch.chdir(tmp_path)
    extractor = ExtractorArguments(vggish_weights="vggish", random_init=True)
    assert extractor.fingerprints()["vggish"]["source"] == "vggish"
    loaded = extractor.load("cpu")["vggish"][1].state_dict()
    expected = vggish_port[0].state_dict()
    assert loaded.keys() == expected.keys() and all(torch.equal(loaded[k], expected[k]) for k in expected)


@pytest.mark.parametrize(
    ("config_edit", "error"),
    [
        ({}, r"vggish: weight embeddings\.4\.weight is missing from the checkpoint or not of the shape"),
        (
            {"hidden_size": 2048},
            r"vggish: weight embeddings\.0\.bias is missing from the checkpoint or not of",
        ),
        (
            {"num_frames": 40},
            r"vggish/config\.json: `num_frames` must be a positive multiple of 16, got 40\.$",
        ),
    ],
)
def test_a_damaged_or_edited_extractor_folder_is_refused_in_one_line(
    vggish_port, tmp_path: Path, config_edit, error
):
    # A tensor missing from the weights (or of another shape than config.json makes) was initialised at random
    # with only a logged table, so extraction made features of noise under the folder's name; a config field
    # out of range was a StrictDataclassError traceback.
    from safetensors.torch import load_file, save_file

    folder = convert_checkpoint("vggish", vggish_port[1], tmp_path / "vggish")
    if config_edit:
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | config_edit))
    else:
        state = load_file(folder / "model.safetensors")
        del state["embeddings.4.weight"]
        save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=error):
        load_extractor(folder)


# ------------------------------------------------------------------------------------------------------------
# SlowFast
# ------------------------------------------------------------------------------------------------------------


def test_slowfast_video_processor_equals_the_frozen_preprocessing(tmp_path: Path):
    processor = SlowFastVideoProcessor()
    rng = np.random.default_rng(0)
    for shape in [(32, 48, 64, 3), (32, 64, 48, 3), (32, 50, 50, 3)]:
        frames = rng.integers(0, 256, shape, dtype=np.uint8)
        inputs = processor(frames, return_tensors="pt")
        slow, fast = frozen.preprocess_clip(frames)
        assert torch.equal(inputs["pixel_values_slow"], slow) and torch.equal(
            inputs["pixel_values_fast"], fast
        )
    # Longer inputs are sampled to 32 frames at linspace(0, T - 1, 32) (UniformTemporalSubsample).
    frames = rng.integers(0, 256, (45, 48, 64, 3), dtype=np.uint8)
    index = torch.linspace(0, 44, 32).long().numpy()
    inputs = processor([frames, frames[index]], return_tensors="pt")
    assert inputs["pixel_values_fast"].shape == (2, 3, 32, 256, 256)
    assert torch.equal(inputs["pixel_values_fast"][0], inputs["pixel_values_fast"][1])
    assert torch.equal(inputs["pixel_values_fast"][0], frozen.preprocess_clip(frames[index])[1][0])

    processor.save_pretrained(tmp_path)
    reloaded = SlowFastVideoProcessor.from_pretrained(tmp_path)
    assert reloaded.to_dict() == processor.to_dict()
    assert torch.equal(
        reloaded(frames, return_tensors="pt")["pixel_values_slow"], inputs["pixel_values_slow"][:1]
    )


def test_slowfast_center_crop_is_the_tutorials_on_wide_video():
    # 16:9 video is scaled to 256x455: torchvision's CenterCropVideo (the SlowFast tutorial's) starts at column
    # round(199 / 2) = 100; the processor cropped from column 99.
    video_functional = pytest.importorskip("torchvision.transforms._functional_video")
    frames = np.random.default_rng(2).integers(0, 256, (32, 36, 64, 3), dtype=np.uint8)
    video = torch.from_numpy(frames).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    scaled = torch.nn.functional.interpolate(video, size=(256, 455), mode="bilinear", align_corners=False)
    expected = (video_functional.center_crop(scaled, (256, 256)) / 255.0 - 0.45) / 0.225
    fast = SlowFastVideoProcessor()(frames, return_tensors="pt")["pixel_values_fast"][0]
    torch.testing.assert_close(fast, expected.permute(1, 0, 2, 3))


def test_emomv_processor_round_trip_and_auto_classes(tmp_path: Path):
    pytest.importorskip("pytorchvideo")
    processor = EmoMVProcessor()
    frames = np.random.default_rng(1).integers(0, 256, (32, 48, 64, 3), dtype=np.uint8)
    waveform = _tone(2.1)
    inputs = processor(videos=frames, audio=waveform, sampling_rate=VGGISH_SAMPLE_RATE)
    assert set(inputs) == {"pixel_values_slow", "pixel_values_fast", "input_features", "attention_mask"}
    assert torch.equal(inputs["pixel_values_fast"], frozen.preprocess_clip(frames)[1])
    assert torch.equal(inputs["input_features"][0], frozen.waveform_to_examples(waveform))
    audio_only = processor(audio=waveform, sampling_rate=VGGISH_SAMPLE_RATE)
    assert set(audio_only) == {"input_features", "attention_mask"}
    with pytest.raises(ValueError, match="needs"):
        processor()

    # A checkpoint folder: model + processor; the Auto classes find both.
    SlowFastConfig().save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(loaded, EmoMVProcessor)
    assert loaded.feature_extractor.to_dict() == processor.feature_extractor.to_dict()
    assert loaded.video_processor.to_dict() == processor.video_processor.to_dict()
    again = loaded(videos=frames, audio=waveform, sampling_rate=VGGISH_SAMPLE_RATE)
    assert all(torch.equal(again[key], inputs[key]) for key in inputs)
    assert isinstance(AutoVideoProcessor.from_pretrained(tmp_path), SlowFastVideoProcessor)


def test_slowfast_model_equals_pytorchvideo_and_round_trips(
    slowfast_zoo, small_clip_inputs, tmp_path: Path, real_slowfast
):
    original, path = slowfast_zoo
    slow, fast = small_clip_inputs
    model = slowfast_from_zoo(path)
    assert not any(key.startswith("blocks.6.proj") for key in model.state_dict())
    with torch.no_grad():
        expected = original([slow, fast])
        output = model(pixel_values_slow=slow, pixel_values_fast=fast)
    assert output.pooler_output.shape == (1, 2304)
    assert torch.equal(output.pooler_output, expected)

    folder = tmp_path / "converted"
    model.save_pretrained(folder)
    assert (folder / "model.safetensors").is_file()
    reloaded = AutoModel.from_pretrained(folder)
    assert isinstance(reloaded, SlowFastModel) and not reloaded.training
    state, again = model.state_dict(), reloaded.state_dict()
    assert state.keys() == again.keys() and all(torch.equal(state[k], again[k]) for k in state)
    with torch.no_grad():
        assert torch.equal(reloaded(pixel_values_slow=slow, pixel_values_fast=fast).pooler_output, expected)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_extractor(path)  # the public file itself: convert it first
    with pytest.raises(ValueError, match="not a slowfast_r50 state dict"):
        torch.save({"model_state": {"conv.weight": torch.zeros(1)}}, tmp_path / "bad.pyth")
        slowfast_from_zoo(tmp_path / "bad.pyth")


@pytest.mark.parametrize(
    "field, value",
    [("slowfast_alpha", v) for v in (0, -4, 33, 2.5, "4", 2, 8)]
    + [("num_frames", v) for v in (16, 64, 32.0)],
)
def test_a_processor_config_with_other_frame_counts_is_refused(tmp_path: Path, field, value):
    """A processor folder may be someone else's: slowfast_r50 takes 32 frames, 8 of them slow. Alpha 0 was a
    ZeroDivisionError, and 16 frames, 64 frames or alpha 2 or 8 a RuntimeError inside the model's forward."""
    SlowFastVideoProcessor().save_pretrained(tmp_path)
    config = tmp_path / "video_preprocessor_config.json"
    settings = json.loads(config.read_text())
    config.write_text(json.dumps({**settings, field: value}))
    with pytest.raises(ValueError, match=r"takes num_frames 32 with slowfast_alpha 4, got"):
        SlowFastVideoProcessor.from_pretrained(tmp_path)
    config.write_text(json.dumps(settings))
    assert SlowFastVideoProcessor.from_pretrained(tmp_path).num_frames == 32
