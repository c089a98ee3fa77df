"""JSON: ``{"version": 1, "articles": [...]}`` (the knowledge file's structure) or a bare list.

A bare list holds the articles alone. Errors name each article's line, found while decoding.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from typing import Any

from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.knowledge_file import FORMAT_VERSION, ArticleSpec, validate_articles


class _Located(dict):
    """A decoded JSON object that remembers the line it started on."""

    line: int = 0


def parse(text: str, source: str) -> list[ArticleSpec]:
    """Validate the JSON's articles; errors name ``source`` and the article's line."""
    try:
        data = _decode_with_lines(text)
    except json.JSONDecodeError as e:
        raise KnowledgeFileError(
            source,
            [
                FileProblem(
                    None,
                    None,
                    f"not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}",
                    e.lineno,
                )
            ],
        ) from e
    problems: list[FileProblem] = []
    if isinstance(data, dict):
        for key in sorted(set(data) - {"version", "articles"}):
            problems.append(
                FileProblem(
                    None, key, "unknown top-level key; only version and articles are allowed", 1
                )
            )
        if data.get("version") != FORMAT_VERSION:
            problems.append(
                FileProblem(
                    None, "version", f"must be {FORMAT_VERSION} (got {data.get('version')!r})", 1
                )
            )
        articles = data.get("articles")
    else:
        articles = data
    if not isinstance(articles, list):
        problems.append(
            FileProblem(
                None,
                "articles",
                'expected a list of articles, or {"version": 1, "articles": [...]}',
                1,
            )
        )
        articles = []
    return validate_articles([(a, getattr(a, "line", None)) for a in articles], source, problems)


def _decode_with_lines(text: str) -> Any:
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    decoder = json.JSONDecoder()

    def parse_object(s_and_end, *args, **kwargs):
        _, start = s_and_end  # just after the opening brace
        obj, end = json.decoder.JSONObject(s_and_end, *args, **kwargs)
        located = _Located(obj)
        located.line = bisect.bisect_left(newlines, start - 1) + 1
        return located, end

    # The pure-Python scanner looks parse_object up on the decoder; the C one cannot be hooked.
    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    return decoder.decode(text)
