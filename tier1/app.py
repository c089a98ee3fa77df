"""The composition root: builds the app server from typed settings.

The app server is FastAPI (HTTP API, OpenAPI docs, static pages) wrapped by python-socketio's
ASGI app (the widget socket). Everything is wired here and nowhere else; importing this
module does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import socketio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

import knowledge_base
from bot import embedding_handover, metrics, search_handover
from handoff import Handoff, Principal, build_handoff
from handoff.analytics import Analytics
from handoff.errors import Forbidden
from handoff.ratelimit import RateLimiter
from knowledge_base import KnowledgeBase
from knowledge_base.errors import KnowledgeBaseError
from tier1 import backends, health, http_errors, openapi
from tier1.admin.api import create_router as create_admin_router
from tier1.admin.learning import LearningLoop
from tier1.blas import limit_blas_threads
from tier1.database import create_database_engine
from tier1.heap import freeze_startup_heap
from tier1.limits import LimitMiddleware
from tier1.settings import Settings, load_settings_from_env

log = logging.getLogger("tier1.app")

ADMIN_DIR = Path(__file__).resolve().parent / "admin" / "web"

VERSION = "0.1.0"


def create_app(settings: Settings, *, freeze_heap: bool = False) -> socketio.ASGIApp:
    """Build the ASGI app: the packages' FastAPI routes, health probes, static UIs, the socket.

    ``freeze_heap``: once started, keep the start-up heap out of the garbage collector
    (`tier1.heap`); for the server process only, not for an app embedded in tests.
    """
    engine = create_database_engine(settings.database_url)
    kb = KnowledgeBase(settings.knowledge_base, engine, settings.kb_index_path)
    kb_sync = backends.kb_invalidation(settings, kb)
    limiter = RateLimiter(settings.limits)
    handoff = _build_handoff(settings, engine, limiter)
    learning = LearningLoop(
        engine,
        kb,
        not_helpful_payload=settings.handoff.widget.feedback_not_helpful_payload,
    )
    analytics = Analytics(
        engine,
        helpful_payload=settings.handoff.widget.feedback_helpful_payload,
        not_helpful_payload=settings.handoff.widget.feedback_not_helpful_payload,
    )
    observe = metrics.observer("app")
    kb.observe_stage = observe
    handoff.service.observe_stage = observe

    async def rasa_metadata(text: str) -> dict[str, Any]:
        if text.startswith("/"):
            return {}  # a button's payload: Rasa reads it without NLU
        return await asyncio.to_thread(_handover, kb, text)

    handoff.service.rasa_metadata = rasa_metadata
    ready = asyncio.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await asyncio.to_thread(handoff.start)
        handoff.start_background()  # presence expiry, assignment timeout, auto-assignment
        await asyncio.to_thread(kb.start)
        await asyncio.to_thread(learning.create_tables)
        seed = settings.knowledge_base.seed_file
        if seed is not None:
            count = await asyncio.to_thread(kb.seed_if_empty, settings.path(seed))
            if count:
                log.info("seeded the knowledge base with %d articles from %s", count, seed)
        sync_task = asyncio.get_running_loop().create_task(kb_sync.run())
        if freeze_heap:
            frozen = freeze_startup_heap()
            log.info("froze %d start-up objects out of the garbage collector", frozen)
        ready.set()
        try:
            yield
        finally:
            sync_task.cancel()
            await asyncio.gather(sync_task, return_exceptions=True)
            await handoff.aclose()
            engine.dispose()

    api = FastAPI(
        title="tier1",
        version=VERSION,
        description=(
            "Customer-service automation: a Rasa agent answers from a FAISS knowledge base and "
            "hands off to human agents. Agent endpoints need a bearer token from "
            "`POST /api/auth/token`; the widget talks over socket.io at `/socket.io/`."
        ),
        lifespan=lifespan,
    )
    _add_middleware(api, settings, limiter)

    # Errors are translated to HTTP in one place (tier1.http_errors), and documented there.
    http_errors.install(api)
    openapi.install(api)

    api.include_router(handoff.router)
    # Reads and search: agents and the internal token; writes, import, export, reindex: admins.
    api.include_router(
        knowledge_base.create_router(kb, _kb_access(handoff), handoff.auth.require_admin)
    )

    api.include_router(create_admin_router(learning, analytics, handoff.auth.require_admin))

    # /health, /health/live, /health/ready (tier1.health documents which probe is for what).
    api.include_router(health.create_router(health.HealthChecks(
        ready, engine, kb, settings.server.rasa_urls, settings.server.action_url, VERSION
    )))

    api.include_router(metrics_router)

    _mount_pages(api, handoff)

    app = socketio.ASGIApp(handoff.sio, other_asgi_app=api, socketio_path="socket.io")
    app.fastapi = api  # tests and tools reach the FastAPI app through the ASGI wrapper
    app.handoff = handoff
    app.knowledge_base = kb
    app.limiter = limiter
    app.learning = learning
    return app


def _handover(kb: KnowledgeBase, text: str) -> dict[str, Any]:
    """What goes to Rasa with a user's text: its vector and the KB search made with it.

    One encoding per turn: Rasa's NLU reuses the vector, and the bot's answer action uses the
    search instead of calling ``POST /api/kb/search`` back (`bot.search_handover`).
    """
    metadata: dict[str, Any] = {}
    query = search_handover.search_text(text)
    if query:
        try:
            metadata.update(search_handover.pack(query, kb.search(query).to_dict()))
        except KnowledgeBaseError:  # the action searches over HTTP and reports it
            log.warning("could not search for a message before its turn", exc_info=True)
    with suppress(KnowledgeBaseError):  # too long: the NLU encodes it itself
        metadata.update(embedding_handover.pack(kb.embedder.name, kb.embed_question(text)))
    return metadata


def _add_middleware(api: FastAPI, settings: Settings, limiter: RateLimiter) -> None:
    """Rate and size limits (the action server's internal token is exempt), then CORS."""
    # Added before CORS so it runs inside it: a 429/413 still carries the CORS headers.
    api.add_middleware(
        LimitMiddleware,
        limiter=limiter,
        exempt_tokens=(settings.secrets.internal_token.get_secret_value(),),
    )
    api.add_middleware(
        CORSMiddleware,
        allow_origins=settings.server.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
    )


def _build_handoff(settings: Settings, engine: Any, limiter: RateLimiter) -> Handoff:
    """The handoff module wired to this deployment's secrets, Rasa servers and backends."""
    return build_handoff(
        settings.handoff,
        engine,
        jwt_secret=settings.secrets.jwt_secret.get_secret_value(),
        internal_token=settings.secrets.internal_token.get_secret_value(),
        rasa_url=settings.server.rasa_urls,
        rasa_token=settings.secrets.rasa_token.get_secret_value(),
        cors_origins=settings.server.cors_origins,
        webhook_secret=(
            settings.secrets.webhook_secret.get_secret_value()
            if settings.secrets.webhook_secret is not None
            else None
        ),
        client_manager=backends.socket_manager(settings),
        presence=backends.presence(settings),
        rate_limiter=limiter,
        error_status=http_errors.status_for,
    )


# Stateless: the exposition reads the default registry or the stack's shared folder.
metrics_router = APIRouter()


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics: per-stage latency histograms of a chat turn",
    description="`tier1_stage_seconds{process, stage}` in Prometheus text format, for the app "
    "and (under `tier1 run`) the Rasa and action servers; stages are listed in bot/metrics.py.",
    tags=["ops"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def prometheus_metrics() -> Response:
    """`bot.metrics.exposition`: the stage latency histograms, Prometheus text format."""
    body = await asyncio.to_thread(metrics.exposition)
    return Response(content=body, media_type=metrics.CONTENT_TYPE)


def _mount_pages(api: FastAPI, handoff: Handoff) -> None:
    """The static front ends: the chat page and widget, the agent console, the admin console."""
    static_dir = handoff.static_dir
    api.mount("/static", StaticFiles(directory=static_dir), name="static")

    @api.get("/", include_in_schema=False)
    async def chat_page(_request: Request) -> FileResponse:
        return FileResponse(static_dir / "index.html")

    @api.get("/console", include_in_schema=False)
    async def agent_console(_request: Request) -> FileResponse:
        return FileResponse(handoff.console_page)

    api.mount("/admin/static", StaticFiles(directory=ADMIN_DIR), name="admin-static")

    @api.get("/admin", include_in_schema=False)
    async def admin_console(_request: Request) -> FileResponse:
        return FileResponse(ADMIN_DIR / "index.html")


def _kb_access(handoff: Handoff):
    """The dependency saying who may use the KB API.

    The internal token and admins for everything; agents for reading (GET) and searching,
    so the console can insert KB answers.
    """
    # A default-value Depends: this module's string annotations cannot name a local.
    async def kb_access(
        request: Request,
        principal: Principal = Depends(handoff.auth.require_internal_or_agent),  # noqa: B008
    ) -> Principal:
        agent = principal.agent
        if agent is None or agent.is_admin:
            return principal
        if request.method == "GET" or (
            request.method == "POST" and request.url.path.endswith("/api/kb/search")
        ):
            return principal
        raise Forbidden("This needs an admin account or the internal token.")

    return kb_access


def app_from_env() -> socketio.ASGIApp:
    """The uvicorn factory for the supervised app process (config path from TIER1_CONFIG)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health probe is noise
    limit_blas_threads()
    return create_app(load_settings_from_env(), freeze_heap=True)
