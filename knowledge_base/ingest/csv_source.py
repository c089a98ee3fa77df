"""CSV: one article per row, a header naming the columns.

Columns: ``slug``, ``title``, ``answer`` (required), ``url``, ``tags``, ``locale``,
``status``, ``questions`` (optional). ``questions`` holds one question per line of the cell;
``tags`` are separated by commas or lines. Empty cells mean "not set".
"""

from __future__ import annotations

import csv
import io
from typing import Any

from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.knowledge_file import ARTICLE_KEYS, ArticleSpec, validate_articles

REQUIRED = ("slug", "title", "answer")


def parse(text: str, source: str) -> list[ArticleSpec]:
    """Validate the CSV's articles; errors name ``source`` and the row's line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise KnowledgeFileError(
            source,
            [
                FileProblem(
                    None,
                    None,
                    f"empty file; the first line must name the columns ({', '.join(ARTICLE_KEYS)})",
                    1,
                )
            ],
        ) from None
    except csv.Error as e:
        raise KnowledgeFileError(source, [FileProblem(None, None, f"not valid CSV: {e}", 1)]) from e
    problems = [
        FileProblem(
            None,
            name or f"column {i + 1}",
            f"unknown column; allowed columns are {', '.join(ARTICLE_KEYS)}",
            1,
        )
        for i, name in enumerate(header)
        if name not in ARTICLE_KEYS
    ]
    problems += [
        FileProblem(None, name, "required column is missing from the header line", 1)
        for name in REQUIRED
        if name not in header
    ]
    if len(set(header)) != len(header):
        problems.append(FileProblem(None, None, "a column name appears twice in the header", 1))
    rows: list[tuple[Any, Any]] = []
    if not problems:
        line = reader.line_num + 1
        try:
            for record in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue  # blank line
                if len(record) != len(header):
                    problems.append(
                        FileProblem(
                            f"#{len(rows) + 1}",
                            None,
                            f"has {len(record)} cells, the header has {len(header)}; quote cells "
                            "that contain commas or line breaks",
                            start,
                        )
                    )
                    continue
                rows.append((_article(dict(zip(header, record))), start))
        except csv.Error as e:
            problems.append(FileProblem(None, None, f"not valid CSV: {e}", reader.line_num))
    return validate_articles(rows, source, problems)


def _article(cells: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in cells.items():
        if not value.strip():
            continue
        if key == "questions":
            out[key] = [q for q in value.splitlines() if q.strip()]
        elif key == "tags":
            out[key] = [t for t in value.replace("\n", ",").split(",") if t.strip()]
        else:
            out[key] = value
    return out
