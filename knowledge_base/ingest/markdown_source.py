"""Markdown: one article per file.

Optional YAML front matter between ``---`` lines holds any article field (slug, title,
url, tags, locale, status, questions). Without a title there, the first ``# Heading`` is the
title. A ``## Questions`` section's list items are question variants. Everything else is
the answer (Markdown, kept as written). Without a slug, the file name is used
(``Reset Password.md`` -> ``reset-password``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

import yaml

from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.knowledge_file import ArticleSpec, validate_articles

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_QUESTIONS = re.compile(r"^(questions|question variants|also asked as)$", re.IGNORECASE)


def slug_from_name(name: str) -> str:
    """A slug from a file name (an archive member's own name): lowercase words and dashes."""
    member = name.rsplit("!", 1)[-1]
    return "-".join(re.findall(r"[a-z0-9]+", PurePosixPath(member).stem.lower()))


def parse(text: str, source: str) -> list[ArticleSpec]:
    """Validate the file's one article; errors name ``source`` and the field's line."""
    lines = text.splitlines()
    article: dict[str, Any] = {}
    where: dict[Any, int] = {None: 1}
    body_start = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is None:
            raise KnowledgeFileError(
                source,
                [
                    FileProblem(
                        None,
                        None,
                        "front matter starts with --- on line 1 but never ends; close it "
                        "with a --- line",
                        1,
                    )
                ],
            )
        try:
            front = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 2 if mark else 1
            raise KnowledgeFileError(
                source,
                [
                    FileProblem(
                        None,
                        None,
                        f"front matter is not valid YAML: {getattr(e, 'problem', e)}",
                        line,
                    )
                ],
            ) from e
        if not isinstance(front, dict):
            raise KnowledgeFileError(
                source,
                [FileProblem(None, None, "front matter must be a mapping of field: value", 2)],
            )
        article.update(front)
        for i in range(1, end):
            key = lines[i].split(":", 1)[0].strip()
            if key in front and key not in where:
                where[key] = i + 1
        body_start = end + 1
    body: list[str] = []
    questions: list[str] = []
    in_questions = False
    for i in range(body_start, len(lines)):
        line = lines[i]
        heading = _HEADING.match(line)
        if heading:
            level, text_ = len(heading.group(1)), heading.group(2)
            if level == 1 and "title" not in article and not body_has_text(body):
                article["title"], where["title"] = text_, i + 1
                continue
            if level == 2 and _QUESTIONS.match(text_):
                in_questions, where["questions"] = True, i + 1
                continue
            in_questions = False
        if in_questions:
            item = _ITEM.match(line)
            if item:
                questions.append(item.group(1))
                continue
            if not line.strip():
                continue
            in_questions = False
        body.append(line)
    if questions:
        article["questions"] = list(article.get("questions") or []) + questions
    answer = "\n".join(body).strip()
    if answer and "answer" not in article:
        article["answer"], where["answer"] = answer, body_start + 1
    article.setdefault("slug", slug_from_name(source))
    return validate_articles([(article, where)], source)


def body_has_text(body: list[str]) -> bool:
    """True when any of the lines is not blank."""
    return any(line.strip() for line in body)
