"""The admin API: the unanswered inbox (the learning loop) and analytics, under /api/admin.

Every route needs an admin token (the handoff module's ``require_admin``). The routes are
module-level (`tier1.admin.routes`); this binds them to the services and the admin check.
Endpoints are sync so FastAPI runs them in its threadpool: grouping encodes texts and
attaching re-indexes.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from handoff.analytics import Analytics
from tier1.admin.deps import Provide, remember_admin
from tier1.admin.learning import LearningLoop
from tier1.admin.routes import ROUTERS


def create_router(
    learning: LearningLoop, analytics: Analytics, require_admin: Callable[..., Any]
) -> APIRouter:
    """Build the ``/api/admin`` router; every route depends on ``require_admin``."""
    router = APIRouter(
        prefix="/api/admin",
        tags=["admin"],
        dependencies=[Depends(Provide(learning, analytics)), Depends(remember_admin(require_admin))],
    )
    for routes in ROUTERS:
        router.include_router(routes)
    return router


__all__ = ["create_router"]
