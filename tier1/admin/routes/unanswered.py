"""The unanswered inbox: what the bot could not answer, and an admin's answers to it.

``/api/admin/unanswered``: list the groups, attach one to an article, draft a new article
from it, dismiss it, undo.
"""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from datetime import date, datetime, time, timezone
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, constr

from knowledge_base.schemas import ArticlePublic
from tier1.admin.deps import Admin, LearningDep, who

router = APIRouter()


class _Schema(BaseModel):
    class Config:
        extra = "forbid"


class AttachRequest(_Schema):
    """The article an inbox item's phrasings are added to, as questions."""

    article_id: int = Field(..., description="the article that gets the phrasings as questions")


class DraftRequest(_Schema):
    """A new article, created as a draft, whose questions are an item's phrasings."""

    # The slug's rule is the knowledge base's: its 422 says what is wrong and shows an example.
    slug: constr(max_length=200) = Field(..., example="gift-cards")  # type: ignore[valid-type]
    title: constr(min_length=1, max_length=200)  # type: ignore[valid-type]
    answer: constr(min_length=1)  # type: ignore[valid-type]
    questions: list[constr(max_length=1000)] | None = Field(  # type: ignore[valid-type]
        None, description="the phrasings to keep as questions (default: all of the item's)"
    )


class AttachResult(_Schema):
    """The article an item was attached to or drafted as, and the questions added."""

    item_id: str
    article: ArticlePublic
    added: list[str] = Field(..., description="phrasings that became questions of the article")


class DismissResult(_Schema):
    """A dismissed inbox item: how many failed questions it hid."""

    item_id: str
    dismissed: int = Field(..., description="failed questions hidden")


class UndoResult(_Schema):
    """An undone attach or dismiss: the misses reopened, the questions taken back."""

    item_id: str
    reopened: int = Field(..., description="failed questions back in the inbox")
    removed: list[str] = Field(..., description="questions taken off the article again")
    article: ArticlePublic | None = Field(None, description="the article after the undo")


class UnansweredPublic(_Schema):
    """One inbox item: similar questions the bot could not answer, grouped."""

    id: str
    count: int = Field(..., description="failed questions in this group")
    examples: list[str] = Field(..., description="the most frequent phrasings")
    phrasings: int = Field(..., description="distinct phrasings in the group")
    kinds: dict[str, int] = Field(
        ..., description="low_confidence | not_helpful | abandoned_clarification -> count"
    )
    conversations: list[str]
    first_seen: datetime
    last_seen: datetime
    suggested_article_id: int | None
    suggested_title: str | None
    suggested_score: float | None
    draft_answer: str | None = Field(
        None, description="an agent's reply in a handed-off chat, offered as a draft answer"
    )


@router.get(
    "/unanswered",
    response_model=list[UnansweredPublic],
    summary="What the bot could not answer, grouped by similarity, biggest first",
    description="Low-confidence handoffs, 'Not helpful' feedback and abandoned "
    "clarifications that nobody attached or dismissed yet.",
)
def unanswered(
    _: Admin,
    learning: LearningDep,
    since: Annotated[date | None, Query(description="only misses since")] = None,
) -> list:
    start = datetime.combine(since, time.min, tzinfo=timezone.utc) if since else None
    return [i.to_dict() for i in learning.inbox(start)]


@router.post(
    "/unanswered/{item_id}/attach",
    response_model=AttachResult,
    summary="Add the item's phrasings as question variants of an article",
    description="Searchable when this returns; the item leaves the inbox. POST "
    "/api/admin/unanswered/{item_id}/undo takes it back.",
)
def attach(item_id: str, body: AttachRequest, agent: Admin, learning: LearningDep) -> dict:
    return learning.attach(item_id, body.article_id, **who(agent))


@router.post(
    "/unanswered/{item_id}/draft",
    status_code=201,
    response_model=AttachResult,
    summary="Draft a new article whose questions are the item's phrasings",
    description="The article is created unpublished (status draft); the item leaves the "
    "inbox. An invalid slug is a 422 that says why.",
)
def draft(item_id: str, body: DraftRequest, agent: Admin, learning: LearningDep) -> dict:
    return learning.draft(
        item_id, slug=body.slug, title=body.title, answer=body.answer,
        questions=body.questions, **who(agent),
    )


@router.post(
    "/unanswered/{item_id}/dismiss",
    response_model=DismissResult,
    summary="Hide the item (POST .../undo brings it back)",
)
def dismiss(item_id: str, agent: Admin, learning: LearningDep) -> dict:
    return learning.dismiss(item_id, actor=who(agent)["actor"])


@router.post(
    "/unanswered/{item_id}/undo",
    response_model=UndoResult,
    summary="Undo an attach or dismiss: the item is back in the inbox",
    description="For an attach, the phrasings it added leave the article again "
    "(searchable as before when this returns). 409 when the item was not attached or "
    "dismissed, or the undo was done already.",
)
def undo(item_id: str, agent: Admin, learning: LearningDep) -> dict:
    return learning.undo(item_id, **who(agent))


__all__ = [
    "AttachRequest",
    "AttachResult",
    "DismissResult",
    "DraftRequest",
    "UnansweredPublic",
    "UndoResult",
    "router",
]
