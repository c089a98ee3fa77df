"""The widget socket, end to end through a real uvicorn server and a socket.io client."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import socketio

from handoff import HandoffSettings
from tests.live_handoff import serve_handoff

pytestmark = pytest.mark.integration  # a real uvicorn server and socket.io clients: ~3 s

INTERNAL = {"Authorization": "Bearer gateway-internal-token-0123456789"}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def live(tmp_path_factory, sqlite_engine):
    engine = sqlite_engine(tmp_path_factory.mktemp("gateway") / "gateway.db")
    with serve_handoff(engine, INTERNAL["Authorization"].split()[1], PASSWORD) as server:
        yield server
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


# -- rasa-webchat compatibility, session tokens, queue positions (issue 6) --------------------


def test_an_unmodified_rasa_webchat_client_chats(live):
    """Exactly rasa-webchat's events and payloads: no acks, no client ids, no tokens."""
    live.rasa.responder = lambda cid, text, md: [
        {"text": f"echo: {text}"},
        {"text": "Pick one", "buttons": [{"title": "Billing", "payload": "/billing"}]},
    ]

    async def go():
        sio = socketio.AsyncClient(reconnection=False)
        confirmed, bot = asyncio.Queue(), asyncio.Queue()
        sio.on("session_confirm", confirmed.put)
        sio.on("bot_uttered", bot.put)
        await sio.connect(live.url, transports=["websocket"])
        await sio.emit("session_request", {"session_id": None})
        session_id = await asyncio.wait_for(confirmed.get(), 5)
        await sio.emit("user_uttered", {"message": "hi", "session_id": session_id,
                                        "customData": {"language": "en"}})
        replies = [await asyncio.wait_for(bot.get(), 5) for _ in range(2)]
        await sio.disconnect()
        return session_id, replies

    session_id, replies = run(go())
    assert isinstance(session_id, str) and len(session_id) >= 22
    assert replies[0]["text"] == "echo: hi"
    assert replies[1]["quick_replies"] == [
        {"content_type": "text", "title": "Billing", "payload": "/billing"}]
    assert live.rasa.sent[-1][2]["language"] == "en"  # customData reaches the bot as metadata


def test_a_session_token_restores_the_conversation_and_guards_other_ones(live):
    async def go():
        async with Widget(live.url) as a:
            opened = await a.sio.call("session_request", {"session_id": None}, timeout=5)
            a.session_id = opened["session_id"]
            ack = await a.say("secret of A", client_id="a-1")
            await a.next_bot()
        async with Widget(live.url) as again:  # a reload: the token alone brings it back
            restored = await again.sio.call(
                "session_request", {"session_id": None, "session_token": opened["session_token"]},
                timeout=5)
            history = await again.sio.call("history", {"after_id": None}, timeout=5)
        async with Widget(live.url) as b:
            other = await b.sio.call("session_request", {"session_id": None}, timeout=5)
            b.session_id = other["session_id"]
            peek = await b.sio.call("history", {"session_id": opened["session_id"]}, timeout=5)
            post = await b.sio.call("user_uttered", {"message": "into A", "client_id": "b-1",
                                                     "session_id": opened["session_id"]}, timeout=5)
            # A forged token does not open A; with id-only resume off, neither does A's id.
            live.handoff.sessions.allow_session_id_resume = False
            try:
                forged = await b.sio.call("session_request", {
                    "session_id": opened["session_id"], "session_token": "forged"}, timeout=5)
            finally:
                live.handoff.sessions.allow_session_id_resume = True
        return opened, ack, restored, history, other, peek, post, forged

    opened, ack, restored, history, other, peek, post, forged = run(go())
    assert opened["status"] == "bot" and opened["queue"]["position"] is None
    assert ack["ok"] and restored["session_id"] == opened["session_id"] and restored["resumed"]
    assert [m["text"] for m in history] == ["secret of A", "echo: secret of A"]
    assert history[0]["metadata"]["client_id"] == "a-1"
    assert other["session_id"] != opened["session_id"]
    assert isinstance(peek, dict) and not peek["ok"]
    assert not post["ok"] and "session_id does not match" in post["error"]
    assert forged["session_id"] not in (opened["session_id"], other["session_id"])
    texts = [m.text for m in live.handoff.service.history(opened["session_id"])]
    assert texts == ["secret of A", "echo: secret of A"]


def test_queued_users_get_their_position_live(live):
    async def go():
        async with Widget(live.url) as first, Widget(live.url) as second:
            pushed: dict[str, list[dict]] = {"first": [], "second": []}
            first.sio.on("queue_position", pushed["first"].append)
            second.sio.on("queue_position", pushed["second"].append)
            await first.start(None)
            await second.start(None)
            async with httpx.AsyncClient(base_url=live.url) as http:
                # an agent online: the estimate is only given while someone can take the chat
                login = await http.post("/api/auth/token",
                                        data={"username": "ana@example.com", "password": PASSWORD})
                ana = {"Authorization": f"Bearer {login.json()['access_token']}"}
                r = await http.post("/api/agents/me/heartbeat", headers=ana,
                                    json={"state": "online"})
                assert r.status_code == 200, r.text
                for w in (first, second):
                    r = await http.post("/api/internal/handoff", headers=INTERNAL, json={
                        "conversation_id": w.session_id, "reason": "request_human"})
                    assert r.status_code == 200, r.text
                await asyncio.sleep(0.3)
                before = [dict(p) for p in pushed["second"]]
                r = await http.post(f"/api/conversations/{first.session_id}/claim", headers=ana)
                assert r.status_code == 200, r.text
                deadline = time.monotonic() + 5
                while not any(p["status"] == "assigned" for p in pushed["first"]):
                    assert time.monotonic() < deadline, pushed
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.2)
                await http.post(f"/api/conversations/{first.session_id}/resolve", headers=ana)
            return before, pushed

    before, pushed = run(go())
    n = before[-1]["queue_length"]  # earlier tests in this module may have left chats queued
    assert n >= 2 and before[-1]["position"] == n  # the last one in
    assert before[-1]["estimated_wait_seconds"] == n * 120
    assert pushed["first"][0]["position"] == n - 1
    # The first one was claimed: everyone behind it moved up one.
    assert pushed["second"][-1]["position"] == n - 1 and pushed["second"][-1]["status"] == "queued"
    assert {"status": "assigned", "position": None, "queue_length": None,
            "estimated_wait_seconds": None} in pushed["first"]
