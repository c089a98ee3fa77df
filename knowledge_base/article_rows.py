"""Conversions between ``ArticleRow`` and the package's values (records, specs, snapshots).

Also the sync of an article's indexed texts with what its spec asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import numpy as np

from knowledge_base.drafts import Draft
from knowledge_base.knowledge_file import ArticleSpec
from knowledge_base.models import ArticleRow, QuestionRow, RevisionRow
from knowledge_base.records import Article, ArticleStatus, Revision

SNAPSHOT_FIELDS = ("slug", "title", "answer", "url", "tags", "locale", "status", "questions")


def to_article(row: ArticleRow) -> Article:
    """The row as an ``Article`` record (its question variants, not title or passages)."""
    return Article(
        id=row.id,
        slug=row.slug,
        title=row.title,
        answer=row.answer,
        url=row.url,
        tags=list(row.tags or []),
        questions=[q.text for q in row.questions if q.kind == "question"],
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        locale=row.locale,
        status=ArticleStatus(row.status),
        draft=Draft.from_json(row.draft),
    )


def to_spec(row: ArticleRow) -> ArticleSpec:
    """The row's live content as an ``ArticleSpec`` (knowledge-file fields)."""
    return ArticleSpec(
        slug=row.slug,
        title=row.title,
        answer=row.answer,
        url=row.url,
        tags=tuple(row.tags or ()),
        questions=tuple(q.text for q in row.questions if q.kind == "question"),
        locale=row.locale,
        status=ArticleStatus(row.status),
    )


def snapshot(row: ArticleRow) -> dict[str, Any]:
    """The article's editable fields as JSON (what a revision keeps)."""
    return spec_snapshot(to_spec(row))


def spec_snapshot(spec: ArticleSpec) -> dict[str, Any]:
    """The spec's editable fields as JSON (what a revision keeps)."""
    return {
        "slug": spec.slug,
        "title": spec.title,
        "answer": spec.answer,
        "url": spec.url,
        "tags": list(spec.tags),
        "locale": spec.locale,
        "status": spec.status.value,
        "questions": list(spec.questions),
    }


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The snapshot fields that differ (for a creation: those given a value)."""
    if before is None:
        return [f for f in SNAPSHOT_FIELDS if after.get(f) not in (None, [], "")]
    return [f for f in SNAPSHOT_FIELDS if before.get(f) != after.get(f)]


def apply_spec(row: ArticleRow, spec: ArticleSpec) -> None:
    """Copy the spec's fields onto the row, except its questions (see `sync_texts`)."""
    row.slug, row.title, row.answer, row.url = spec.slug, spec.title, spec.answer, spec.url
    row.tags, row.locale, row.status = list(spec.tags), spec.locale, spec.status.value


def to_revision(row: RevisionRow, version: int = 0) -> Revision:
    """The row as a ``Revision`` record."""
    return Revision(
        id=row.id,
        article_id=row.article_id,
        slug=row.slug,
        action=row.action,
        actor=row.actor,
        at=utc(row.at),
        changed=list(row.changed or []),
        previous=row.previous,
        version=version,
        actor_name=row.actor_name,
    )


_STATUS_ACTIONS = {
    ("draft", "published"): "published",
    ("archived", "published"): "published",
    ("published", "draft"): "unpublished",
    ("archived", "draft"): "restored",
    ("published", "archived"): "archived",
    ("draft", "archived"): "archived",
}


def revision_action(before: dict[str, Any] | None, status: str) -> str:
    """How a revision names a write: created, a status change, or updated.

    A status change is published, unpublished, archived or restored.
    """
    if before is None:
        return "created"
    return _STATUS_ACTIONS.get((before.get("status"), status), "updated")


def same(row: ArticleRow, spec: ArticleSpec, wanted, dimensions: int, model: str) -> bool:
    """Whether writing ``spec`` (indexing ``wanted``) would change nothing."""
    return (
        snapshot(row) == spec_snapshot(spec)
        and [(q.kind, q.text) for q in row.questions] == wanted
        and all(q.vector(dimensions, model) is not None for q in row.questions)
    )


def sync_texts(
    row: ArticleRow,
    wanted: list[tuple[str, str]],
    vector_for: Callable[[str], np.ndarray],
    dimensions: int,
    model: str,
    removed_ids: list[int],
) -> list[QuestionRow]:
    """Make ``row.questions`` hold exactly ``wanted`` (kind, text) in order.

    A text already stored keeps its row (id and vector). Returns the rows given a new
    vector; ids of deleted rows are appended to ``removed_ids``.
    """
    by_text = {q.text: q for q in row.questions}
    texts = {text for _, text in wanted}
    for q in list(row.questions):
        if q.text not in texts:
            if q.id is not None:
                removed_ids.append(q.id)
            row.questions.remove(q)  # delete-orphan cascade deletes the row
    changed = []
    for position, (kind, text) in enumerate(wanted):
        q = by_text.get(text)
        if q is None:
            q = QuestionRow(text=text)
            row.questions.append(q)
        q.position, q.kind = position, kind
        if q.vector(dimensions, model) is None:
            q.set_vector(vector_for(text), model)
            changed.append(q)
    row.questions.sort(key=lambda q: q.position)
    return changed


def utc(moment: datetime) -> datetime:
    """The moment as tz-aware UTC: SQLite drops the zone, and every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def now() -> datetime:
    """The current time, tz-aware in UTC."""
    return datetime.now(timezone.utc)
