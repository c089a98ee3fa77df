"""Value objects the knowledge base hands out: search hits and results, articles, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from knowledge_base.decision import Decision


@dataclass(frozen=True)
class Hit:
    """One article found by a search.

    Attributes:
        score: the best cosine similarity between the query and any of the article's
            indexed questions (its title included).
        matched_question: the question that scored ``score``.
    """

    article_id: int
    slug: str
    title: str
    answer: str
    url: str | None
    score: float
    matched_question: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "slug": self.slug,
            "title": self.title,
            "answer": self.answer,
            "url": self.url,
            "score": self.score,
            "matched_question": self.matched_question,
        }


@dataclass(frozen=True)
class SearchResult:
    """Hits ranked by descending score, and the decision ``decide`` took on them."""

    decision: Decision
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"decision": "answer", "hits": [{...}, ...]}``."""
        return {"decision": self.decision.value, "hits": [h.to_dict() for h in self.hits]}


@dataclass(frozen=True)
class Article:
    """An article as stored; ``questions`` excludes the title (indexed too, implicitly)."""

    id: int
    slug: str
    title: str
    answer: str
    url: str | None
    tags: list[str]
    questions: list[str]
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "title": self.title,
            "answer": self.answer,
            "url": self.url,
            "tags": list(self.tags),
            "questions": list(self.questions),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import changed: articles by outcome, and how many questions were encoded."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    questions_encoded: int = 0
    version: int = 0
    slugs_created: list[str] = field(default_factory=list)
    slugs_updated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "questions_encoded": self.questions_encoded,
            "version": self.version,
            "slugs_created": list(self.slugs_created),
            "slugs_updated": list(self.slugs_updated),
        }
