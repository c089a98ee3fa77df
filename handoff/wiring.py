"""Assembling the handoff module: `build_handoff` wires its services into a `Handoff`.

`build_handoff` builds every service from settings; the composition root mounts the
`Handoff` it returns. Nothing here runs at import time; the caller creates the engine and
calls `build_handoff`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import APIRouter, Depends
from socketio import AsyncManager, AsyncServer
from sqlalchemy.engine import Engine

from handoff.account_admin import AccountAdmin
from handoff.accounts import AgentAccounts
from handoff.agent_socket import AgentSocket
from handoff.agent_store import AgentStore
from handoff.assignment import Assigner
from handoff.auth import Auth, Passwords, Tokens
from handoff.availability import BusinessHours
from handoff.canned import CannedResponses
from handoff.conversation_search import ConversationSearch
from handoff.csat import Csat
from handoff.delivery import DeliveryCursors
from handoff.deps import Provide
from handoff.desk import AgentDesk
from handoff.event_stream import EventStream
from handoff.events import EventBus
from handoff.gateway import SESSION_KEY, Gateway
from handoff.migrations import migrate
from handoff.presence import InMemoryPresence, Presence
from handoff.queue_positions import QueuePositions
from handoff.rasa_client import HttpRasaClient, RasaClient
from handoff.ratelimit import RateLimiter, limit_socket_ip, limit_socket_messages
from handoff.records import Agent
from handoff.recovery import RoutingRecovery
from handoff.routes import ROUTERS
from handoff.service import HandoffService
from handoff.sessions import SessionTokens, WidgetSessions
from handoff.settings import HandoffSettings
from handoff.store import ConversationStore
from handoff.tickets import TicketStore
from handoff.tickets_flow import OfflineTickets, staffing_from_roster
from handoff.webhooks import WebhookNotifier

STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass
class Handoff:
    """The assembled handoff module, as the composition root mounts it.

    Attributes:
        service: the conversation service (the user's side).
        desk: what agents do to conversations (claim, reply, note, transfer, resolve, ...).
        assigner: presence, capacity, auto-assignment and the assignment timeout.
        auth: FastAPI dependencies ``require_agent``, ``require_admin``, ``require_internal``,
            ``require_internal_or_admin``, ``require_internal_or_agent``.
        router: the ``/api`` router (auth, conversations, agents, canned responses, internal),
            plus the end users' ``/widget.js``, ``/api/widget/config`` and ``/api/chat``.
        sio: the socket.io server: the widget on ``/``, agents on ``/agent``; wrap with
            ``socketio.ASGIApp(sio, app)``.
        static_dir: the chat page (index.html, widget.*), the agent console (console/) and
            vendor/.
        bus: the event bus, for more subscribers (notifications, metrics).
        sessions: end users' session tokens (widget and REST/SSE clients).
        queue: queue positions as waiting users see them.
        search: the console's views and search.
        tickets: offline tickets.
        account_admin: deactivation, reactivation and password resets.
        stream: the end users' event streams (REST/SSE clients).
    """

    service: HandoffService
    desk: AgentDesk
    assigner: Assigner
    canned: CannedResponses
    webhooks: WebhookNotifier
    auth: Auth
    sio: AsyncServer
    bus: EventBus
    rasa: RasaClient
    sessions: WidgetSessions | None = None
    queue: QueuePositions | None = None
    offline: OfflineTickets | None = None  # business hours and offline tickets
    static_dir: Path = STATIC_DIR
    engine: Engine | None = None
    search: ConversationSearch | None = None
    tickets: TicketStore | None = None
    account_admin: AccountAdmin | None = None
    stream: EventStream | None = None
    router: APIRouter = field(default_factory=APIRouter)
    _background: asyncio.Future[list[None]] | None = field(default=None, repr=False)

    @property
    def console_page(self) -> Path:
        """The agent console's page; the app serves it at ``/console``."""
        return self.static_dir / "console" / "index.html"

    def start(self) -> None:
        """Create or migrate the tables and seed the canned responses (before serving).

        Synchronous. The migration is Alembic's, safe with replicas starting together.
        """
        if self.engine is not None:
            migrate(self.engine)
        else:
            self.service.store.create_tables()
        self.canned.seed_if_empty()

    def start_background(self) -> None:
        """Start the sweepers on the running loop; `aclose` stops them.

        They expire presence, time out and auto-make assignments, and route the user
        messages a dead replica never answered.
        """
        if self._background is None:
            recovery = RoutingRecovery.for_service(self.service)
            self._background = asyncio.gather(self.assigner.run(), recovery.run())

    async def aclose(self) -> None:
        """Stop the sweeper, let routing and webhooks finish briefly, close the Rasa client."""
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
            self._background = None
        await self.service.drain()
        await self.webhooks.drain()
        await self.rasa.aclose()

    def create_agent(
        self,
        email: str,
        password: str,
        role: str = "agent",
        display_name: str | None = None,
        capacity: int | None = None,
    ) -> Agent:
        """See `HandoffService.create_agent`."""
        return self.service.create_agent(email, password, role, display_name, capacity)


@dataclass
class _Core:
    """The services every other part is built on (`_core`)."""

    service: HandoffService
    agents: AgentStore
    bus: EventBus
    tokens: Tokens
    rasa: RasaClient
    canned: CannedResponses
    desk: AgentDesk


def build_handoff(
    settings: HandoffSettings,
    engine: Engine,
    *,
    jwt_secret: str,
    internal_token: str,
    rasa_url: str | Sequence[str],
    rasa_token: str,
    cors_origins: list[str],
    rasa: RasaClient | None = None,
    password_hasher: PasswordHasher | None = None,
    client_manager: AsyncManager | None = None,
    webhook_secret: str | None = None,
    presence: Presence | None = None,
    rate_limiter: RateLimiter | None = None,
    clock: Callable[[], datetime] | None = None,
    error_status: Callable[[Exception], int] | None = None,
) -> Handoff:
    """Wire the handoff module on ``engine`` (created by the caller).

    Args:
        settings: the ``handoff:`` section of config.yml.
        engine: a SQLAlchemy engine (``create_engine(url, future=True)``); tables are
            created by `Handoff.start`.
        jwt_secret: signs agent access tokens and (with a derived key) end users' session
            tokens.
        internal_token: what internal callers send as ``Authorization: Bearer``.
        rasa_url: Rasa's base URL (REST channel and HTTP API), e.g. http://127.0.0.1:5005, or
            a list of them (several Rasa processes; a conversation always goes to one).
        rasa_token: Rasa's ``--auth-token`` for its HTTP API.
        cors_origins: origins allowed to open the widget socket (``["*"]`` for any).
        rasa: a `RasaClient` to use instead of HTTP (tests, other dialogue engines).
        password_hasher: an argon2 hasher with other cost parameters (tests use cheap ones).
        client_manager: a socket.io manager, e.g. ``socketio.AsyncRedisManager`` so a message
            published on one replica reaches sockets held by another.
        webhook_secret: signs outgoing webhooks (required when ``webhooks.urls`` is set).
        presence: where agents' presence lives (default: this process's memory).
        rate_limiter: limits widget messages per conversation (``user_uttered`` over the
            limit gets an ``error`` event and a refused ack; default: no limit).
        clock: the current time, tz-aware, for business hours (tests); default: now in UTC.
        error_status: the HTTP status of a handoff error, for the agent socket's failed acks
            (the app's one mapping, ``tier1.http_errors.status_for``); default: 500 for all.

    Raises:
        ValueError: webhooks are configured without a secret.
    """
    core = _core(settings, engine, jwt_secret, rasa_url, rasa_token, rasa, password_hasher)
    service, bus, desk = core.service, core.bus, core.desk
    assigner = Assigner(
        settings,
        core.agents,
        desk,
        presence or InMemoryPresence(settings.presence_timeout_seconds),
        bus,
    )
    tickets = TicketStore(engine)
    offline = OfflineTickets(
        service,
        tickets,
        BusinessHours(settings.business_hours),
        settings.business_hours.nobody_online,
        staffing_from_roster(assigner.roster),
        **({"clock": clock} if clock is not None else {}),
    )
    service.waiting_message_handler = offline.handle_waiting_message
    auth = Auth(core.tokens, core.agents.get_agent, internal_token)
    gateway = _gateway(core, settings, engine, jwt_secret, cors_origins, client_manager)
    sessions, queue = gateway.sessions, gateway.queue
    if rate_limiter is not None:
        _limit_widget_events(gateway, rate_limiter)
    queue.nobody_can_answer = offline.nobody_can_answer_now
    AgentSocket(
        gateway.sio, auth, desk, assigner, bus,
        **({"error_status": error_status} if error_status is not None else {}),
    )
    handoff = Handoff(
        service=service,
        desk=desk,
        assigner=assigner,
        canned=core.canned,
        webhooks=WebhookNotifier(settings.webhooks, webhook_secret, bus),
        auth=auth,
        sio=gateway.sio,
        bus=bus,
        rasa=core.rasa,
        sessions=sessions,
        queue=queue,
        offline=offline,
        engine=engine,
        search=ConversationSearch(engine),
        tickets=tickets,
        account_admin=AccountAdmin(service, assigner),
        stream=EventStream(service, bus, queue, settings.widget.sse_heartbeat_seconds),
    )
    handoff.router = _router(handoff)
    return handoff


def _core(
    settings: HandoffSettings,
    engine: Engine,
    jwt_secret: str,
    rasa_url: str | Sequence[str],
    rasa_token: str,
    rasa: RasaClient | None,
    password_hasher: PasswordHasher | None,
) -> _Core:
    """The conversation service with its stores, event bus, Rasa client and agent desk."""
    store = ConversationStore(engine)
    agents = AgentStore(engine)
    bus = EventBus()
    tokens = Tokens(jwt_secret, settings.token_ttl_minutes)
    if rasa is None:
        rasa = HttpRasaClient(rasa_url, rasa_token, settings.rasa_timeout_seconds)
    accounts = AgentAccounts(agents, Passwords(password_hasher), tokens)
    service = HandoffService(store, rasa, bus, settings, accounts, Csat(settings.csat, engine))
    canned = CannedResponses(engine)
    desk = AgentDesk(service, canned=canned)  # refuses a /shortcut sent literally
    return _Core(service, agents, bus, tokens, rasa, canned, desk)


def _gateway(
    core: _Core,
    settings: HandoffSettings,
    engine: Engine,
    jwt_secret: str,
    cors_origins: list[str],
    client_manager: AsyncManager | None,
) -> Gateway:
    """The widget's socket with end users' sessions and queue positions."""
    sessions = WidgetSessions(
        core.service,
        SessionTokens(jwt_secret, timedelta(days=settings.widget.session_ttl_days)),
        settings.widget.allow_session_id_resume,
    )
    queue = QueuePositions(core.service, core.bus, settings.widget.seconds_per_queue_position)
    return Gateway(
        core.service,
        core.bus,
        cors_origins,
        sessions=sessions,
        queue=queue,
        deliveries=DeliveryCursors(engine),
        client_manager=client_manager,
    )


def _limit_widget_events(gateway: Gateway, rate_limiter: RateLimiter) -> None:
    """Widget messages count against their conversation's limit, every event against its IP's."""
    gateway.sio.on(
        "user_uttered",
        limit_socket_messages(gateway.sio, rate_limiter, gateway.on_user_uttered, SESSION_KEY),
    )
    # Every widget event also counts against its IP's limit (a loop of session_request
    # would otherwise open conversations without end).
    for name in ("session_request", "user_uttered", "history", "user_typing"):
        handler = gateway.sio.handlers["/"][name]
        gateway.sio.on(name, limit_socket_ip(gateway.sio, rate_limiter, handler))


def _router(handoff: Handoff) -> APIRouter:
    """Every handoff route (`handoff.routes`), served by ``handoff``'s services."""
    router = APIRouter(dependencies=[Depends(Provide(handoff))])
    for routes in ROUTERS:
        router.include_router(routes)
    return router


__all__ = ["STATIC_DIR", "Handoff", "build_handoff"]
