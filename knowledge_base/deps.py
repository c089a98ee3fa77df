"""The knowledge-base routes' dependencies: the service and the acting admin, as aliases.

The routes (`knowledge_base.routes`) are module-level; `knowledge_base.api.create_router`
binds them to one `KnowledgeBase` and to the app's auth checks. Its first dependency,
`Provide`, puts the service on each request; `RememberAdmin` runs the app's admin check
and keeps its value (the principal), which names the actor in revisions.
"""

# No `from __future__ import annotations`: FastAPI reads the providers' signatures at runtime.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from knowledge_base.service import KnowledgeBase

# SQL integers are 64-bit: larger ids and offsets are refused here (422) instead of
# overflowing the database driver (a 500).
MAX_ID = 2**63 - 1
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID, description="the article's id")]

_KB = "knowledge_base"
_ADMIN = "knowledge_base_admin"


class Provide:
    """The router dependency that hands ``kb`` to the routes."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    async def __call__(self, request: Request) -> None:
        """Put the knowledge base on ``request``."""
        setattr(request.state, _KB, self.kb)


def remember_admin(authorize_admin: Callable[..., Any]) -> Callable[..., Any]:
    """A dependency that runs ``authorize_admin`` and keeps its value for `Admin`."""

    async def remember(
        request: Request, who: Annotated[Any, Depends(authorize_admin)]
    ) -> None:
        setattr(request.state, _ADMIN, who)

    return remember


async def get_kb(request: Request) -> KnowledgeBase:
    """The knowledge base serving this request (`Provide` put it there)."""
    return getattr(request.state, _KB)


async def get_admin(request: Request) -> Any:
    """The admin check's value for this request (`remember_admin` kept it)."""
    return getattr(request.state, _ADMIN)


KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_kb)]
Admin = Annotated[Any, Depends(get_admin)]


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


def who(principal: Any) -> dict[str, Any]:
    """The ``actor`` and ``actor_name`` keyword arguments of the service's writes."""
    return {"actor": _actor(principal), "actor_name": _actor_name(principal)}


__all__ = [
    "MAX_ID",
    "Admin",
    "ArticleId",
    "KnowledgeBaseDep",
    "Provide",
    "get_admin",
    "get_kb",
    "remember_admin",
    "who",
]
