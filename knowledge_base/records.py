"""Value objects the knowledge base hands out: search hits and results, articles, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from knowledge_base.decision import Decision
from knowledge_base.drafts import Draft


class ArticleStatus(str, Enum):
    """An article's lifecycle; only published articles are searchable."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Hit:
    """One article found by a search.

    Attributes:
        score: the article's score from the scorer in use (``scoring.type``, see
            `knowledge_base.scoring`); for ``max_cosine`` the best cosine between the query
            and the article's indexed texts. Higher is better; scales differ per scoring.
        matched_question: the article's indexed text with the best cosine the index found (a
            question, its title or a passage).
    """

    article_id: int
    slug: str
    title: str
    answer: str
    url: str | None
    score: float
    matched_question: str

    def to_dict(self) -> dict[str, Any]:
        """The hit as JSON-ready data."""
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
    """Hits ranked by descending score, and the decision ``decide`` took on them.

    ``decided_by`` says which rule and threshold decided (see ``decide_explained``).
    """

    decision: Decision
    hits: list[Hit]
    decided_by: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"decision": "answer", "decided_by": {...}, "hits": [{...}, ...]}``."""
        return {
            "decision": self.decision.value,
            "decided_by": self.decided_by,
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class Article:
    """An article as stored; ``slug`` is the external id.

    ``questions`` excludes the title and the answer's passages (both indexed too, implicitly).
    """

    id: int
    slug: str
    title: str
    answer: str
    url: str | None
    tags: list[str]
    questions: list[str]
    created_at: datetime
    updated_at: datetime
    locale: str = "en"
    status: ArticleStatus = ArticleStatus.PUBLISHED
    draft: Draft | None = None  # changes saved but not published (``knowledge_base.drafts``)

    def content(self) -> dict[str, Any]:
        """The editable content as it is live (what search serves when published)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "answer": self.answer,
            "url": self.url,
            "tags": list(self.tags),
            "locale": self.locale,
            "questions": list(self.questions),
        }

    def to_dict(self) -> dict[str, Any]:
        """The article as JSON-ready data: live content, status, dates and its draft."""
        live = self.content()
        return {
            "id": self.id,
            **live,
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "draft": self.draft.to_dict(live) if self.draft is not None else None,
        }


@dataclass(frozen=True)
class Revision:
    """One recorded change: ``previous`` is the article before it (None for a creation).

    ``version`` numbers an article's revisions from 1 (its creation), oldest first: version n
    is the article as revision n left it. ``actor`` is a stable id (``agent:3``), and
    ``actor_name`` the person's name when the change was made (None for older rows).
    """

    id: int
    article_id: int
    slug: str
    action: str
    actor: str
    at: datetime
    changed: list[str]
    previous: dict[str, Any] | None
    version: int = 0
    actor_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The revision as JSON-ready data."""
        return {
            "id": self.id,
            "article_id": self.article_id,
            "version": self.version,
            "slug": self.slug,
            "action": self.action,
            "actor": self.actor,
            "actor_name": self.actor_name,
            "at": self.at.isoformat(),
            "changed": list(self.changed),
            "previous": self.previous,
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
        """The report as JSON-ready data."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "questions_encoded": self.questions_encoded,
            "version": self.version,
            "slugs_created": list(self.slugs_created),
            "slugs_updated": list(self.slugs_updated),
        }
