"""The walking skeleton, end to end: a widget client talks to the real three processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import socketio
import yaml

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def demo_article(slug_word: str) -> dict:
    articles = yaml.safe_load((ROOT / "knowledge_base/demo/articles.yml").read_text())["articles"]
    return next(a for a in articles if slug_word in a["slug"])


class Widget:
    """A rasa-webchat-style client: session_request, user_uttered, bot_uttered."""

    def __init__(self, url: str):
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.session_id: str | None = None
        self.sio.on("bot_uttered", self._on_bot)

    async def _on_bot(self, data):
        await self.inbox.put(data)

    async def connect(self, session_id: str | None = None) -> str:
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.sio.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        await self.sio.connect(self.url, socketio_path="socket.io", transports=["websocket"])
        await self.sio.emit("session_request", {"session_id": session_id})
        sid = await asyncio.wait_for(confirmed, 10)
        self.session_id = sid["session_id"] if isinstance(sid, dict) else sid
        return self.session_id

    async def say(self, text: str, client_id: str) -> dict:
        ack = await self.sio.call("user_uttered", {"message": text, "session_id": self.session_id,
                                                   "client_id": client_id}, timeout=60)
        assert ack["ok"], ack
        return ack

    async def replies(self, until, timeout: float = 60) -> list[dict]:
        """Collect bot_uttered messages until `until(messages)` is true."""
        got: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while not until(got):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out; received so far: {got}")
            got.append(await asyncio.wait_for(self.inbox.get(), remaining))
        return got


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def test_health_reports_every_component(stack):
    body = httpx.get(f"{stack.url}/health").json()
    assert set(body["components"]) >= {"app", "database", "knowledge_base", "rasa", "action_server"}
    assert body["status"] == "ok", body
    assert body["components"]["knowledge_base"]["articles"] >= 30


def test_openapi_docs_are_served(stack):
    assert httpx.get(f"{stack.url}/docs").status_code == 200
    paths = httpx.get(f"{stack.url}/openapi.json").json()["paths"]
    assert "/api/kb/search" in paths and "/api/conversations/{conversation_id}/claim" in str(paths)


def test_chat_page_is_served(stack):
    r = httpx.get(f"{stack.url}/")
    assert r.status_code == 200 and "<html" in r.text.lower()


def test_greeting_question_handoff_agent_reply_and_handback(stack):
    token = stack.agent_token("e2e-agent@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    password = demo_article("password")
    second = demo_article("refund")

    async def scenario():
        w = Widget(stack.url)
        conv = await w.connect()
        try:
            await w.say("hello", "c1")
            greeting = await w.replies(lambda m: len(m) >= 1)
            assert greeting[0]["text"]

            # 1. a demo-KB question is answered with the right article
            await w.say(password["questions"][0], "c2")
            answer = await w.replies(lambda m: password["answer"][:40] in texts(m))
            assert password["answer"][:40] in texts(answer)

            # 2. an off-topic question is handed off
            await w.say("Which football team won the world cup in 1966?", "c3")
            await w.replies(lambda m: "connect" in texts(m).lower())
            async with httpx.AsyncClient(base_url=stack.url, headers=auth) as api:
                queued = (await api.get("/api/conversations", params={"status": "queued"})).json()
                mine = [c for c in queued if c["id"] == conv]
                assert mine and mine[0]["reason"] == "low_confidence", queued

                # while queued the bot stays silent
                await w.say("hello? anyone there?", "c4")
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(w.inbox.get(), 3)

                # 3. an agent claims and replies; the user receives it live
                assert (await api.post(f"/api/conversations/{conv}/claim")).status_code == 200
                await w.replies(lambda m: any((x.get("metadata") or {}).get("sender") == "system" for x in m))
                r = await api.post(f"/api/conversations/{conv}/messages", json={"text": "Hi, I'm Ana from support."})
                assert r.status_code in (200, 201), r.text
                got = await w.replies(lambda m: "Ana from support" in texts(m))
                assert got[-1]["metadata"]["sender"] == "agent"

                detail = (await api.get(f"/api/conversations/{conv}")).json()
                senders = [m["sender"] for m in detail["messages"]]
                assert senders.count("user") == 4 and "agent" in senders and "bot" in senders

                # 4. hand back: the bot answers the next question again
                assert (await api.post(f"/api/conversations/{conv}/handback")).status_code == 200
                await w.replies(lambda m: "anything else" in texts(m).lower())
            await w.say(second["questions"][0], "c5")
            again = await w.replies(lambda m: second["answer"][:40] in texts(m))
            assert second["answer"][:40] in texts(again)
        finally:
            await w.sio.disconnect()

    asyncio.run(scenario())


def test_resend_with_the_same_client_id_is_stored_once(stack):
    async def scenario():
        w = Widget(stack.url)
        await w.connect()
        try:
            first = await w.say("thanks", "dup-1")
            again = await w.say("thanks", "dup-1")
            assert again["message_id"] == first["message_id"] and again["duplicate"]
            bad = await w.sio.call("user_uttered", {"message": "", "session_id": w.session_id}, timeout=10)
            assert bad["ok"] is False and bad["error"]
            assert w.sio.connected
        finally:
            await w.sio.disconnect()

    asyncio.run(scenario())


def test_agent_endpoints_need_a_token(stack):
    assert httpx.get(f"{stack.url}/api/conversations").status_code == 401
    assert httpx.post(f"{stack.url}/api/kb/search", json={"text": "hi"}).status_code == 401
    assert httpx.get(f"{stack.url}/api/conversations/nope",
                     headers={"Authorization": "Bearer nope"}).status_code == 401
