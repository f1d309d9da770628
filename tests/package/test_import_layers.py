"""The package's import structure: no cycle at import time, imports only go down the layers of
docs/architecture.md, and nothing below the root imports the root package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "emomv_hf"

# Module (or package prefix) → layer; a module may import its own layer and the ones below, never above.
LAYERS: dict[str, int] = {
    "_version": 1,
    "emotions": 1,
    "io_utils": 1,
    "citation": 1,
    "cli": 1,
    "paper_results": 1,
    "data.schema": 1,
    "configuration_": 2,
    "modeling_": 2,
    "models_registry": 2,
    "metrics": 2,
    "reporting": 2,
    "hub": 2,
    "data": 3,
    "features": 3,
    "cards": 3,
    "comparison": 4,
    "evaluation": 4,
    "training": 4,
    "recommendation": 5,
    "reproduction": 5,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of ``module`` (dotted, relative to the package): the longest matching prefix of LAYERS."""
    matches = [
        key
        for key in LAYERS
        if module == key or module.startswith(key + ".") or (key.endswith("_") and module.startswith(key))
    ]
    assert matches, f"emomv_hf.{module} has no layer in LAYERS: add it (and to docs/architecture.md)"
    return LAYERS[max(matches, key=len)]


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(path: Path) -> list[tuple[str, bool, int]]:
    """``(imported emomv_hf module or name path, at import time?, line)`` for every import of a package module."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                continue
            nested = top_level and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == "emomv_hf" or alias.name.startswith("emomv_hf."):
                        found.append(
                            (alias.name.removeprefix("emomv_hf").lstrip("."), top_level, child.lineno)
                        )
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".") if package else []
                    base = base[: len(base) - (child.level - 1)] if child.level > 1 else base
                    target = ".".join([*base, *([child.module] if child.module else [])])
                elif child.module == "emomv_hf" or (child.module or "").startswith("emomv_hf."):
                    target = child.module.removeprefix("emomv_hf").lstrip(".")
                else:
                    continue
                for alias in child.names:
                    name = f"{target}.{alias.name}" if target else alias.name
                    found.append(
                        (
                            name
                            if (PACKAGE / name.replace(".", "/")).exists()
                            or (PACKAGE / (name.replace(".", "/") + ".py")).exists()
                            else target,
                            top_level,
                            child.lineno,
                        )
                    )
            visit(child, nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return found


MODULES = {
    module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if "metrics/emomv_" not in path.as_posix()  # `evaluate` module scripts, loaded by path
}


def test_no_module_below_the_root_imports_the_root_package():
    offenders = [
        f"emomv_hf/{MODULES[module].relative_to(PACKAGE)}:{line} imports emomv_hf"
        + (f".{target}" if target else "")
        for module in MODULES
        if module
        for target, _, line in imports(MODULES[module])
        if target == "" or target not in MODULES
    ]
    assert not offenders, "\n".join(offenders)


def test_imports_go_down_the_layers():
    offenders = [
        f"emomv_hf/{MODULES[module].relative_to(PACKAGE)}:{line}: {module} (layer {layer_of(module)}) imports "
        f"{target} (layer {layer_of(target)})"
        for module in MODULES
        if module
        for target, _, line in imports(MODULES[module])
        if target in MODULES and target and layer_of(target) > layer_of(module)
    ]
    assert not offenders, "\n".join(offenders)


def ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)] + [""]


def test_no_import_cycle_at_import_time():
    # Importing a.b runs a/__init__ first, so an import of a.b is also an edge to a, unless the importer lies
    # inside a (then a is already being imported). The root package, which imports its layers, is left out.
    graph: dict[str, list[str]] = {}
    for module, path in MODULES.items():
        own = set(ancestors(module))
        edges = set()
        for target, top, _ in imports(path):
            if top and target in MODULES:
                edges |= {target, *ancestors(target)} - own - {module}
        graph[module] = sorted(edges - {""})
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                walk(target)
        stack.pop()
        state[module] = 2

    for module in graph:
        if module not in state:
            walk(module)
