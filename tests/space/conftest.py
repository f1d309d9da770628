"""Space fixtures: tiny EmoMV-C models (trained a few steps), saved as train.py saves them, and the app module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from emomv_hf import build_model

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "models"))
from conftest import load_emomv_c_split  # noqa: E402

pytest.importorskip("faiss")


def train_tiny_model(release_dir: Path, task: str, steps: int = 10, seed: int = 0):
    """A multi-task EmoMV model of ``task`` trained ``steps`` Adam steps (batch 64) on EmoMV-C train."""
    torch.manual_seed(seed)
    train = load_emomv_c_split(release_dir, "TRAIN")
    model = build_model("emomv", task, True)
    model.fit_standardization(train["video_features"], train["music_features"])
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(steps):
        rows = torch.randint(0, len(train["labels"]), (64,))
        loss = model(**{name: values[rows] for name, values in train.items()}).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def model_dirs(release_dir, tmp_path_factory) -> dict[str, Path]:
    """``{"retrieval": folder, "correspondence": folder}``: save_pretrained folders, as train.py writes them."""
    root = tmp_path_factory.mktemp("space-models")
    folders = {}
    for task in ("retrieval", "correspondence"):
        folders[task] = root / task
        train_tiny_model(release_dir, task).save_pretrained(folders[task])
    return folders


def load_app() -> ModuleType:
    """``examples/space/app.py`` as a module (registered, so its dataclasses resolve their module)."""
    name = "space_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "examples" / "space" / "app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def app() -> ModuleType:
    return load_app()


@pytest.fixture(scope="session")
def space(app, model_dirs, emomv_c_dir, tmp_path_factory):
    """The demo's models and EmoMV-C (validation segments), loaded as ``app.py`` loads them."""
    args = app.SpaceArguments(
        retrieval_model=str(model_dirs["retrieval"]),
        correspondence_model=str(model_dirs["correspondence"]),
        library=str(emomv_c_dir),
        split="validation",
        index_dir=str(tmp_path_factory.mktemp("space-index") / "index"),
    )
    return app.load_space(args)
