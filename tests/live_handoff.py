"""The handoff module served for real (uvicorn, socket.io, the REST routes) with the
in-memory Rasa twin: for socket tests that need a live server but not Rasa itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import socketio
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from handoff import HandoffError, HandoffSettings, InMemoryRasa, build_handoff


class LiveServer:
    def __init__(self, handoff, rasa: InMemoryRasa, url: str):
        self.handoff, self.rasa, self.url = handoff, rasa, url


@contextmanager
def serve_handoff(
    engine: Engine, internal_token: str, agent_password: str
) -> Iterator[LiveServer]:
    """Serve a fresh handoff module on a free port; agent ana@example.com ("Ana") exists."""
    rasa = InMemoryRasa()
    handoff = build_handoff(
        HandoffSettings(max_message_chars=50),
        engine,
        jwt_secret="gateway-jwt-secret-0123456789abcdef",
        internal_token=internal_token,
        rasa_url="http://rasa.invalid",
        rasa_token="rasa-token",
        cors_origins=["*"],
        rasa=rasa,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    handoff.start()
    handoff.create_agent("ana@example.com", agent_password, display_name="Ana")
    api = FastAPI()
    api.include_router(handoff.router)

    @api.exception_handler(HandoffError)
    async def _errors(_request, exc: HandoffError):
        return JSONResponse({"detail": str(exc)}, exc.http_status, headers=exc.headers)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            socketio.ASGIApp(handoff.sio, api),
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
        yield LiveServer(handoff, rasa, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)


