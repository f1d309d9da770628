"""``dataset_scripts/convert_weights.py`` on checkpoints in the public files' exact key layout (random weights):
the converted folders load with the Auto classes and give the original modules' outputs, bit for bit."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoProcessor

import emomv_hf  # noqa: F401  (registers the Auto classes)
from emomv_hf.features.modeling_slowfast import SlowFastModel
from emomv_hf.features.modeling_vggish import VGGishModel
from emomv_hf.features.processing_emomv import EmoMVProcessor

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run_cli(*args: str) -> int:
    sys.path.insert(0, str(REPO_ROOT / "dataset_scripts"))
    try:
        import convert_weights
    finally:
        sys.path.pop(0)
    return convert_weights.main(list(args))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_convert_vggish_with_pca(vggish_port, tmp_path: Path, capsys):
    module, path = vggish_port
    pca = tmp_path / "vggish_pca_params-970ea276.pth"
    torch.save({"pca_eigen_vectors": torch.eye(128).flip(0), "pca_means": torch.full((128, 1), 0.01)}, pca)
    out = tmp_path / "extractors"
    assert _run_cli("--vggish", str(path), "--vggish-pca", str(pca), "--output-dir", str(out)) == 0
    folder = out / "vggish"
    assert f"-> {folder}" in capsys.readouterr().out
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "processor_config.json"} <= names
    assert "README.md" in names and not any(name.endswith((".bin", ".pth")) for name in names)
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "vggish-10086976.pth" in card and _sha256(path) in card and _sha256(pca) in card
    assert json.loads((folder / "config.json").read_text())["model_type"] == "vggish"

    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert isinstance(processor, EmoMVProcessor) and isinstance(model, VGGishModel) and model.config.has_pca
    rate = 22_050
    t = np.arange(int(2.5 * rate)) / rate
    stereo = np.stack([np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 900 * t)]).astype(np.float32) * 0.3
    inputs = processor(audio=stereo, sampling_rate=rate)
    with torch.no_grad():
        output = model(**inputs)
        expected = module(inputs["input_features"][0])
    assert torch.equal(output.last_hidden_state[0], expected)
    assert torch.equal(output.pooler_output[0], expected.mean(dim=0))
    assert torch.equal(model.pca_eigen_vectors, torch.eye(128).flip(0))


def test_convert_slowfast(slowfast_zoo, small_clip_inputs, tmp_path: Path, real_slowfast):
    module, path = slowfast_zoo
    out = tmp_path / "extractors"
    assert _run_cli("--slowfast", str(path), "--output-dir", str(out)) == 0
    folder = out / "slowfast"
    assert (folder / "video_preprocessor_config.json").is_file() and (folder / "model.safetensors").is_file()
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "SLOWFAST_8x8_R50.pyth" in card and _sha256(path) in card
    model = AutoModel.from_pretrained(folder)
    assert isinstance(model, SlowFastModel)
    assert isinstance(AutoProcessor.from_pretrained(folder), EmoMVProcessor)
    slow, fast = small_clip_inputs
    with torch.no_grad():
        assert torch.equal(model(slow, fast).pooler_output, module([slow, fast]))


def test_convert_errors_are_one_line(vggish_port, tmp_path: Path, capsys, monkeypatch):
    missing = tmp_path / "nope.pth"
    assert _run_cli("--vggish", str(missing), "--output-dir", str(tmp_path / "o")) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {missing}: checkpoint not found") and "torchvggish" in err
    assert not (tmp_path / "o" / "vggish").exists()

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a checkpoint" * 8)
    assert _run_cli("--vggish", str(garbage), "--output-dir", str(tmp_path / "o")) == 1
    assert capsys.readouterr().err.startswith(f"error: {garbage}: not a PyTorch checkpoint")

    with pytest.raises(SystemExit) as usage:
        _run_cli("--output-dir", str(tmp_path / "o"))
    assert usage.value.code == 2 and "nothing to convert" in capsys.readouterr().err

    # --push-to-hub without a reachable Hub: the folder is written, then one error line and status 1.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_not_real")
    out = tmp_path / "pushed"
    code = _run_cli("--vggish", str(vggish_port[1]), "--output-dir", str(out), "--push-to-hub", "org/vggish")
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert code == 1 and len(errors) == 1 and errors[0].startswith("error: cannot upload")
    assert "org/vggish" in errors[0]
    assert (out / "vggish" / "model.safetensors").is_file()


def _torchvggish_pca_file(path: Path, eigen_vectors: np.ndarray, means: np.ndarray) -> Path:
    """``path`` in the layout of torchvggish's ``vggish_pca_params-970ea276.pth`` (2019): AudioSet's
    ``vggish_pca_params.npz`` arrays, numpy float64, in a dict written by ``torch.save`` of that time (the legacy
    format, pickle protocol 2, numpy 1.x's module names); torchvggish's hub loader turns them into tensors."""
    buffer = io.BytesIO()
    arrays = {"pca_eigen_vectors": eigen_vectors, "pca_means": means}
    torch.save(arrays, buffer, _use_new_zipfile_serialization=False)
    path.write_bytes(buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))
    return path


def test_the_public_pca_file_of_numpy_arrays_converts(vggish_port, tmp_path: Path):
    # weights_only loading refused the numpy arrays of the public PCA file: the one file --vggish-pca is for.
    rng = np.random.default_rng(7)
    eigen_vectors, means = rng.standard_normal((128, 128)), rng.standard_normal(128)
    pca = _torchvggish_pca_file(tmp_path / "vggish_pca_params-970ea276.pth", eigen_vectors, means)
    assert b"numpy.core.multiarray\n_reconstruct" in pca.read_bytes()
    out = tmp_path / "o"
    assert _run_cli("--vggish", str(vggish_port[1]), "--vggish-pca", str(pca), "--output-dir", str(out)) == 0
    model = AutoModel.from_pretrained(out / "vggish")
    assert torch.equal(model.pca_eigen_vectors, torch.from_numpy(eigen_vectors).float())
    assert torch.equal(model.pca_means, torch.from_numpy(means).float())


class _RunsCode:
    """Unpickled, it runs a shell command: what weights_only loading exists to refuse."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_a_pca_file_that_would_run_code_is_one_line_and_runs_nothing(vggish_port, tmp_path: Path, capsys):
    # Loading numpy arrays must not open the door to any other pickled object.
    marker = tmp_path / "ran"
    pca = tmp_path / "vggish_pca_params-970ea276.pth"
    torch.save({"pca_eigen_vectors": np.eye(128), "pca_means": _RunsCode(marker)}, pca)
    out = tmp_path / "o"
    assert _run_cli("--vggish", str(vggish_port[1]), "--vggish-pca", str(pca), "--output-dir", str(out)) == 1
    assert capsys.readouterr().err.startswith(f"error: {pca}: not a PyTorch checkpoint")
    assert not out.exists() and not marker.exists()


def test_pushed_checkpoints_name_their_kind_when_there_are_two():
    from emomv_hf.features.arguments import ConvertWeightsArguments

    both = ConvertWeightsArguments(output_dir="out", random_init=True, push_to_hub="org/ext")
    assert both.repo_ids() == {"vggish": "org/ext-vggish", "slowfast": "org/ext-slowfast"}
    one = ConvertWeightsArguments(output_dir="out", slowfast="s.pyth", push_to_hub="org/ext")
    assert one.repo_ids() == {"slowfast": "org/ext"}
    assert ConvertWeightsArguments(output_dir="out", random_init=True).repo_ids() == {}
