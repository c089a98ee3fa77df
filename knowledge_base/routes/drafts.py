"""An article's draft: save, discard and publish it (admins).

``/api/kb/articles/{article_id}/draft`` and ``.../publish``.
"""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from fastapi import APIRouter

from knowledge_base.deps import Admin, ArticleId, KnowledgeBaseDep, who
from knowledge_base.schemas import ArticleDraftWrite, ArticlePublic

admin_router = APIRouter()


@admin_router.put(
    "/articles/{article_id}/draft",
    response_model=ArticlePublic,
    summary="Save changes as the article's draft; the live version keeps answering",
    description="The body is the whole content as it should go live. Search, the "
    "article's status and its live fields do not change until POST "
    "/api/kb/articles/{article_id}/publish; `draft` in the response holds the changes. "
    "Content equal to the live version removes the draft.",
)
def save_draft(
    article_id: ArticleId, body: ArticleDraftWrite, admin: Admin, kb: KnowledgeBaseDep
) -> dict:
    return kb.save_draft(article_id, body.dict(), **who(admin)).to_dict()


@admin_router.delete(
    "/articles/{article_id}/draft",
    response_model=ArticlePublic,
    summary="Discard the article's draft; the live version is untouched",
)
def discard_draft(article_id: ArticleId, kb: KnowledgeBaseDep) -> dict:
    return kb.discard_draft(article_id).to_dict()


@admin_router.post(
    "/articles/{article_id}/publish",
    response_model=ArticlePublic,
    summary="Publish the article and its draft (searchable when this returns)",
    description="The draft, if any, becomes the live version (merged with changes made to "
    "the live version since the draft was started) and the status `published`; recorded "
    "as a `published` revision. Publishing a published article without a draft changes "
    "nothing.",
)
def publish(article_id: ArticleId, admin: Admin, kb: KnowledgeBaseDep) -> dict:
    return kb.publish(article_id, **who(admin)).to_dict()


__all__ = ["admin_router"]
