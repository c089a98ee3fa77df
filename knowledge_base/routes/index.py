"""The search index: its status, and a rebuild (``/api/kb/status``, ``/api/kb/reindex``)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from fastapi import APIRouter

from knowledge_base.deps import KnowledgeBaseDep
from knowledge_base.schemas import StatusPublic

router = APIRouter()
admin_router = APIRouter()


@admin_router.post(
    "/reindex",
    response_model=StatusPublic,
    summary="Rebuild the vector index from the stored vectors now",
)
def reindex(kb: KnowledgeBaseDep) -> dict:
    return kb.reindex()


@router.get(
    "/status",
    response_model=StatusPublic,
    summary="Article and question counts, index size, versions and model",
)
def status_(kb: KnowledgeBaseDep) -> dict:
    return kb.status()


__all__ = ["admin_router", "router"]
