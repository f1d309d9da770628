"""Data test helpers: the repository root and the dataset scripts as modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    """``dataset_scripts/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "dataset_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
