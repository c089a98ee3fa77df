"""tier1's handoff module: conversations, the widget socket, the agent queue and API.

Build everything with `build_handoff`; importing this package creates nothing (no engine,
no sockets, no HTTP clients). It never imports ``rasa`` or ``bot``: Rasa is reached over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import APIRouter
from socketio import AsyncManager, AsyncServer
from sqlalchemy.engine import Engine

from handoff.accounts import AgentAccounts
from handoff.api import build_router
from handoff.auth import Auth, Passwords, Principal, Tokens
from handoff.errors import (
    AgentExists,
    AlreadyClaimed,
    AuthError,
    ConversationNotFound,
    Forbidden,
    HandoffError,
    IllegalTransition,
    InvalidAgent,
    InvalidMessage,
    NotAssignee,
    RasaUnavailable,
)
from handoff.events import Event, EventBus
from handoff.gateway import Gateway
from handoff.models import Base
from handoff.rasa_client import HttpRasaClient, InMemoryRasa, RasaClient
from handoff.records import (
    Agent,
    Conversation,
    ConversationDetail,
    ConversationSummary,
    StoredMessage,
)
from handoff.service import HandoffService
from handoff.settings import HandoffSettings
from handoff.status import TRANSITIONS, Status, transition
from handoff.store import ConversationStore

STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass
class Handoff:
    """The assembled handoff module, as the composition root mounts it.

    Attributes:
        service: the conversation service.
        auth: FastAPI dependencies ``require_agent``, ``require_admin``, ``require_internal``,
            ``require_internal_or_admin``.
        router: the ``/api`` router (auth, conversations, agents, internal handoff).
        sio: the widget's socket.io server; wrap with ``socketio.ASGIApp(sio, app)``.
        static_dir: the demo chat page (index.html, widget.js, widget.css, vendor/).
        bus: the event bus, for more subscribers (notifications, metrics).
    """

    service: HandoffService
    auth: Auth
    router: APIRouter
    sio: AsyncServer
    bus: EventBus
    rasa: RasaClient
    static_dir: Path = STATIC_DIR

    def start(self) -> None:
        """Create the handoff tables if missing (synchronous; call before serving)."""
        self.service.store.create_tables()

    async def aclose(self) -> None:
        """Let in-flight routing finish briefly, then close the Rasa client."""
        await self.service.drain()
        await self.rasa.aclose()

    def create_agent(
        self, email: str, password: str, role: str = "agent", display_name: str | None = None
    ) -> Agent:
        """See `HandoffService.create_agent`."""
        return self.service.create_agent(email, password, role, display_name)


def build_handoff(
    settings: HandoffSettings,
    engine: Engine,
    *,
    jwt_secret: str,
    internal_token: str,
    rasa_url: str,
    rasa_token: str,
    cors_origins: list[str],
    rasa: RasaClient | None = None,
    password_hasher: PasswordHasher | None = None,
    client_manager: AsyncManager | None = None,
) -> Handoff:
    """Wire the handoff module on ``engine`` (created by the caller).

    Args:
        settings: the ``handoff:`` section of config.yml.
        engine: a SQLAlchemy engine (``create_engine(url, future=True)``); tables are
            created by `Handoff.start`.
        jwt_secret: signs agent access tokens.
        internal_token: what internal callers send as ``Authorization: Bearer``.
        rasa_url: Rasa's base URL (REST channel and HTTP API), e.g. http://127.0.0.1:5005.
        rasa_token: Rasa's ``--auth-token`` for its HTTP API.
        cors_origins: origins allowed to open the widget socket (``["*"]`` for any).
        rasa: a `RasaClient` to use instead of HTTP (tests, other dialogue engines).
        password_hasher: an argon2 hasher with other cost parameters (tests use cheap ones).
        client_manager: a socket.io manager, e.g. ``socketio.AsyncRedisManager`` so a message
            published on one replica reaches sockets held by another.
    """
    store = ConversationStore(engine)
    bus = EventBus()
    tokens = Tokens(jwt_secret, settings.token_ttl_minutes)
    if rasa is None:
        rasa = HttpRasaClient(rasa_url, rasa_token, settings.rasa_timeout_seconds)
    accounts = AgentAccounts(store, Passwords(password_hasher), tokens)
    service = HandoffService(store, rasa, bus, settings, accounts)
    auth = Auth(tokens, store.get_agent, internal_token)
    gateway = Gateway(service, bus, cors_origins, client_manager=client_manager)
    return Handoff(
        service=service,
        auth=auth,
        router=build_router(service, auth),
        sio=gateway.sio,
        bus=bus,
        rasa=rasa,
    )


__all__ = [
    "STATIC_DIR",
    "TRANSITIONS",
    "Agent",
    "AgentAccounts",
    "AgentExists",
    "AlreadyClaimed",
    "Auth",
    "AuthError",
    "Base",
    "Conversation",
    "ConversationDetail",
    "ConversationNotFound",
    "ConversationStore",
    "ConversationSummary",
    "Event",
    "EventBus",
    "Forbidden",
    "Handoff",
    "HandoffError",
    "HandoffService",
    "HandoffSettings",
    "HttpRasaClient",
    "IllegalTransition",
    "InMemoryRasa",
    "InvalidAgent",
    "InvalidMessage",
    "NotAssignee",
    "Principal",
    "RasaClient",
    "RasaUnavailable",
    "Status",
    "StoredMessage",
    "build_handoff",
    "transition",
]
