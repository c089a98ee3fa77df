"""The handoff routes' dependencies: the wired services and the caller, as ``Annotated`` aliases.

The routes (`handoff.routes`) are module-level; `build_handoff` wires the services once and
`Handoff.router` carries them: its first dependency, `Provide`, puts the assembled module on
each request it serves, and the providers below read it from there. So any app that includes
the router serves it, and two handoff modules can live in one process (tests do).
"""

# No `from __future__ import annotations`: FastAPI reads the providers' signatures at runtime.
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from handoff.account_admin import AccountAdmin
from handoff.assignment import Assigner
from handoff.auth import AGENT_TOKEN, INTERNAL_TOKEN, Auth, Principal
from handoff.canned import CannedResponses
from handoff.conversation_search import ConversationSearch
from handoff.desk import AgentDesk
from handoff.event_stream import EventStream
from handoff.events import EventBus
from handoff.queue_positions import QueuePositions
from handoff.records import Agent
from handoff.service import HandoffService
from handoff.sessions import WidgetSessions
from handoff.settings import WidgetSettings
from handoff.tickets import TicketStore

_STATE_KEY = "handoff"


class Provide:
    """The router dependency that hands ``wired`` (a `handoff.wiring.Handoff`) to the routes."""

    def __init__(self, wired: Any) -> None:
        self.wired = wired

    async def __call__(self, request: Request) -> None:
        """Put the wired module on ``request.state`` for the providers below."""
        setattr(request.state, _STATE_KEY, self.wired)


def wired(request: Request) -> Any:
    """The handoff module serving this request (`Provide` put it there)."""
    return getattr(request.state, _STATE_KEY)


async def get_service(request: Request) -> HandoffService:
    return wired(request).service


async def get_desk(request: Request) -> AgentDesk:
    return wired(request).desk


async def get_assigner(request: Request) -> Assigner:
    return wired(request).assigner


async def get_canned(request: Request) -> CannedResponses:
    return wired(request).canned


async def get_auth(request: Request) -> Auth:
    return wired(request).auth


async def get_search(request: Request) -> ConversationSearch:
    return wired(request).search


async def get_account_admin(request: Request) -> AccountAdmin:
    return wired(request).account_admin


async def get_offline(request: Request) -> Any:
    """The offline-message flow (`handoff.tickets_flow.OfflineTickets`), or None."""
    return wired(request).offline


async def get_tickets(request: Request) -> TicketStore:
    return wired(request).tickets


async def get_sessions(request: Request) -> WidgetSessions:
    return wired(request).sessions


async def get_queue(request: Request) -> QueuePositions:
    return wired(request).queue


async def get_bus(request: Request) -> EventBus:
    return wired(request).bus


async def get_stream(request: Request) -> EventStream:
    return wired(request).stream


async def get_widget_settings(request: Request) -> WidgetSettings:
    return wired(request).service.settings.widget


async def get_static_dir(request: Request) -> Any:
    return wired(request).static_dir


ServiceDep = Annotated[HandoffService, Depends(get_service)]
DeskDep = Annotated[AgentDesk, Depends(get_desk)]
AssignerDep = Annotated[Assigner, Depends(get_assigner)]
CannedDep = Annotated[CannedResponses, Depends(get_canned)]
AuthDep = Annotated[Auth, Depends(get_auth)]
SearchDep = Annotated[ConversationSearch, Depends(get_search)]
AccountAdminDep = Annotated[AccountAdmin, Depends(get_account_admin)]
OfflineDep = Annotated[Any, Depends(get_offline)]
TicketsDep = Annotated[TicketStore, Depends(get_tickets)]
SessionsDep = Annotated[WidgetSessions, Depends(get_sessions)]
QueueDep = Annotated[QueuePositions, Depends(get_queue)]
BusDep = Annotated[EventBus, Depends(get_bus)]
StreamDep = Annotated[EventStream, Depends(get_stream)]
WidgetSettingsDep = Annotated[WidgetSettings, Depends(get_widget_settings)]
StaticDirDep = Annotated[Any, Depends(get_static_dir)]

# -- the caller ------------------------------------------------------------------------------

AgentToken = Annotated[str | None, Depends(AGENT_TOKEN)]
InternalCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(INTERNAL_TOKEN)]


async def current_agent(auth: AuthDep, token: AgentToken) -> Agent:
    """The calling agent (agent or admin); 401 otherwise."""
    return await auth.agent_for(token)


CurrentAgent = Annotated[Agent, Depends(current_agent)]


async def current_admin(auth: AuthDep, agent: CurrentAgent) -> Agent:
    """The calling admin; 403 `Forbidden` for role ``agent``."""
    return auth.admin(agent)


async def internal_caller(auth: AuthDep, credentials: InternalCredentials) -> Principal:
    """`handoff.auth.INTERNAL` for the internal token; 401 otherwise."""
    return auth.internal(credentials)


Admin = Annotated[Agent, Depends(current_admin)]
Internal = Annotated[Principal, Depends(internal_caller)]

# An end user's session token (REST and SSE clients): ``Authorization: Bearer``.
SESSION_TOKEN = HTTPBearer(auto_error=False)
SessionCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(SESSION_TOKEN)]


__all__ = [
    "SESSION_TOKEN",
    "AccountAdminDep",
    "Admin",
    "AssignerDep",
    "AuthDep",
    "BusDep",
    "CannedDep",
    "CurrentAgent",
    "DeskDep",
    "Internal",
    "OfflineDep",
    "Provide",
    "QueueDep",
    "SearchDep",
    "ServiceDep",
    "SessionCredentials",
    "SessionsDep",
    "StaticDirDep",
    "StreamDep",
    "TicketsDep",
    "WidgetSettingsDep",
    "current_admin",
    "current_agent",
    "internal_caller",
    "wired",
]
