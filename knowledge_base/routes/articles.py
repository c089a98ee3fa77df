"""Articles: list, read, create, replace, change and delete (``/api/kb/articles``).

`router` holds the reads (any caller the app lets in); `admin_router` the writes, whose
admin (`knowledge_base.deps.Admin`) names the actor in the article's revisions.
"""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from knowledge_base.deps import MAX_ID, Admin, ArticleId, KnowledgeBaseDep, who
from knowledge_base.schemas import (
    ArticleCreate,
    ArticlePage,
    ArticlePublic,
    ArticleUpdate,
    RevisionPublic,
    Status,
)

router = APIRouter()
admin_router = APIRouter()


@router.get(
    "/articles", response_model=ArticlePage, summary="List articles, filtered and paged"
)
def list_articles(
    kb: KnowledgeBaseDep,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    tag: str | None = None,
    locale: str | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="text in the title, slug, answer or a question"),
    ] = None,
) -> dict:
    items, total = kb.list_articles(
        offset=offset, limit=limit, status=status_, tag=tag, locale=locale, text=q
    )
    return {
        "items": [a.to_dict() for a in items],
        "total": total,
        "offset": offset,
        "limit": limit,
    }


@router.get("/articles/{article_id}", response_model=ArticlePublic, summary="One article by id")
def get_article(article_id: ArticleId, kb: KnowledgeBaseDep) -> dict:
    return kb.get_article(article_id).to_dict()


@router.get(
    "/articles/{article_id}/revisions",
    response_model=list[RevisionPublic],
    summary="An article's change history (its versions), newest first",
)
def revisions(article_id: ArticleId, kb: KnowledgeBaseDep) -> list:
    return [r.to_dict() for r in kb.article_revisions(article_id)]


@admin_router.post(
    "/articles",
    response_model=ArticlePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an article (searchable when this returns, if published)",
)
def create_article(body: ArticleCreate, admin: Admin, kb: KnowledgeBaseDep) -> dict:
    return kb.create_article(_fields(body.dict()), **who(admin)).to_dict()


@admin_router.put(
    "/articles/{article_id}",
    response_model=ArticlePublic,
    summary="Replace an article, live at once (the previous version is kept as a revision)",
    description="To change a published article without publishing the change yet, save "
    "a draft with PUT /api/kb/articles/{article_id}/draft instead.",
)
def replace_article(
    article_id: ArticleId, body: ArticleCreate, admin: Admin, kb: KnowledgeBaseDep
) -> dict:
    return kb.update_article(article_id, _fields(body.dict()), **who(admin)).to_dict()


@admin_router.patch(
    "/articles/{article_id}",
    response_model=ArticlePublic,
    summary="Change some fields of an article, e.g. its status",
)
def update_article(
    article_id: ArticleId, body: ArticleUpdate, admin: Admin, kb: KnowledgeBaseDep
) -> dict:
    changes = _fields(body.dict(exclude_unset=True))
    return kb.update_article(article_id, changes, partial=True, **who(admin)).to_dict()


@admin_router.delete(
    "/articles/{article_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an article (it leaves search results when this returns)",
)
def delete_article(article_id: ArticleId, admin: Admin, kb: KnowledgeBaseDep) -> Response:
    kb.delete_article(article_id, **who(admin))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """Schema fields -> knowledge-file fields (enums to values; None url stays None)."""
    return {k: (v.value if isinstance(v, Status) else v) for k, v in data.items()}


__all__ = ["admin_router", "router"]
