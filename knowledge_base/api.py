"""HTTP API of the knowledge base: one router, mounted by the app's composition root.

Endpoints are sync functions so FastAPI runs them in its threadpool (encoding and FAISS
search block). Errors propagate as ``KnowledgeBaseError`` subclasses; the app maps them to
HTTP statuses in one place, at its edge (``tier1.http_errors``). Writes go to SQL and then into the live index,
so a change is searchable as soon as its request returns.
"""

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile, status

from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.ingest import IMPORT_EXTENSIONS
from knowledge_base.schemas import (
    ArticleCreate,
    ArticleDraftWrite,
    ArticlePage,
    ArticlePublic,
    ArticleUpdate,
    ExportFormat,
    ImportPreviewPublic,
    ImportReportPublic,
    RevisionPublic,
    SearchRequest,
    SearchResponse,
    Status,
    StatusPublic,
)
from knowledge_base.service import KnowledgeBase

# No `from __future__ import annotations` here: FastAPI resolves endpoint annotations at
# runtime and pydantic 1 models must be real classes, not strings.

_MEDIA = {"csv": "text/csv", "json": "application/json", "yaml": "application/yaml"}
MAX_UPLOAD_BYTES = 50 * 2**20
# SQL integers are 64-bit: larger ids and offsets are refused here (422) instead of
# overflowing the database driver (a 500).
MAX_ID = 2**63 - 1
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID, description="the article's id")]


def _actor(principal: Any) -> str:
    """How the caller appears in revisions (``agent:7``, ``internal``, ...)."""
    for name in ("actor", "email"):
        value = getattr(principal, name, None)
        if isinstance(value, str) and value:
            return value
    return "admin" if principal is None else str(principal)


def _actor_name(principal: Any) -> str | None:
    """The caller's name for people reading the history (an agent's display name or email)."""
    person = getattr(principal, "agent", None) or principal
    for name in ("display_name", "email"):
        value = getattr(person, name, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _who(principal: Any) -> dict[str, Any]:
    return {"actor": _actor(principal), "actor_name": _actor_name(principal)}


def create_router(
    kb: KnowledgeBase,
    authorize: Callable[..., Any],
    authorize_admin: Callable[..., Any] | None = None,
) -> APIRouter:
    """Build the ``/api/kb`` router.

    Args:
        authorize: every route depends on it (the app's auth check).
        authorize_admin: writes (create, update, delete, import, reindex) and export also
            depend on it; its value names the actor in revisions. Default: ``authorize``.
    """
    router = APIRouter(prefix="/api/kb", tags=["knowledge base"], dependencies=[Depends(authorize)])
    Admin = Annotated[Any, Depends(authorize_admin or authorize)]

    @router.post(
        "/search",
        response_model=SearchResponse,
        summary="Rank articles for a question and decide: answer, clarify or hand off",
        description="Also the admin's 'test a question': `decided_by` names the rule and the "
        "threshold that decided.",
    )
    def search(body: SearchRequest) -> Response:
        # Serialised here, not re-validated against the response model: the bot calls this
        # once per message, and pydantic's response validation was a tenth of its cost. The
        # shape is SearchResponse's (the API tests and the schema fuzzing check it).
        result = kb.search(body.text, body.top_k).to_dict()
        return Response(json.dumps(result, default=float), media_type="application/json")

    @router.get(
        "/articles", response_model=ArticlePage, summary="List articles, filtered and paged"
    )
    def list_articles(
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

    @router.post(
        "/articles",
        response_model=ArticlePublic,
        status_code=status.HTTP_201_CREATED,
        summary="Create an article (searchable when this returns, if published)",
    )
    def create_article(body: ArticleCreate, who: Admin) -> dict:
        return kb.create_article(_fields(body.dict()), **_who(who)).to_dict()

    @router.get("/articles/{article_id}", response_model=ArticlePublic, summary="One article by id")
    def get_article(article_id: ArticleId) -> dict:
        return kb.get_article(article_id).to_dict()

    @router.put(
        "/articles/{article_id}",
        response_model=ArticlePublic,
        summary="Replace an article, live at once (the previous version is kept as a revision)",
        description="To change a published article without publishing the change yet, save "
        "a draft with PUT /api/kb/articles/{article_id}/draft instead.",
    )
    def replace_article(article_id: ArticleId, body: ArticleCreate, who: Admin) -> dict:
        return kb.update_article(article_id, _fields(body.dict()), **_who(who)).to_dict()

    @router.patch(
        "/articles/{article_id}",
        response_model=ArticlePublic,
        summary="Change some fields of an article, e.g. its status",
    )
    def update_article(article_id: ArticleId, body: ArticleUpdate, who: Admin) -> dict:
        changes = _fields(body.dict(exclude_unset=True))
        return kb.update_article(article_id, changes, partial=True, **_who(who)).to_dict()

    @router.put(
        "/articles/{article_id}/draft",
        response_model=ArticlePublic,
        summary="Save changes as the article's draft; the live version keeps answering",
        description="The body is the whole content as it should go live. Search, the "
        "article's status and its live fields do not change until POST "
        "/api/kb/articles/{article_id}/publish; `draft` in the response holds the changes. "
        "Content equal to the live version removes the draft.",
    )
    def save_draft(article_id: ArticleId, body: ArticleDraftWrite, who: Admin) -> dict:
        return kb.save_draft(article_id, body.dict(), **_who(who)).to_dict()

    @router.delete(
        "/articles/{article_id}/draft",
        response_model=ArticlePublic,
        summary="Discard the article's draft; the live version is untouched",
        dependencies=[Depends(authorize_admin or authorize)],
    )
    def discard_draft(article_id: ArticleId) -> dict:
        return kb.discard_draft(article_id).to_dict()

    @router.post(
        "/articles/{article_id}/publish",
        response_model=ArticlePublic,
        summary="Publish the article and its draft (searchable when this returns)",
        description="The draft, if any, becomes the live version (merged with changes made to "
        "the live version since the draft was started) and the status `published`; recorded "
        "as a `published` revision. Publishing a published article without a draft changes "
        "nothing.",
    )
    def publish(article_id: ArticleId, who: Admin) -> dict:
        return kb.publish(article_id, **_who(who)).to_dict()

    @router.delete(
        "/articles/{article_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        summary="Delete an article (it leaves search results when this returns)",
    )
    def delete_article(article_id: ArticleId, who: Admin) -> Response:
        kb.delete_article(article_id, **_who(who))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get(
        "/articles/{article_id}/revisions",
        response_model=list[RevisionPublic],
        summary="An article's change history (its versions), newest first",
    )
    def revisions(article_id: ArticleId) -> list:
        return [r.to_dict() for r in kb.article_revisions(article_id)]

    @router.post(
        "/import",
        response_model=ImportReportPublic,
        summary="Import articles from an uploaded file (upsert by slug; all or nothing)",
        description=f"Formats by extension: {', '.join(IMPORT_EXTENSIONS)}. A file with any "
        "problem imports nothing; the error names the file, line and field.",
    )
    def import_file(file: Annotated[UploadFile, File()], who: Admin) -> dict:
        return kb.import_bytes(file.filename or "upload", _read(file), **_who(who)).to_dict()

    @router.post(
        "/import/preview",
        response_model=ImportPreviewPublic,
        summary="Check an upload before importing it: per-row actions and errors, nothing written",
        description="Each article of the file with what an import would do (create, update, "
        "unchanged) or its problems (line and field). `importable` is false while any problem "
        "exists. Same formats and limits as POST /api/kb/import.",
        dependencies=[Depends(authorize_admin or authorize)],
    )
    def preview_import(file: Annotated[UploadFile, File()]) -> dict:
        return kb.preview_bytes(file.filename or "upload", _read(file)).to_dict()

    @router.get(
        "/export",
        summary="Download every article as CSV, JSON or YAML (re-importable unchanged)",
        response_class=Response,
        responses={200: {"content": {m: {} for m in _MEDIA.values()}}},
        dependencies=[Depends(authorize_admin or authorize)],
    )
    def export(
        format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.json,
        status_: Annotated[Status | None, Query(alias="status")] = None,
    ) -> Response:
        body = kb.export(format_.value, status_)
        return Response(
            body,
            media_type=_MEDIA[format_.value],
            headers={"Content-Disposition": f'attachment; filename="articles.{format_.value}"'},
        )

    @router.post(
        "/reindex",
        response_model=StatusPublic,
        summary="Rebuild the vector index from the stored vectors now",
        dependencies=[Depends(authorize_admin or authorize)],
    )
    def reindex() -> dict:
        return kb.reindex()

    @router.get(
        "/status",
        response_model=StatusPublic,
        summary="Article and question counts, index size, versions and model",
    )
    def status_() -> dict:
        return kb.status()

    return router


def _read(file: UploadFile) -> bytes:
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise KnowledgeFileError(
            file.filename or "upload",
            [FileProblem(None, None, f"larger than {MAX_UPLOAD_BYTES // 2**20} MB; split it")],
        )
    return data


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """Schema fields -> knowledge-file fields (enums to values; None url stays None)."""
    return {k: (v.value if isinstance(v, Status) else v) for k, v in data.items()}
