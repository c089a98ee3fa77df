"""A second real client: a Python program written the way Rasa's socket.io channel docs show.

python-socketio's synchronous ``socketio.Client`` with its defaults (long-polling upgraded to
a websocket through websocket-client, as ``pip install "python-socketio[client]"`` gives it;
automatic reconnection), speaking only Rasa's events: ``session_request
{session_id}`` on every connect, ``session_confirm``, ``user_uttered {message, session_id}``,
``bot_uttered``. No acknowledgements, tokens, client ids or ``history``. What such a client
needs of tier1 (issue 14): the conversation it is confirmed into, replies it can render, and
nothing lost across its reconnects - not even an agent's reply sent while it was away.
"""

from __future__ import annotations

import queue
import time
import uuid
from typing import Any

import httpx
import pytest
import socketio

from tests.live_handoff import serve_handoff
from tier1.database import create_database_engine

INTERNAL_TOKEN = "contract-internal-token-0123456789"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    engine = create_database_engine(f"sqlite:///{tmp_path_factory.mktemp('client') / 'c.db'}")
    with serve_handoff(engine, INTERNAL_TOKEN, PASSWORD) as live:
        live.rasa.responder = lambda cid, text, md: [
            {"text": f"echo: {text}"},
            {"text": "Anything else?", "buttons": [{"title": "No", "payload": "/deny"}]},
        ]
        yield live
    engine.dispose()


class RasaDocsClient:
    """The client from Rasa's docs: it picks a session id, then follows ``session_confirm``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session_id = uuid.uuid4().hex
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.confirmed: queue.Queue[str] = queue.Queue()
        self.sio = socketio.Client()  # defaults: polling, then websocket; reconnection on
        self.sio.on("connect", self.on_connect)
        self.sio.on("session_confirm", self.on_session_confirm)
        self.sio.on("bot_uttered", self.received.put)

    def on_connect(self) -> None:
        self.sio.emit("session_request", {"session_id": self.session_id})

    def on_session_confirm(self, data: Any) -> None:
        self.session_id = data["session_id"] if isinstance(data, dict) else data
        self.confirmed.put(self.session_id)

    def connect(self) -> str:
        self.sio.connect(self.url, socketio_path="socket.io")
        return self.confirmed.get(timeout=10)

    def say(self, text: str) -> None:
        self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})

    def replies(self, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        return [self.received.get(timeout=timeout) for _ in range(n)]

    def quiet(self, settle: float = 0.5) -> list[dict[str, Any]]:
        got = []
        while True:
            try:
                got.append(self.received.get(timeout=settle))
            except queue.Empty:
                return got


def renderable_by_webchat(message: dict[str, Any]) -> bool:
    shown = {k for k in message if k != "metadata"}
    return shown in ({"text"}, {"text", "quick_replies"}) or "attachment" in shown


def agent_says(server, session_id: str, text: str) -> None:
    with httpx.Client(base_url=server.url) as http:
        r = http.post("/api/internal/handoff", json={"conversation_id": session_id,
                                                     "reason": "request_human"},
                      headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"})
        assert r.status_code == 200, r.text
        login = http.post("/api/auth/token", data={"username": "ana@example.com",
                                                   "password": PASSWORD})
        ana = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert http.post(f"/api/conversations/{session_id}/claim", headers=ana).status_code == 200
        r = http.post(f"/api/conversations/{session_id}/messages", json={"text": text},
                      headers=ana)
        assert r.status_code == 201, r.text


def test_it_chats_in_the_conversation_it_is_confirmed_into(server):
    client = RasaDocsClient(server.url)
    chosen = client.session_id
    try:
        confirmed = client.connect()
        client.say("hello")
        replies = client.replies(2)
    finally:
        client.sio.disconnect()
    assert confirmed != chosen  # the server chooses ids; the client follows session_confirm
    assert [r["text"] for r in replies] == ["echo: hello", "Anything else?"]
    assert replies[1]["quick_replies"][0]["payload"] == "/deny"
    assert all(renderable_by_webchat(r) for r in replies)
    texts = [m.text for m in server.handoff.service.history(confirmed)]
    assert texts == ["hello", "echo: hello", "Anything else?"]


def test_an_agents_reply_while_it_was_away_arrives_when_it_comes_back(server):
    client = RasaDocsClient(server.url)
    sid = client.connect()
    client.say("I need a person")
    client.replies(2)
    time.sleep(1.2)  # what arrived in the last second before a close may be sent again
    client.sio.disconnect()
    # Away, as the server sees it. (Back before the server noticed, it would be sent the last
    # minute again: see docs/widget.md.)
    deadline = time.monotonic() + 10
    while server.handoff.sio.manager.rooms.get("/", {}).get(sid):
        assert time.monotonic() < deadline, "the server never saw the client leave"
        time.sleep(0.1)
    agent_says(server, sid, "Ana here, sorry for the wait")
    again = RasaDocsClient(server.url)
    again.session_id = sid  # the id it kept
    try:
        assert again.connect() == sid
        got = again.quiet()
    finally:
        again.sio.disconnect()
    texts = [m["text"] for m in got]
    assert "Ana here, sorry for the wait" in texts
    assert "echo: I need a person" not in texts  # seen live: not sent twice
    assert all(renderable_by_webchat(m) for m in got)


def test_a_dropped_connection_reconnects_by_itself_and_misses_nothing(server):
    client = RasaDocsClient(server.url)
    try:
        sid = client.connect()
        client.say("hi")
        client.replies(2)
        client.sio.eio.ws.close()  # the connection drops under it; the library reconnects
        agent_says(server, sid, "Are you still there?")
        deadline = time.monotonic() + 20
        texts: list[str] = []
        while "Are you still there?" not in texts and time.monotonic() < deadline:
            texts += [m["text"] for m in client.quiet(1.0)]
        assert client.confirmed.get(timeout=10) == sid  # it rejoined the same conversation
    finally:
        client.sio.disconnect()
    assert "Are you still there?" in texts
