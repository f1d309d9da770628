"""Shared fixtures: the authors' feature release and small built datasets."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import socket
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from huggingface_hub import HfApi
from huggingface_hub._commit_api import CommitOperationDelete

REPO_ROOT = Path(__file__).resolve().parents[1]
# The survey is an application beside its scripts (as the Space is): its tests import its package from there.
sys.path.insert(0, str(REPO_ROOT / "examples" / "survey"))


def _release_dir() -> Path | None:
    candidates = [os.environ.get("EMOMV_RELEASE_DIR"), REPO_ROOT.parent / "shared" / "emomv-release"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "DS3_EmoMV_C").is_dir():
            # Absolute, once: tests write this path into CSVs that resolve paths against their own folder.
            return Path(os.path.abspath(candidate))
    return None


@pytest.fixture(scope="session")
def release_dir() -> Path:
    """The authors' feature release (``EMOMV_RELEASE_DIR`` or ``../shared/emomv-release``)."""
    path = _release_dir()
    if path is None:
        pytest.fail("the EmoMV feature release was not found: set EMOMV_RELEASE_DIR")
    return path


@pytest.fixture(scope="session")
def emomv_c_dir(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EmoMV-C built from the release by ``build_hub_dataset`` (a Hub dataset folder; loads offline)."""
    from emomv_hf.data.build import build_hub_dataset

    return build_hub_dataset(release_dir, "emomv-c", tmp_path_factory.mktemp("hub"))


@pytest.fixture
def unlabelled_copy(emomv_c_dir: Path, tmp_path: Path):
    """``make(split, column)``: a copy of EmoMV-C whose pairs ``split`` row 7 holds datasets' "no label" (-1) in
    ``column`` (an unlabelled Hub split's value)."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    def make(split: str, column: str) -> Path:
        folder = shutil.copytree(emomv_c_dir, tmp_path / "unlabelled")
        path = next((folder / "data" / "pairs").glob(f"{split}-*.parquet"))
        table = pq.read_table(path)
        values = table.column(column).to_numpy().copy()
        values[7] = -1
        field = table.field(column)
        pq.write_table(
            table.set_column(table.schema.get_field_index(column), field, pa.array(values, field.type)), path
        )
        return folder

    return make


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread_per_worker():
    """pytest-xdist runs one worker per core: more torch threads per worker only oversubscribe the cores."""
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _stand_in_slowfast():
    """SlowFast R50's forward takes 3-4 s per segment on one CPU thread: tests in this process get the cheap
    stand-in of ``stand_in_slowfast.py`` (the same inputs and output, content- and weight-dependent). Tests of the
    network itself ask for ``real_slowfast``; scripts a test runs as processes use the real one."""
    from emomv_hf.features.modeling_slowfast import SlowFastModel

    stand_in = _load_script(REPO_ROOT / "tests" / "stand_in_slowfast.py")
    real_forward = SlowFastModel.forward
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SlowFastModel, "forward", stand_in.stand_in_forward)
        yield SlowFastModel, real_forward


@pytest.fixture
def real_slowfast(monkeypatch, _stand_in_slowfast):
    """The real SlowFast R50 forward in this test (see ``_stand_in_slowfast``)."""
    model_class, real_forward = _stand_in_slowfast
    monkeypatch.setattr(model_class, "forward", real_forward)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _skip_or_fail_browser_test(reason: str) -> None:
    """Skip, or fail where ``EMOMV_REQUIRE_BROWSER=1`` (``.ci/run``, which installs the browser stack)."""
    if os.environ.get("EMOMV_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (EMOMV_REQUIRE_BROWSER=1: the browser tests must run here)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_requirement():
    """The browser tests' way to report a missing piece (chromium, playwright, gradio): see
    :func:`_skip_or_fail_browser_test`."""
    return _skip_or_fail_browser_test


@pytest.fixture(scope="module")
def browser():
    """Debian's headless chromium driven by Playwright (no browser download)."""
    if not CHROMIUM.is_file():
        _skip_or_fail_browser_test(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail_browser_test("playwright is not installed: pip install -e '.[survey]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now: a torchrun rendezvous of its own, so two test runs
    (or suites) on one machine do not collide on a fixed port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True, scope="session")
def _temporary_hf_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary ``HF_HOME`` for the session (for this process's default retrieval index location,
    ``huggingface_hub.constants.HF_HOME``, its datasets cache, and for the scripts tests run): tests never write
    the user's cache, and a script run in a process finds what one run in this process cached."""
    import datasets
    from huggingface_hub import constants

    home = tmp_path_factory.mktemp("hf_home")
    patch = pytest.MonkeyPatch()
    patch.setattr(constants, "HF_HOME", str(home))
    patch.setenv("HF_HOME", str(home))
    # datasets read HF_HOME when they were imported (at collection): its cache, as a process started now has it.
    patch.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
    yield home
    patch.undo()


@dataclass(frozen=True)
class ScriptRun:
    """What one call of a script's ``main`` returned and printed."""

    returncode: int
    stdout: str
    stderr: str


def _load_script(path: Path) -> ModuleType:
    """A repository script (``examples/train.py``, ``dataset_scripts/...``) as a module, not run as ``__main__``."""
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_script(path: str | os.PathLike, argv: list) -> ScriptRun:
    """``path``'s ``main(argv)`` in this process, with what it prints and its exit status as the interpreter would
    give them: a ``SystemExit`` (argparse's usage errors) gives its code, an uncaught exception its traceback on
    stderr and status 1. The code a user's command runs, without paying a fresh interpreter's imports (seconds
    each); tests of what only a process shows (a kill, torchrun, a fresh import state) start one instead."""
    path, argv = Path(path), [str(argument) for argument in argv]
    stdout, stderr = io.StringIO(), io.StringIO()
    # sys.argv as the command would have it: argparse names the script in its messages from sys.argv[0].
    with (
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(sys, "argv", [str(path), *argv])
        try:
            returncode = _load_script(path).main(argv)
        except SystemExit as exit_:
            returncode = exit_.code if isinstance(exit_.code, int) else 1
        except Exception:
            traceback.print_exc()
            returncode = 1
    return ScriptRun(returncode or 0, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="session")
def load_script():
    """``load_script(path)``: a repository script as a module (:func:`_load_script`)."""
    return _load_script


@pytest.fixture(scope="session")
def run_script():
    """``run_script(path, argv) -> ScriptRun``: a script's ``main`` in this process (:func:`_run_script`)."""
    return _run_script


class InMemoryHub(HfApi):
    """``huggingface_hub.HfApi`` against repositories held in memory (``repositories[(type, id)]``: path -> bytes):
    its own ``upload_folder`` code decides what a push adds and deletes (``ignore_patterns``, ``delete_patterns``);
    only the calls that would reach the Hub (creating a repository, listing its files, committing, validating card
    YAML) are answered here."""

    def __init__(self):
        super().__init__(token="hf_offline_test_token")
        self.repositories: dict[tuple[str, str], dict[str, bytes]] = {}

    def create_repo(self, repo_id, *, repo_type=None, exist_ok=False, **kwargs):
        key = (repo_type or "model", repo_id)
        assert exist_ok or key not in self.repositories, f"{key} exists"
        self.repositories.setdefault(key, {".gitattributes": b"*.parquet filter=lfs\n"})

    def list_repo_files(self, repo_id, *, repo_type=None, **kwargs):
        return sorted(self.repositories[repo_type or "model", repo_id])

    def create_commit(self, repo_id, operations, *, repo_type=None, **kwargs):
        files = self.repositories[repo_type or "model", repo_id]
        for operation in operations:
            if isinstance(operation, CommitOperationDelete):
                del files[operation.path_in_repo]
            else:
                files[operation.path_in_repo] = Path(operation.path_or_fileobj).read_bytes()
        return f"https://huggingface.co/{repo_id}/commit/{len(files)}"

    def _validate_yaml(self, content, **kwargs):
        yaml.safe_load(content.split("---")[1])


@pytest.fixture
def hub(monkeypatch) -> InMemoryHub:
    """An :class:`InMemoryHub` that `emomv_hf.hub.push_to_hub` uploads to, without hf_xet's streamed pipeline (which
    would reach the Hub before committing)."""
    import huggingface_hub.hf_api

    import emomv_hf.hub

    api = InMemoryHub()
    monkeypatch.setattr(huggingface_hub.hf_api, "is_xet_available", lambda: False)
    monkeypatch.setattr(emomv_hf.hub, "HfApi", lambda *args, **kwargs: api)
    return api
