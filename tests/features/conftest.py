"""Fixtures of the feature-extraction tests: tiny synthetic music videos (see ``synthetic_media``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .synthetic_media import write_clip


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two labelled clips in emotion folders: ``Fear/clip_a.mp4`` (3.5 s) and ``relax/clip_b.mp4`` (2.5 s)."""
    root = tmp_path_factory.mktemp("media")
    (root / "Fear").mkdir()
    (root / "relax").mkdir()
    write_clip(root / "Fear" / "clip_a.mp4", 3.5)
    write_clip(root / "relax" / "clip_b.mp4", 2.5, tone_hz=440.0)
    return root


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Path:
    return media_dir / "Fear" / "clip_a.mp4"


@pytest.fixture(scope="session")
def vggish_port(tmp_path_factory: pytest.TempPathFactory):
    """``(module, path)``: a random-weight VGGish of the frozen pre-change code and its state dict saved as
    ``vggish-10086976.pth`` (the torchvggish port's exact key layout: ``features.N.*``, ``embeddings.N.*``)."""
    import torch

    from .frozen_reference import VGGish

    torch.manual_seed(3)
    module = VGGish().eval()
    path = tmp_path_factory.mktemp("vggish") / "vggish-10086976.pth"
    torch.save(module.state_dict(), path)
    return module, path


@pytest.fixture(scope="session")
def slowfast_zoo(tmp_path_factory: pytest.TempPathFactory):
    """``(module, path)``: pytorchvideo's ``slowfast_r50`` with random weights (random batch-norm statistics
    too) saved like the model zoo's ``SLOWFAST_8x8_R50.pyth`` (``{"model_state": ..., "epoch": ...}``, classifier
    included); the returned module has its projection replaced by ``Identity`` (the pooled features)."""
    import torch

    hub = pytest.importorskip("pytorchvideo.models.hub")
    torch.manual_seed(5)
    module = hub.slowfast_r50(pretrained=False).eval()
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm3d):
            layer.running_mean.uniform_(-0.1, 0.1)
            layer.running_var.uniform_(0.5, 1.5)
            layer.weight.data.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("slowfast") / "SLOWFAST_8x8_R50.pyth"
    torch.save({"model_state": module.state_dict(), "epoch": 196}, path)
    module.blocks[-1].proj = torch.nn.Identity()
    return module, path


@pytest.fixture(scope="session")
def small_clip_inputs():
    """``(slow, fast)`` of one random 32-frame 224x224 clip: the smallest the pooling kernels take (7 x 32),
    the same code path as 256x256 at less CPU time."""
    import torch

    fast = torch.randn(1, 3, 32, 224, 224, generator=torch.Generator().manual_seed(0))
    return fast[:, :, torch.linspace(0, 31, 8).long()], fast


@pytest.fixture(scope="session")
def reference(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One process, no workers, one file per shard, random weights (fixed seed)."""
    from emomv_hf.features.arguments import ExtractorArguments
    from emomv_hf.features.extract import extract_dataset

    pytest.importorskip("pytorchvideo")
    out = tmp_path_factory.mktemp("reference") / "features"
    summary = extract_dataset(
        media_dir, out, ExtractorArguments(random_init=True), files_per_shard=1, progress=False
    )
    assert summary.rows == 2 and summary.extracted == 2
    return out
