"""The widget socket, end to end through a real uvicorn server and a socket.io client."""

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

from handoff import HandoffError, HandoffSettings, InMemoryRasa, build_handoff

pytestmark = pytest.mark.integration  # a real uvicorn server and socket.io clients: ~3 s

INTERNAL = {"Authorization": "Bearer gateway-internal-token-0123456789"}
PASSWORD = "correct horse battery"


class LiveServer:
    def __init__(self, handoff, rasa: InMemoryRasa, url: str):
        self.handoff, self.rasa, self.url = handoff, rasa, url


@pytest.fixture(scope="module")
def live(tmp_path_factory, sqlite_engine):
    engine = sqlite_engine(tmp_path_factory.mktemp("gateway") / "gateway.db")
    rasa = InMemoryRasa()
    handoff = build_handoff(
        HandoffSettings(max_message_chars=50),
        engine,
        jwt_secret="gateway-jwt-secret-0123456789abcdef",
        internal_token=INTERNAL["Authorization"].split()[1],
        rasa_url="http://rasa.invalid",
        rasa_token="rasa-token",
        cors_origins=["*"],
        rasa=rasa,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    handoff.start()
    handoff.create_agent("ana@example.com", PASSWORD, display_name="Ana")
    api = FastAPI()
    api.include_router(handoff.router)

    @api.exception_handler(HandoffError)
    async def _errors(_request, exc: HandoffError):
        from fastapi.responses import JSONResponse

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
    yield LiveServer(handoff, rasa, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(10)
    engine.dispose()


@pytest.fixture(autouse=True)
def fresh_rasa(live):
    live.rasa.responder = lambda cid, text, md: [{"text": f"echo: {text}"}]
    live.rasa.available = True
    live.rasa.sent.clear()


class Widget:
    """A rasa-webchat-style client that records what the server pushes."""

    def __init__(self, url: str, transport: str = "websocket"):
        self.url = url
        self.transport = transport
        self.sio = socketio.AsyncClient(reconnection=False)
        self.bot: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.errors: list[dict[str, Any]] = []
        self.confirmed: asyncio.Queue[Any] = asyncio.Queue()
        self.session_id: str | None = None
        self.sio.on("bot_uttered", self.bot.put)
        self.sio.on("session_confirm", self.confirmed.put)
        self.sio.on("error", self.errors.append)

    async def __aenter__(self) -> Widget:  # noqa: PYI034 - Self needs Python 3.11
        await self.sio.connect(self.url, transports=[self.transport])
        return self

    async def __aexit__(self, *exc) -> None:
        await self.sio.disconnect()

    async def start(self, session_id: str | None = None) -> str:
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirmed.get(), 5)
        return self.session_id

    async def say(self, text: Any, client_id: str | None = None, **extra: Any) -> dict[str, Any]:
        data = {"message": text, "session_id": self.session_id, "customData": {}, **extra}
        if client_id is not None:
            data["client_id"] = client_id
        return await self.sio.call("user_uttered", data, timeout=5)

    async def next_bot(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.bot.get(), 5)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_session_request_confirms_a_server_chosen_id_and_rejoins_it(live):
    async def go():
        async with Widget(live.url) as w:
            first = await w.start(None)
        async with Widget(live.url) as w:
            again = await w.start(first)
        async with Widget(live.url) as w:
            chosen = await w.start("i-pick-my-own-id")
        return first, again, chosen

    first, again, chosen = run(go())
    assert isinstance(first, str) and len(first) >= 20
    assert again == first
    assert chosen not in ("i-pick-my-own-id", first)


def test_user_uttered_is_acked_after_store_and_the_bot_answers(live):
    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            ack = await w.say("hello", "c-1")
            stored = live.handoff.service.history(sid)
            reply = await w.next_bot()
            dup = await w.say("hello", "c-1")
            await asyncio.sleep(0.2)
            return sid, ack, stored, reply, dup, w.bot.qsize()

    sid, ack, stored, reply, dup, extra = run(go())
    assert ack == {
        "ok": True,
        "message_id": ack["message_id"],
        "client_id": "c-1",
        "duplicate": False,
    }
    assert stored[0].id == ack["message_id"] and stored[0].text == "hello"
    assert reply["text"] == "echo: hello"
    assert (
        reply["metadata"]["sender"] == "bot" and reply["metadata"]["message_id"] > ack["message_id"]
    )
    assert dup["ok"] and dup["duplicate"] and dup["message_id"] == ack["message_id"]
    assert extra == 0 and live.rasa.sent == [(sid, "hello", {})]


def test_long_polling_clients_work_too(live):
    async def go():
        async with Widget(live.url, transport="polling") as w:
            await w.start()
            ack = await w.say("over polling", "c-1")
            return ack, await w.next_bot(), w.sio.transport()

    ack, reply, transport = run(go())
    assert ack["ok"] and reply["text"] == "echo: over polling" and transport == "polling"


def test_buttons_become_quick_replies(live):
    live.rasa.responder = lambda cid, text, md: [
        {"text": "Which one?", "buttons": [{"title": "Billing", "payload": "/billing"}]}
    ]

    async def go():
        async with Widget(live.url) as w:
            await w.start()
            await w.say("menu", "c-1")
            return await w.next_bot()

    reply = run(go())
    assert reply["quick_replies"] == [
        {"content_type": "text", "title": "Billing", "payload": "/billing"}
    ]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("just a string", "needs an object"),
        ({"session_id": "SID"}, "must be a string"),
        ({"message": "   ", "session_id": "SID"}, "empty"),
        ({"message": "x" * 51, "session_id": "SID"}, "limit is 50"),
        ({"message": "hi", "session_id": "someone-elses-session"}, "does not match"),
    ],
)
def test_malformed_payloads_are_refused_and_the_socket_stays_up(live, payload, error):
    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            data = payload
            if isinstance(data, dict) and data.get("session_id") == "SID":
                data = {**data, "session_id": sid}
            ack = await w.sio.call("user_uttered", data, timeout=5)
            await asyncio.sleep(0.05)
            stored = live.handoff.service.history(sid)
            ok = await w.say("still here?", "c-2")
            return ack, list(w.errors), stored, ok, w.sio.connected

    ack, errors, stored, ok, connected = run(go())
    assert ack["ok"] is False and error in ack["error"]
    assert errors == [{"error": ack["error"]}]
    assert stored == []
    assert ok["ok"] is True and connected


def test_user_uttered_before_session_request_is_refused(live):
    async def go():
        async with Widget(live.url) as w:
            return await w.sio.call("user_uttered", {"message": "hi"}, timeout=5)

    ack = run(go())
    assert ack["ok"] is False and "session_request" in ack["error"]


def test_agent_reply_reaches_the_users_room_only(live):
    async def go():
        async with (
            Widget(live.url) as user,
            Widget(live.url) as stranger,
            httpx.AsyncClient(base_url=live.url) as http,
        ):
            sid = await user.start()
            await stranger.start()
            await user.say("I want a person", "c-1")
            await user.next_bot()
            r = await http.post(
                "/api/internal/handoff",
                json={"conversation_id": sid, "reason": "request_human"},
                headers=INTERNAL,
            )
            assert r.status_code == 200, r.text
            login = await http.post(
                "/api/auth/token", data={"username": "ana@example.com", "password": PASSWORD}
            )
            ana = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert (
                await http.post(f"/api/conversations/{sid}/claim", headers=ana)
            ).status_code == 200
            joined = await user.next_bot()
            r = await http.post(
                f"/api/conversations/{sid}/messages", json={"text": "Hi, Ana here"}, headers=ana
            )
            assert r.status_code == 201, r.text
            reply = await user.next_bot()
            await user.say("great", "c-2")  # queued/assigned: the bot stays silent
            await asyncio.sleep(0.2)
            history = await user.sio.call(
                "history", {"session_id": sid, "after_id": reply["metadata"]["message_id"] - 1}
            )
            return joined, reply, stranger.bot.qsize(), user.bot.qsize(), history

    joined, reply, stranger_got, user_extra, history = run(go())
    assert joined["text"] == "Ana joined the chat"
    assert joined["metadata"]["sender"] == "system" and joined["metadata"]["agent_name"] == "Ana"
    assert reply["text"] == "Hi, Ana here"
    assert reply["metadata"]["sender"] == "agent" and reply["metadata"]["agent_name"] == "Ana"
    assert stranger_got == 0 and user_extra == 0
    assert len(live.rasa.sent) == 1
    assert [(h["metadata"]["sender"], h["text"]) for h in history] == [
        ("agent", "Hi, Ana here"),
        ("user", "great"),
    ]


def test_rasa_down_the_user_hears_an_apology(live):
    live.rasa.available = False

    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            ack = await w.say("where is my order?", "c-1")
            return sid, ack, await w.next_bot()

    sid, ack, apology = run(go())
    assert ack["ok"]
    assert apology["text"] == HandoffSettings().unavailable_message
    # The handoff is requested right after the apology is delivered.
    deadline = time.monotonic() + 5
    while live.handoff.service.get_conversation(sid).status.value != "queued":
        assert time.monotonic() < deadline, "the conversation was not queued"
        time.sleep(0.02)
    assert live.handoff.service.get_conversation(sid).reason == "bot_unavailable"
