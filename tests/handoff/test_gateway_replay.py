"""Clients that never ask for ``history`` (rasa-webchat, Rasa-docs socket.io clients) still get
every message: what was sent while no socket was attached is replayed on ``session_request``,
and only that (issue 14)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import socketio

from handoff.gateway import DisconnectReasonServer
from tests.handoff.test_gateway import INTERNAL, PASSWORD, Widget, fresh_rasa, live, run

__all__ = ["fresh_rasa", "live"]  # fixtures, used by name


async def drain(w: Widget, settle: float = 0.4) -> list[dict[str, Any]]:
    """Everything pushed to ``w`` until nothing more arrives for ``settle`` seconds."""
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(w.bot.get(), settle))
        except asyncio.TimeoutError:
            return got


async def agent_replies_while_away(live, http: httpx.AsyncClient, sid: str, text: str) -> None:
    r = await http.post("/api/internal/handoff", headers=INTERNAL,
                        json={"conversation_id": sid, "reason": "request_human"})
    assert r.status_code == 200, r.text
    login = await http.post("/api/auth/token",
                            data={"username": "ana@example.com", "password": PASSWORD})
    ana = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await http.post(f"/api/conversations/{sid}/claim", headers=ana)).status_code == 200
    r = await http.post(f"/api/conversations/{sid}/messages", json={"text": text}, headers=ana)
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/conversations/{sid}/resolve", headers=ana)
    assert r.status_code == 200, r.text


def test_what_was_sent_while_away_is_replayed_once_and_nothing_else(live):
    async def go():
        async with Widget(live.url) as first:
            sid = await first.start()
            await first.say("hi", "c-1")
            live_reply = await first.next_bot()
            await asyncio.sleep(1.2)  # a message in the last second before a close is resent
        async with httpx.AsyncClient(base_url=live.url) as http:
            await agent_replies_while_away(live, http, sid, "Sorry for the wait, Ana here")
        async with Widget(live.url) as back:  # rasa-webchat: the stored session id, no token
            await back.start(sid)
            replayed = await drain(back)
        async with Widget(live.url) as again:  # nothing new since: nothing replayed
            await again.start(sid)
            replayed_again = await drain(again)
        return live_reply, replayed, replayed_again

    live_reply, replayed, replayed_again = run(go())
    texts = [m.get("text") for m in replayed]
    assert live_reply["text"] == "echo: hi"
    assert "echo: hi" not in texts  # it was delivered live
    assert "Ana joined the chat" in texts
    assert "Sorry for the wait, Ana here" in texts
    assert any(m["metadata"].get("csat") for m in replayed)  # the rating prompt after resolve
    ids = [m["metadata"]["message_id"] for m in replayed]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert all(m["metadata"]["sender"] in ("bot", "agent", "system") for m in replayed)
    assert replayed_again == []


def test_after_id_replays_everything_after_it_and_replay_false_nothing(live):
    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            await w.say("one", "c-1")
            first = await w.next_bot()
            await w.say("two", "c-2")
            await w.next_bot()
            await asyncio.sleep(1.2)
        async with Widget(live.url) as w:
            await w.sio.emit("session_request", {"session_id": sid,
                                                 "after_id": first["metadata"]["message_id"] - 1})
            await asyncio.wait_for(w.confirmed.get(), 5)
            after = await drain(w)
        async with httpx.AsyncClient(base_url=live.url) as http:
            await agent_replies_while_away(live, http, sid, "an agent reply")
        async with Widget(live.url) as w:  # tier1's widget: it asks `history` itself
            ack = await w.sio.call("session_request", {"session_id": sid, "replay": False},
                                   timeout=5)
            skipped = await drain(w)
        return after, ack, skipped

    after, ack, skipped = run(go())
    assert [m["text"] for m in after] == ["echo: one", "echo: two"]  # user messages are not
    assert ack["resumed"] and skipped == []


def test_a_reconnect_before_the_old_socket_is_noticed_gets_the_recent_messages(live):
    """The old connection may be dead without the server knowing yet (a phone switching
    networks): what it was sent recently is sent again rather than risk losing it."""

    async def go():
        async with Widget(live.url) as old:
            sid = await old.start()
            await old.say("hello", "c-1")
            await old.next_bot()
            async with Widget(live.url) as new:
                await new.start(sid)
                return await drain(new)

    replayed = run(go())
    assert [m["text"] for m in replayed] == ["echo: hello"]


def test_the_server_learns_why_a_socket_closed(live):
    """python-socketio 5.9 drops Engine.IO's reason; the gateway's server keeps it for its
    disconnect handler (a clean close needs little grace, a ping timeout much more)."""
    server = live.handoff.sio
    assert isinstance(server, DisconnectReasonServer)
    seen: list[str | None] = []
    handler = server.handlers["/"]["disconnect"]

    async def spy(sid):
        seen.append(server.closing_reason)
        await handler(sid)

    server.handlers["/"]["disconnect"] = spy
    try:
        async def go():
            sio = socketio.AsyncClient(reconnection=False)
            await sio.connect(live.url, transports=["websocket"])
            await sio.disconnect()
            for _ in range(50):
                if seen:
                    return
                await asyncio.sleep(0.05)

        run(go())
    finally:
        server.handlers["/"]["disconnect"] = handler
    # The client's goodbye and the socket's close race; either is a clean close.
    assert len(seen) == 1 and seen[0] in ("client disconnect", "transport close")


def test_custom_data_sent_with_messages_is_kept_on_the_conversation(live):
    """rasa-webchat sends customData only with user_uttered: agents still see it."""

    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            await w.say("hi", "c-1", customData={"language": "en", "plan": "pro"})
            await w.say("Billing", "c-2", customData={"plan": "team", "display_text": "Billing"})
            return sid

    sid = run(go())
    meta = live.handoff.service.get_conversation(sid).user_metadata
    assert meta == {"language": "en", "plan": "team"}  # a button's title stays on its message
