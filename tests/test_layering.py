"""The packages' dependency direction (ARCHITECTURE.md): `tier1` may import everything; `bot`
never imports `tier1`; `knowledge_base` and `handoff` import neither, nor each other, nor Rasa;
and no import circle runs between a package's modules (the load tool's phases, and
`knowledge_base.embedder` and `tuning`, once imported each other).

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


def _imports(path: Path, module: str, known: frozenset[str] = frozenset()) -> set[str]:
    """Every module ``path`` imports; ``from pkg import sub`` counts as ``pkg.sub`` alone when
    ``pkg.sub`` is one of ``known`` (a submodule, not a name the package's face hands on)."""
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
            full = {f"{base}.{alias.name}" for alias in node.names}
            names.update(full)
            if not full <= known:
                names.add(base)
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


@pytest.mark.parametrize("package", ["tier1", "bot", "knowledge_base", "handoff"])
def test_no_import_circle_inside_a_package(package):
    modules = _modules(package)
    known = frozenset(modules)
    graph = {
        module: {n for n in _imports(path, module, known) if n in modules and n != module}
        for module, path in modules.items()
    }
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
