"""HTML: one article per page.

Title: ``<title>``, else the first ``<h1>``. Answer: the page's text, one paragraph per
block element (Markdown-style blank lines between them), without scripts, styles and
navigation. An ``<h2>Questions</h2>`` followed by a list gives question variants.
``<meta name="slug|tags|status" content="...">`` and ``<html lang="...">`` set those
fields; without a slug, the file name is used.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from knowledge_base.ingest.markdown_source import slug_from_name
from knowledge_base.knowledge_file import ArticleSpec, validate_articles

_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "li",
    "br",
    "tr",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dd",
    "dt",
}
_SKIP = {"script", "style", "nav", "header", "footer", "head", "noscript", "template"}
_QUESTIONS = re.compile(r"^(questions|question variants|also asked as)$", re.IGNORECASE)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.article: dict[str, Any] = {}
        self.where: dict[Any, int] = {None: 1}
        self.title_tag: str | None = None
        self.h1: str | None = None
        self.paragraphs: list[str] = []
        self.questions: list[str] = []
        self._current: list[str] = []
        self._skip = 0
        self._capture: str | None = None  # "title" | "h1" | "h2" | "li-question"
        self._captured: list[str] = []
        self._in_questions = False

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        line = self.getpos()[0]
        if tag == "html" and attrs.get("lang"):
            self.article["locale"], self.where["locale"] = attrs["lang"], line
        if tag == "meta" and attrs.get("name") in ("slug", "tags", "status", "url"):
            name, content = attrs["name"], attrs.get("content") or ""
            self.article[name] = (
                [t for t in content.split(",") if t.strip()] if name == "tags" else content
            )
            self.where[name] = line
        if tag == "title" or (tag in ("h1", "h2") and not self._skip):
            self._flush()
            self._capture, self._captured = tag, []
            if tag in ("title", "h1"):
                self.where.setdefault("title", line)
            return
        if tag in _SKIP and tag != "head":
            self._skip += 1
        if tag in _BLOCKS:
            self._flush()
        if tag == "li" and self._in_questions:
            self._capture, self._captured = "li-question", []
            self.where.setdefault("questions", line)

    def handle_endtag(self, tag: str) -> None:
        if self._capture and (
            tag == self._capture or (tag == "li" and self._capture == "li-question")
        ):
            text = " ".join("".join(self._captured).split())
            kind, self._capture = self._capture, None
            if kind == "title":
                self.title_tag = self.title_tag or text
            elif kind == "h1" and self.h1 is None and not self.paragraphs:
                self.h1 = text
            elif kind in ("h1", "h2"):
                self._in_questions = kind == "h2" and bool(_QUESTIONS.match(text))
                if not self._in_questions and text:
                    self.paragraphs.append(("#" * int(kind[1])) + " " + text)
            elif kind == "li-question" and text:
                self.questions.append(text)
            return
        if tag in _SKIP and tag != "head" and self._skip:
            self._skip -= 1
        if tag in _BLOCKS:
            self._flush()
        if tag in ("ul", "ol") and self._in_questions:
            self._in_questions = False

    def handle_data(self, data: str) -> None:
        if self._capture:
            self._captured.append(data)
        elif not self._skip and not self._in_questions:
            self._current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.paragraphs.append(text)
        self._current = []


def parse(text: str, source: str) -> list[ArticleSpec]:
    """Validate the page's one article; errors name ``source``."""
    page = _Page()
    page.feed(text)
    page.close()
    page._flush()
    article = dict(page.article)
    title = page.title_tag or page.h1
    if title:
        article["title"] = title
    answer = "\n\n".join(page.paragraphs).strip()
    if answer:
        article["answer"] = answer
    if page.questions:
        article["questions"] = page.questions
    article.setdefault("slug", slug_from_name(source))
    return validate_articles([(article, page.where)], source)
