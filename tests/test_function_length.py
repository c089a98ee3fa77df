"""No function in the packages is longer than 100 lines (issue 17): a longer one is split into
named steps. Nested functions count towards the function that holds them, so a factory of
route closures is as long as all of its routes.

Read from the source with `ast`, not by importing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "knowledge_base", "handoff", "schema_migration", "tier1")
MAX_LINES = 100


def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _too_long() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in _functions(path):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = node.end_lineno - start + 1
                if lines > MAX_LINES:
                    where = path.relative_to(ROOT)
                    found.append(f"{where}:{node.lineno} {node.name}() is {lines} lines")
    return found


def test_no_function_in_the_packages_is_over_100_lines():
    assert _too_long() == []


def test_the_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    path = tmp_path / "long.py"
    path.write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert [n.end_lineno - n.lineno + 1 for n in _functions(path)] == [MAX_LINES + 1]
