"""HTTP schemas of the knowledge base's API, one per use (pydantic 1).

No ``from __future__ import annotations``: FastAPI resolves these at runtime.
"""

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, constr

from knowledge_base.knowledge_file import MAX_QUESTION, MAX_SLUG, MAX_TITLE, MAX_URL
from knowledge_base.service import MAX_QUERY_CHARS


class _Schema(BaseModel):
    class Config:
        extra = "forbid"


class Status(str, Enum):
    """An article's lifecycle: only published articles are searchable."""

    draft = "draft"
    published = "published"
    archived = "archived"


class ExportFormat(str, Enum):
    """The file formats an export can be written in."""

    csv = "csv"
    json = "json"
    yaml = "yaml"


class SearchRequest(_Schema):
    """A question to search the knowledge base with."""

    text: constr(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="the user's question, as typed", example="I forgot my password"
    )
    top_k: int | None = Field(
        None, ge=1, le=20, description="articles to return (default from config)"
    )


class HitPublic(_Schema):
    """One article a search found, with its score."""

    article_id: int
    slug: str
    title: str
    answer: str
    url: str | None
    score: float = Field(..., description="the article's score (see knowledge_base.scoring)")
    matched_question: str = Field(
        ..., description="the indexed text (title, question or passage) that matched best"
    )


class DecidedBy(_Schema):
    """Which decision rule fired, and the numbers it compared."""

    rule: str = Field(
        ...,
        description="no_hits | below_answer_threshold | within_clarify_margin | confident_answer",
    )
    threshold: float = Field(..., description="the setting the rule compared against")
    score: float | None = Field(None, description="the best article's score")
    second_score: float | None = Field(None, description="the runner-up's score")
    candidates: int | None = Field(None, description="clarify: how many options are offered")
    answer_threshold: float | None = Field(
        None, description="clarify: the answer threshold the best score passed (threshold is the margin)"
    )


class SearchResponse(_Schema):
    """What to do with a question, and the articles found for it, best first."""

    decision: str = Field(..., description="answer | clarify | handoff")
    decided_by: DecidedBy | None = Field(None, description="which rule and threshold decided")
    hits: list[HitPublic]


class ArticleCreate(_Schema):
    """A new article: knowledge-file fields."""

    slug: str = Field(
        ...,
        max_length=MAX_SLUG,
        description="external id: lowercase-words-with-dashes, unique",
        example="reset-password",
    )
    title: str = Field(..., max_length=MAX_TITLE, example="How do I reset my password?")
    answer: str = Field(..., description="what the assistant replies (Markdown)")
    questions: list[constr(max_length=MAX_QUESTION)] = Field(  # type: ignore[valid-type]
        default_factory=list, description="how users ask it", example=["I forgot my password"]
    )
    url: str | None = Field(None, max_length=MAX_URL)
    tags: list[str] = Field(default_factory=list)
    locale: str = Field("en", example="en")
    status: Status = Status.published


class ArticleUpdate(_Schema):
    """Only the fields sent change (PATCH)."""

    slug: str | None = Field(None, max_length=MAX_SLUG)
    title: str | None = Field(None, max_length=MAX_TITLE)
    answer: str | None = None
    questions: list[constr(max_length=MAX_QUESTION)] | None = None  # type: ignore[valid-type]
    url: str | None = Field(None, max_length=MAX_URL)
    tags: list[str] | None = None
    locale: str | None = None
    status: Status | None = None


class ArticleDraftWrite(_Schema):
    """An article's whole content as it should go live when published (no status)."""

    slug: str = Field(..., max_length=MAX_SLUG, example="reset-password")
    title: str = Field(..., max_length=MAX_TITLE, example="How do I reset my password?")
    answer: str = Field(..., description="what the assistant replies (Markdown)")
    questions: list[constr(max_length=MAX_QUESTION)] = Field(  # type: ignore[valid-type]
        default_factory=list, description="how users ask it"
    )
    url: str | None = Field(None, max_length=MAX_URL)
    tags: list[str] = Field(default_factory=list)
    locale: str = Field("en", example="en")


class DraftPublic(_Schema):
    """Changes saved but not published: the content publishing would give, and who saved it."""

    slug: str
    title: str
    answer: str
    url: str | None
    tags: list[str]
    locale: str
    questions: list[str]
    changed: list[str] = Field(..., description="fields publishing would change")
    live_changed: list[str] = Field(
        ...,
        description="fields the live version changed since the draft was started (publishing "
        "keeps those changes unless the draft changed the same field)",
    )
    saved_at: datetime
    saved_by: str = Field(..., description="who saved it last, e.g. agent:3")
    saved_by_name: str | None = Field(None, description="that person's name")


class ArticlePublic(_Schema):
    """An article: its live content, status, dates and pending draft."""

    id: int
    slug: str
    title: str
    answer: str
    url: str | None
    tags: list[str]
    locale: str
    status: Status
    questions: list[str]
    created_at: datetime
    updated_at: datetime = Field(..., description="the live version's last change")
    draft: DraftPublic | None = Field(
        None, description="pending changes, not live until POST .../publish"
    )


class ArticlePage(_Schema):
    """One page of a filtered article list."""

    items: list[ArticlePublic]
    total: int = Field(..., description="articles matching the filters")
    offset: int
    limit: int


class RevisionPublic(_Schema):
    """One recorded change of an article."""

    id: int
    article_id: int
    version: int = Field(..., description="1 for the creation, then one more per change")
    slug: str
    action: str = Field(
        ...,
        description="created | updated | published | unpublished | archived | restored | deleted",
    )
    actor: str = Field(..., description="who made the change, e.g. agent:3 or import")
    actor_name: str | None = Field(None, description="that person's name, when known")
    at: datetime
    changed: list[str] = Field(..., description="fields this change touched")
    previous: dict[str, Any] | None = Field(None, description="the article before the change")


class ImportReportPublic(_Schema):
    """What an import changed: articles by outcome, questions encoded."""

    created: int
    updated: int
    unchanged: int
    questions_encoded: int
    version: int
    slugs_created: list[str]
    slugs_updated: list[str]


class ImportProblemPublic(_Schema):
    """One problem found in an imported file."""

    line: int | None = Field(None, description="1-based line in the file, when known")
    field: str | None = Field(None, description="the offending field, e.g. title, questions[2]")
    message: str
    text: str = Field(..., description="the whole problem as one sentence")


class ImportPreviewRow(_Schema):
    """What importing would do with one article of the file."""

    row: int | None = Field(None, description="the article's 1-based position in the file")
    line: int | None
    slug: str | None
    title: str | None
    action: str = Field(..., description="create | update | unchanged | error")
    errors: list[ImportProblemPublic]


class ImportPreviewPublic(_Schema):
    """What importing a file would do, row by row, without writing."""

    file: str
    importable: bool = Field(..., description="no problem at all: importing would succeed")
    create: int
    update: int
    unchanged: int
    errors: int = Field(..., description="rows with problems plus problems of the whole file")
    problems: int = Field(
        ..., description="every problem listed: each row's (a row may have several) and the file's"
    )
    rows: list[ImportPreviewRow]
    file_errors: list[ImportProblemPublic]


class StatusPublic(_Schema):
    """The knowledge base's size, versions, embedder, index backend and scoring in use."""

    articles: int
    questions: int
    index_size: int
    version: int
    index_version: int | None
    stale: bool
    model: str
    dimensions: int
    index_type: str
    scoring: str = Field(
        ...,
        description="the article scoring in use: scoring.type, or for auto the one it chose "
        "(max_cosine, hybrid or learned_head)",
    )
