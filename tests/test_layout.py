"""The package's four layers import only downwards, and no module imports itself back through
another (TYPE_CHECKING imports included): the architecture a newcomer reads off the folders."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wan_dagster"
#: Each layer and the layers it may import (the design brief's order: client at the bottom).
LAYERS = {
    "dashscope": set(),
    "emulator": {"dashscope"},
    "core": {"dashscope"},
    "orchestration": {"dashscope", "emulator", "core"},
    "command": {"dashscope", "emulator", "core", "orchestration"},  # python -m wan_dagster
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every wan_dagster module this file imports, resolved to a module that exists."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t.startswith("wan_dagster") and t in MODULES}
    return found - {name}


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else None


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m)))
def test_layers_import_only_downwards(module: str) -> None:
    layer = _layer(module)
    assert layer is not None
    upward = {m for m in GRAPH[module] if _layer(m) not in LAYERS[layer] | {layer, None}}
    assert not upward, f"{module} ({layer}) imports {sorted(upward)}"


def test_no_import_cycles() -> None:
    def strip_packages(targets: set[str], origin: str) -> set[str]:
        # Importing a package's __init__ from inside it is how submodules load, not a cycle.
        return {t for t in targets if not origin.startswith(t + ".")}

    graph = {m: strip_packages(t, m) for m, t in GRAPH.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
