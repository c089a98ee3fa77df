"""The admin routes' dependencies: the learning loop, analytics and the acting admin.

The routes (`tier1.admin.routes`) are module-level; `tier1.admin.api.create_router` binds
them to the services and to the app's admin check. Its first dependency, `Provide`, puts
the services on each request; `remember_admin` runs the admin check and keeps its value.
"""

# No `from __future__ import annotations`: FastAPI reads the providers' signatures at runtime.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from handoff.analytics import Analytics
from tier1.admin.learning import LearningLoop

_STATE = "admin_services"
_ADMIN = "admin_caller"


class Provide:
    """The router dependency that hands the learning loop and analytics to the routes."""

    def __init__(self, learning: LearningLoop, analytics: Analytics) -> None:
        self.services = (learning, analytics)

    async def __call__(self, request: Request) -> None:
        """Put the services on ``request``."""
        setattr(request.state, _STATE, self.services)


def remember_admin(require_admin: Callable[..., Any]) -> Callable[..., Any]:
    """A dependency that runs ``require_admin`` and keeps its value for `Admin`."""

    async def remember(request: Request, who: Annotated[Any, Depends(require_admin)]) -> None:
        setattr(request.state, _ADMIN, who)

    return remember


async def get_learning(request: Request) -> LearningLoop:
    """The learning loop serving this request."""
    return getattr(request.state, _STATE)[0]


async def get_analytics(request: Request) -> Analytics:
    """The analytics serving this request."""
    return getattr(request.state, _STATE)[1]


async def get_admin(request: Request) -> Any:
    """The calling admin (`remember_admin` kept it)."""
    return getattr(request.state, _ADMIN)


LearningDep = Annotated[LearningLoop, Depends(get_learning)]
AnalyticsDep = Annotated[Analytics, Depends(get_analytics)]
Admin = Annotated[Any, Depends(get_admin)]


def who(agent: Any) -> dict[str, Any]:
    """The acting admin as the learning loop records them: a stable id and a readable name."""
    name = getattr(agent, "display_name", None) or getattr(agent, "email", None)
    return {"actor": getattr(agent, "actor", None) or "admin", "actor_name": name or None}


__all__ = [
    "Admin",
    "AnalyticsDep",
    "LearningDep",
    "Provide",
    "get_admin",
    "get_analytics",
    "get_learning",
    "remember_admin",
    "who",
]
