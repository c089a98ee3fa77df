"""The handoff module served for real (uvicorn, socket.io, the REST routes) with the
in-memory Rasa twin: for socket and browser tests that need a live server but not Rasa."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import socketio
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from handoff import Handoff, HandoffError, HandoffSettings, InMemoryRasa, build_handoff
from tier1 import http_errors


class LiveServer:
    def __init__(self, handoff, rasa: InMemoryRasa, url: str):
        self.handoff, self.rasa, self.url = handoff, rasa, url


def started_handoff(
    settings: HandoffSettings,
    engine: Engine,
    rasa: InMemoryRasa,
    *,
    internal_token: str,
    jwt_secret: str = "gateway-jwt-secret-0123456789abcdef",
    **extra: Any,
) -> Handoff:
    """The module as the app builds it, with test secrets and cheap hashing, started.
    ``extra`` goes to `build_handoff` (e.g. ``clock=``)."""
    built = build_handoff(
        settings,
        engine,
        jwt_secret=jwt_secret,
        internal_token=internal_token,
        rasa_url="http://rasa.invalid",
        rasa_token="rasa-token",
        cors_origins=["*"],
        rasa=rasa,
        # Cheap argon2 parameters: the default costs ~150 ms per hash.
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        error_status=http_errors.status_for,
        **extra,
    )
    built.start()
    return built


@contextmanager
def serve_asgi(app: Callable) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            # A polling client's abandoned long-poll GET would hold shutdown for the ping interval.
            timeout_graceful_shutdown=0.5,
            lifespan="off",
            # uvicorn's "auto" picks its websockets>=13 implementation; Rasa pins websockets 10.4.
            ws="wsproto",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serve_handoff(
    engine: Engine, internal_token: str, agent_password: str
) -> Iterator[LiveServer]:
    """Serve a fresh handoff module on a free port; agent ana@example.com ("Ana") exists."""
    rasa = InMemoryRasa()
    handoff = started_handoff(
        HandoffSettings(max_message_chars=50), engine, rasa, internal_token=internal_token
    )
    handoff.create_agent("ana@example.com", agent_password, display_name="Ana")
    api = FastAPI()
    api.include_router(handoff.router)

    @api.exception_handler(HandoffError)
    async def _errors(_request, exc: HandoffError):
        status = http_errors.status_for(exc)
        return JSONResponse(
            {"detail": str(exc)}, status, headers=http_errors.headers_for(exc, status)
        )

    with serve_asgi(socketio.ASGIApp(handoff.sio, api)) as url:
        yield LiveServer(handoff, rasa, url)
