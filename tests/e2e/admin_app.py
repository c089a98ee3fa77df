"""The whole app (``tests.full_app``) served over HTTP in a thread, for the admin console's
browser tests: real routes, database and auth, the hashing embedder, no Rasa.

``python -m tests.e2e.admin_app [port]`` serves it with the seeded data for a look by hand.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.orm import Session

from handoff.models import ConversationRow, MessageRow, StatusChangeRow
from tests.full_app import build_app
from tests.handoff.analytics_seed import seed

EMAIL, PASSWORD, NAME = "ana.admin@example.com", "admin-password-1", "Ana Lima"
# Questions the bot handed off (low confidence), some asked several times, hours apart.
MISSES = [
    ("gift-1", "Do you sell gift cards?", 3),
    ("gift-2", "can I buy a gift card", 2),
    ("moon-1", "How many moons does Jupiter have?", 30),
    ("pet-1", "Can I bring my dog to the shop?", 50),
]


@dataclass
class AdminApp:
    url: str
    app: Any
    engine: Any

    def token(self, email: str = EMAIL, password: str = PASSWORD) -> str:
        r = httpx.post(f"{self.url}/api/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_misses(engine, misses=MISSES) -> None:
    """Low-confidence handoffs of ``(conversation id, question, hours ago)``."""
    now = datetime.now(timezone.utc)
    with Session(engine, future=True) as s, s.begin():
        for cid, question, hours in misses:
            t = now - timedelta(hours=hours)
            s.add(ConversationRow(id=cid, status="queued", created_at=t, updated_at=t))
            s.flush()
            s.add(MessageRow(conversation_id=cid, sender="user", text=question, created_at=t))
            s.add(StatusChangeRow(conversation_id=cid, from_status="bot", to_status="queued",
                                  actor="bot", reason="low_confidence",
                                  created_at=t + timedelta(seconds=1)))


@contextmanager
def serve(work: Path, port: int | None = None) -> Iterator[AdminApp]:
    """Build, seed and serve the app on 127.0.0.1; stop it on exit."""
    app = build_app(work)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
        timeout_graceful_shutdown=0.5,
        ws="wsproto",  # uvicorn's "auto" wants websockets>=13; Rasa pins websockets 10.4
    ))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the admin app did not start")
        time.sleep(0.2)
    engine = app.handoff.engine
    app.handoff.create_agent(EMAIL, PASSWORD, role="admin", display_name=NAME)
    seed(engine, article_ids=(1, 2))
    seed_misses(engine)
    try:
        yield AdminApp(url, app, engine)
    finally:
        server.should_exit = True
        thread.join(30)


if __name__ == "__main__":  # pragma: no cover - a manual look
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 8099) as a:
        print(f"{a.url}/admin  {EMAIL} / {PASSWORD}", flush=True)
        while True:
            time.sleep(3600)
