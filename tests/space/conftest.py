"""Space fixtures: tiny EmoMV-C models (trained a few steps), saved as train.py saves them, and the app module."""

from __future__ import annotations

import importlib.util
import os
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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _missing(reason: str) -> None:
    """Skip, or fail where ``EMOMV_REQUIRE_BROWSER=1`` (``.ci/run``, which installs the browser and gradio)."""
    if os.environ.get("EMOMV_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (EMOMV_REQUIRE_BROWSER=1: the browser tests must run here)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless chromium driven by Playwright (as the survey's browser tests)."""
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: pip install -e '.[survey]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """``tests/artifacts/space`` (git-ignored; ``EMOMV_TEST_ARTIFACTS`` moves it): the browser screenshots."""
    folder = Path(os.environ.get("EMOMV_TEST_ARTIFACTS", REPO_ROOT / "tests" / "artifacts")) / "space"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
