"""The agents' socket (/agent) and the widget, live: auth on connect, replay, stored-before-
acknowledged replies, typing both ways, notes kept from the user, queue pushes."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import pytest
import socketio
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from handoff import HandoffError, HandoffSettings, InMemoryRasa, build_handoff
from tier1.http_errors import headers_for, status_for

pytestmark = pytest.mark.integration  # a real uvicorn server and socket.io clients

INTERNAL = {"Authorization": "Bearer socket-internal-token-0123456789"}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def live(tmp_path_factory, sqlite_engine):
    engine = sqlite_engine(tmp_path_factory.mktemp("agent_socket") / "db.sqlite")
    handoff = build_handoff(
        HandoffSettings(),
        engine,
        jwt_secret="socket-jwt-secret-0123456789abcdef",
        internal_token=INTERNAL["Authorization"].split()[1],
        rasa_url="http://rasa.invalid",
        rasa_token="rasa-token",
        cors_origins=["*"],
        rasa=InMemoryRasa(),
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        error_status=status_for,
    )
    handoff.start()
    handoff.create_agent("ana@example.com", PASSWORD, display_name="Ana")
    handoff.create_agent("bo@example.com", PASSWORD, display_name="Bo")
    api = FastAPI()
    api.include_router(handoff.router)
    api.add_exception_handler(
        HandoffError,
        lambda _r, e: JSONResponse(
            {"detail": str(e)}, status_for(e), headers=headers_for(e, status_for(e))
        ),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        socketio.ASGIApp(handoff.sio, api), log_level="warning", lifespan="off", ws="wsproto",
        timeout_graceful_shutdown=0.5,
    ))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    tokens = {}
    for email in ("ana@example.com", "bo@example.com"):
        r = httpx.post(f"{url}/api/auth/token", data={"username": email, "password": PASSWORD})
        tokens[email] = r.json()["access_token"]
    yield handoff, url, tokens
    server.should_exit = True
    thread.join(10)
    engine.dispose()


class Client:
    """A socket.io client that records every event it receives, by name."""

    def __init__(self, namespace: str = "/") -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = {}

        async def record(event, data=None):
            self.q(event).put_nowait(data)

        self.sio.on("*", record, namespace=namespace)

    def q(self, name: str) -> asyncio.Queue[Any]:
        return self.events.setdefault(name, asyncio.Queue())

    async def next(self, name: str, where=lambda d: True, timeout: float = 5) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            data = await asyncio.wait_for(self.q(name).get(), max(left, 0.01))
            if where(data):
                return data


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def widget(url: str) -> tuple[Client, str]:
    w = Client()
    confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
    w.sio.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
    await w.sio.connect(url, transports=["websocket"])
    await w.sio.emit("session_request", {"session_id": None})
    return w, await asyncio.wait_for(confirmed, 5)


async def agent(url: str, token: str) -> Client:
    a = Client("/agent")
    await a.sio.connect(url, namespaces=["/agent"], transports=["websocket"], auth={"token": token})
    return a


def test_connect_needs_a_valid_agent_token(live):
    _, url, _ = live

    async def go():
        for auth in (None, {"token": "forged"}, {"nope": 1}):
            c = socketio.AsyncClient(reconnection=False)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await c.connect(url, namespaces=["/agent"], transports=["websocket"], auth=auth)

    run(go())


def test_live_chat_between_an_agent_and_the_widget(live):
    handoff, url, tokens = live

    async def go():
        ana = await agent(url, tokens["ana@example.com"])
        hello = await ana.next("hello")
        assert hello["agent"]["display_name"] == "Ana" and hello["heartbeat_interval_seconds"] == 10
        assert (await ana.sio.call("heartbeat", {"state": "away"}, namespace="/agent"))["ok"]
        w, cid = await widget(url)
        assert (await w.sio.call("user_uttered", {"message": "hi", "session_id": cid}))["ok"]
        async with httpx.AsyncClient(base_url=url) as http:
            r = await http.post("/api/internal/handoff", headers=INTERNAL,
                                json={"conversation_id": cid, "reason": "request_human"})
            assert r.status_code == 200
            queued = await ana.next("queue", lambda d: d["conversation_id"] == cid)
            assert queued["event"] == "conversation.handoff_requested"
            watched = await ana.sio.call("watch", {"conversation_id": cid, "after_id": None},
                                         namespace="/agent")
            assert [m["sender"] for m in watched["messages"]] == ["user", "bot"]
            last_seen = watched["messages"][-1]["id"]
            r = await http.post(f"/api/conversations/{cid}/claim",
                                headers={"Authorization": f"Bearer {tokens['ana@example.com']}"})
            assert r.status_code == 200

        # Typing both ways.
        await w.sio.emit("user_typing", {"typing": True})
        typing = await ana.next("typing", lambda d: d["conversation_id"] == cid)
        assert typing["sender"] == "user" and typing["typing"] is True
        ack = await ana.sio.call("typing", {"conversation_id": cid, "typing": True},
                                 namespace="/agent")
        assert ack == {"ok": True}
        assert await w.next("agent_typing") == {"typing": True, "agent_name": "Ana"}

        # A reply is stored before the ack, then reaches the widget; a resend is not repeated.
        ack = await ana.sio.call("send", {"conversation_id": cid, "text": "Hi, Ana here",
                                          "client_id": "a-1"}, namespace="/agent")
        assert ack["ok"] and ack["message"]["sender"] == "agent"
        assert any(m.id == ack["message"]["id"] for m in handoff.service.history(cid))
        shown = await w.next("bot_uttered", lambda d: d["metadata"]["sender"] == "agent")
        assert shown["text"] == "Hi, Ana here"
        again = await ana.sio.call("send", {"conversation_id": cid, "text": "Hi, Ana here",
                                            "client_id": "a-1"}, namespace="/agent")
        assert again["message"]["id"] == ack["message"]["id"] and again["message"]["duplicate"]

        # A note reaches agents, never the widget.
        note = await ana.sio.call("note", {"conversation_id": cid, "text": "VIP"},
                                  namespace="/agent")
        assert note["ok"] and note["message"]["sender"] == "note"
        pushed = await ana.next("message", lambda d: d["sender"] == "note")
        assert pushed["text"] == "VIP"

        # Order: several quick sends come back in the order sent, with growing ids.
        acks = [await ana.sio.call("send", {"conversation_id": cid, "text": f"m{i}"},
                                   namespace="/agent") for i in range(5)]
        ids = [a["message"]["id"] for a in acks]
        assert ids == sorted(ids)
        got = [await w.next("bot_uttered", lambda d: d["text"].startswith("m")) for _ in range(5)]
        assert [g["text"] for g in got] == [f"m{i}" for i in range(5)]

        # A reconnecting console replays exactly what it missed.
        await ana.sio.disconnect()
        ana = await agent(url, tokens["ana@example.com"])
        replay = await ana.sio.call("watch", {"conversation_id": cid, "after_id": last_seen},
                                    namespace="/agent")
        assert [m["sender"] for m in replay["messages"]] == (
            ["system", "agent", "note"] + ["agent"] * 5
        )

        # Someone else's reply or typing is refused.
        bo = await agent(url, tokens["bo@example.com"])
        refused = await bo.sio.call("send", {"conversation_id": cid, "text": "me too"},
                                    namespace="/agent")
        assert refused["ok"] is False and refused["status"] == 403
        assert (await bo.sio.call("typing", {"conversation_id": cid, "typing": True},
                                  namespace="/agent"))["ok"] is False
        await asyncio.sleep(0.2)
        assert w.q("bot_uttered").empty() or all(
            d["metadata"]["sender"] != "note" for d in w.q("bot_uttered")._queue
        )
        for c in (ana, bo, w):
            await c.sio.disconnect()

    run(go())


def test_presence_follows_the_socket(live):
    handoff, url, tokens = live
    presence = handoff.assigner.presence

    async def go():
        bo = await agent(url, tokens["bo@example.com"])
        await bo.next("hello")
        bo_id = next(a.id for a in handoff.service.accounts._store.list_agents()
                     if a.display_name == "Bo")
        assert presence.state(bo_id).value == "online"
        await bo.sio.disconnect()
        await asyncio.sleep(0.3)
        return bo_id

    bo_id = run(go())
    assert presence.state(bo_id).value == "offline"


def test_every_agent_hears_of_user_activity_without_the_text(live):
    _, url, tokens = live

    async def go():
        bo = await agent(url, tokens["bo@example.com"])  # watches nothing
        await bo.next("hello")
        w, cid = await widget(url)
        ack = await w.sio.call("user_uttered", {"message": "anyone there?", "session_id": cid})
        assert ack["ok"]
        seen = await bo.next("activity", lambda d: d["conversation_id"] == cid)
        assert seen == {"conversation_id": cid, "message_id": ack["message_id"], "sender": "user"}
        # The bot's echo is no user activity, and the text only goes to watchers.
        await asyncio.sleep(0.3)
        assert bo.q("activity").empty() and bo.q("message").empty()
        for c in (bo, w):
            await c.sio.disconnect()

    run(go())
