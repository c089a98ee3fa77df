"""The packages' dependency direction (ARCHITECTURE.md): `tier1` may import everything; `bot`
never imports `tier1`; `knowledge_base` and `handoff` import neither, nor Rasa; and no import
circle runs between the modules of `tier1/` (the load tool's phases once imported each other).

Read from the source (every ``import`` statement, also inside functions), not by importing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str) -> set[str]:
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("bot", ("tier1",)),
        ("knowledge_base", ("tier1", "bot", "handoff", "rasa", "rasa_sdk")),
        ("handoff", ("tier1", "bot", "knowledge_base", "rasa", "rasa_sdk")),
    ],
)
def test_a_package_never_imports_the_packages_above_it(package, forbidden):
    offending = sorted(
        f"{module} imports {name}"
        for module, path in _modules(package).items()
        for name in _imports(path, module)
        if name.split(".")[0] in forbidden
    )
    assert offending == []


def test_no_import_circle_among_the_apps_modules():
    modules = _modules("tier1")
    graph = {
        module: {name for name in _imports(path, module) if name in modules and name != module}
        for module, path in modules.items()
    }
    # A package's face importing its own submodules is not a circle of concepts.
    graph = {m: {n for n in deps if not m.startswith(n + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*trail[trail.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []
