"""The filters of an article listing (status, locale, tag, text) as SQL conditions."""

from __future__ import annotations

import json

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.sql import Select

from knowledge_base.models import ArticleRow, QuestionRow
from knowledge_base.records import ArticleStatus


def filtered(
    query: Select,
    *,
    status: ArticleStatus | None = None,
    tag: str | None = None,
    locale: str | None = None,
    text: str | None = None,
) -> Select:
    """``query`` (over ``ArticleRow``) restricted to the articles matching every filter given.

    ``text`` matches the title, slug, answer or a question (not the title or passages as
    indexed texts), case-insensitively; ``%`` and ``_`` in it are literal. ``tag`` is exact.
    """
    if status is not None:
        query = query.where(ArticleRow.status == ArticleStatus(status).value)
    if locale is not None:
        query = query.where(ArticleRow.locale == locale)
    if tag is not None:
        # JSON containment differs by dialect; the serialised list contains '"tag"' in both.
        query = query.where(cast(ArticleRow.tags, String).like(f"%{json.dumps(tag)}%"))
    if text:
        query = query.where(matches(text))
    return query


def matches(text: str):
    """Articles whose title, slug, answer or one of whose questions contains ``text``."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"

    def like(column):
        return func.lower(column).like(pattern, escape="\\")

    question = (
        select(QuestionRow.id)
        .where(QuestionRow.article_id == ArticleRow.id, QuestionRow.kind == "question")
        .where(like(QuestionRow.text))
        .exists()
    )
    return or_(like(ArticleRow.title), like(ArticleRow.slug), like(ArticleRow.answer), question)


__all__ = ["filtered", "matches"]
