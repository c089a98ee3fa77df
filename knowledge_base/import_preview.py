"""An import preview: what importing a file would do, row by row, with nothing written.

Every article of the file becomes a row: ``create``, ``update`` or ``unchanged`` against the
stored articles (matched by slug, as the import upserts), or ``error`` with each problem's
line and field. Problems with the file as a whole (not YAML, not UTF-8, ...) are listed
apart. ``importable`` is True only when there is no problem at all, because an import is all
or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.knowledge_file import ArticleSpec

_POSITION = re.compile(r"^#(\d+)$")


@dataclass(frozen=True)
class PreviewRow:
    """One article of the file. ``row`` is its 1-based position in the file (when known)."""

    row: int | None
    line: int | None
    slug: str | None
    title: str | None
    action: str  # create | update | unchanged | error
    errors: list[FileProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        return {
            "row": self.row,
            "line": self.line,
            "slug": self.slug,
            "title": self.title,
            "action": self.action,
            "errors": [_problem(p) for p in self.errors],
        }


@dataclass(frozen=True)
class ImportPreview:
    """What importing a file would do, row by row, and the file's own problems."""

    file: str
    rows: list[PreviewRow]
    file_errors: list[FileProblem]

    @property
    def importable(self) -> bool:
        """True when the file has no problem: importing it would succeed."""
        return not self.file_errors and all(r.action != "error" for r in self.rows)

    @property
    def problems(self) -> int:
        """Every problem listed: each row's (a row may have several) and the file's own."""
        return sum(len(r.errors) for r in self.rows) + len(self.file_errors)

    def count(self, action: str) -> int:
        """Rows whose action is ``action`` (create, update, unchanged, error)."""
        return sum(1 for r in self.rows if r.action == action)

    def to_dict(self) -> dict[str, Any]:
        """The preview as JSON-ready data, with counts per action."""
        return {
            "file": self.file,
            "importable": self.importable,
            "create": self.count("create"),
            "update": self.count("update"),
            "unchanged": self.count("unchanged"),
            "errors": self.count("error") + len(self.file_errors),
            "problems": self.problems,
            "rows": [r.to_dict() for r in self.rows],
            "file_errors": [_problem(p) for p in self.file_errors],
        }


def build_preview(
    file: str,
    specs: list[tuple[int, ArticleSpec]],
    error: KnowledgeFileError | None,
    stored: Mapping[str, ArticleSpec],
) -> ImportPreview:
    """Rows for the valid ``(position, spec)`` pairs and for ``error``'s problems.

    Args:
        file: the file's name, as the preview shows it.
        specs: the file's valid articles with their 1-based positions.
        error: the file's validation problems, or None.
        stored: the stored articles that share a slug with ``specs``, by slug.
    """
    rows = []
    for position, spec in specs:
        current = stored.get(spec.slug)
        action = "create" if current is None else "unchanged" if current == spec else "update"
        rows.append(PreviewRow(position, None, spec.slug, spec.title, action))
    file_errors: list[FileProblem] = []
    groups: dict[str, list[FileProblem]] = {}
    for problem in error.problems if error else []:
        if problem.article is None:
            file_errors.append(problem)
        else:
            # A repeated slug is its own row: key it by line too, apart from the first use.
            repeat = problem.field == "slug" and not _POSITION.match(problem.article)
            key = f"{problem.article}@{problem.line}" if repeat else problem.article
            groups.setdefault(key, []).append(problem)
    for problems in groups.values():
        article = problems[0].article or ""
        match = _POSITION.match(article)
        lines = [p.line for p in problems if p.line is not None]
        rows.append(
            PreviewRow(
                int(match.group(1)) if match else None,
                min(lines) if lines else None,
                None if match else article,
                None,
                "error",
                problems,
            )
        )
    rows.sort(key=lambda r: (r.row is None, r.row or 0, r.line or 0))
    return ImportPreview(file, rows, file_errors)


def _problem(p: FileProblem) -> dict[str, Any]:
    return {"line": p.line, "field": p.field, "message": p.message, "text": str(p)}


__all__ = ["ImportPreview", "PreviewRow", "build_preview"]
