"""HTTP API of the knowledge base: one router, mounted by the app's composition root.

The routes are module-level (`knowledge_base.routes`, one module per resource); this binds
them to a `KnowledgeBase` and the app's auth checks. Endpoints are sync functions so
FastAPI runs them in its threadpool (encoding and FAISS search block). Errors propagate as
``KnowledgeBaseError`` subclasses; the app maps them to HTTP statuses in one place, at its
edge (``tier1.http_errors``). Writes go to SQL and then into the live index, so a change is
searchable as soon as its request returns.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from knowledge_base.deps import Provide, remember_admin
from knowledge_base.routes import ADMIN_ROUTERS, READ_ROUTERS
from knowledge_base.service import KnowledgeBase


def create_router(
    kb: KnowledgeBase,
    authorize: Callable[..., Any],
    authorize_admin: Callable[..., Any] | None = None,
) -> APIRouter:
    """Build the ``/api/kb`` router.

    Args:
        kb: the knowledge base the routes serve.
        authorize: every route depends on it (the app's auth check).
        authorize_admin: writes (create, update, delete, import, reindex) and export also
            depend on it; its value names the actor in revisions. Default: ``authorize``.
    """
    router = APIRouter(
        prefix="/api/kb",
        tags=["knowledge base"],
        dependencies=[Depends(Provide(kb)), Depends(authorize)],
    )
    for reads in READ_ROUTERS:
        router.include_router(reads)
    admin = [Depends(remember_admin(authorize_admin or authorize))]
    for writes in ADMIN_ROUTERS:
        router.include_router(writes, dependencies=admin)
    return router


__all__ = ["create_router"]
