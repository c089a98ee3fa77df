"""HTTP API of the knowledge base: one router, mounted by the app's composition root.

Endpoints are sync functions so FastAPI runs them in its threadpool (encoding and FAISS
search block). Errors propagate as ``KnowledgeBaseError`` subclasses; the app maps their
``http_status`` to responses in one place.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, constr

from knowledge_base.service import MAX_QUERY_CHARS, KnowledgeBase

# No `from __future__ import annotations` here: FastAPI resolves endpoint annotations at
# runtime and pydantic 1 models must be real classes, not strings.


class _Schema(BaseModel):
    class Config:
        extra = "forbid"


class SearchRequest(_Schema):
    text: constr(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="the user's question, as typed", example="I forgot my password"
    )
    top_k: int | None = Field(
        None, ge=1, le=20, description="articles to return (default from config)"
    )


class HitPublic(_Schema):
    article_id: int
    slug: str
    title: str
    answer: str
    url: str | None
    score: float = Field(..., description="cosine similarity of the best-matching question")
    matched_question: str


class SearchResponse(_Schema):
    decision: str = Field(..., description="answer | clarify | handoff")
    hits: list[HitPublic]


class ArticlePublic(_Schema):
    id: int
    slug: str
    title: str
    answer: str
    url: str | None
    tags: list[str]
    questions: list[str]
    created_at: str
    updated_at: str


class StatusPublic(_Schema):
    articles: int
    questions: int
    index_size: int
    version: int
    index_version: int | None
    stale: bool
    model: str
    dimensions: int
    index_type: str


def create_router(kb: KnowledgeBase, authorize: Callable[..., Any]) -> APIRouter:
    """Build the ``/api/kb`` router; every route depends on ``authorize`` (the app's auth check)."""
    router = APIRouter(prefix="/api/kb", tags=["knowledge base"], dependencies=[Depends(authorize)])

    @router.post(
        "/search",
        response_model=SearchResponse,
        summary="Rank articles for a question and decide: answer, clarify or hand off",
    )
    def search(body: SearchRequest) -> dict:
        return kb.search(body.text, body.top_k).to_dict()

    @router.get("/articles/{article_id}", response_model=ArticlePublic, summary="One article by id")
    def get_article(article_id: int) -> dict:
        return kb.get_article(article_id).to_dict()

    @router.get(
        "/status",
        response_model=StatusPublic,
        summary="Article and question counts, index size, versions and model",
    )
    def status() -> dict:
        return kb.status()

    return router
