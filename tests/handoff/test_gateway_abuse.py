"""Malformed and out-of-order events on the widget socket (issue 7, item 5).

Each abuse must end in a clear refusal (an ``{"ok": false, "error"}`` ack plus an ``error``
event) or be ignored by design, and must neither drop the socket nor touch stored messages.
Runs against the real uvicorn server of tests/handoff/test_gateway.py.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
import socketio
import uvicorn

from handoff import HandoffSettings, InMemoryRasa, build_handoff
from handoff.ratelimit import LimitSettings, RateLimiter, RateSettings
from tests.handoff import test_gateway as gateway_tests
from tests.handoff.test_gateway import INTERNAL, PASSWORD, Widget, run

# The same real server and scripted Rasa as the gateway tests (a fixture is found by name).
live = gateway_tests.live
fresh_rasa = gateway_tests.fresh_rasa

pytestmark = pytest.mark.integration


async def _still_works(w: Widget) -> tuple[dict, bool]:
    """After the abuse the same socket still chats."""
    ok = await w.say("still here?", client_id=f"alive-{time.monotonic_ns()}")
    return ok, w.sio.connected


def _texts(live, conversation_id: str) -> list[str]:
    return [m.text for m in live.handoff.service.history(conversation_id)]


def test_events_before_session_request_are_refused_and_nothing_is_stored(live):
    async def go():
        async with Widget(live.url) as w:
            said = await w.sio.call("user_uttered", {"message": "hi"}, timeout=5)
            history = await w.sio.call("history", {"after_id": None}, timeout=5)
            await w.sio.emit("user_typing", {"typing": True})  # no session: ignored by design
            await asyncio.sleep(0.1)
            errors = list(w.errors)
            await w.start()
            return said, history, errors, await _still_works(w)

    said, history, errors, (ok, connected) = run(go())
    assert said["ok"] is False and "session_request" in said["error"]
    assert history["ok"] is False and "session_request" in history["error"]
    assert [e["error"] for e in errors] == [said["error"], history["error"]]
    assert ok["ok"] and connected


@pytest.mark.parametrize(
    "payload",
    [None, "a string", 42, [1, 2], {"session_id": 123}, {"session_token": ["x"]},
     {"customData": "not an object"}, {"session_id": "x" * 100_000}],
    ids=["none", "string", "int", "list", "int-id", "list-token", "str-custom", "huge-id"],
)
def test_a_junk_session_request_still_opens_a_fresh_server_chosen_session(live, payload):
    async def go():
        async with Widget(live.url) as w:
            ack = await w.sio.call("session_request", payload, timeout=5)
            w.session_id = await asyncio.wait_for(w.confirmed.get(), 5)
            return ack, w.session_id, await _still_works(w)

    ack, confirmed, (ok, connected) = run(go())
    assert ack["session_id"] == confirmed and len(confirmed) >= 20 and not ack["resumed"]
    assert ok["ok"] and connected


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"message": ["a", "list"]}, "must be a string"),
        ({"message": {"text": "hi"}}, "must be a string"),
        ({"message": 12}, "must be a string"),
        ({"message": None}, "must be a string"),
        ({"message": "hi", "client_id": 7}, "client_id must be a string"),
        ({"message": "hi", "client_id": {"id": 1}}, "client_id must be a string"),
        ({"message": "hi", "client_id": "c" * 1000}, "client_id must be a string"),
        ({"message": "x" * 10_000}, "limit is 50"),
    ],
    ids=["list", "dict", "int", "null", "int-client-id", "dict-client-id", "long-client-id",
         "10k-chars"],
)
def test_malformed_messages_are_refused_with_the_field_named(live, data, error):
    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            ack = await w.sio.call("user_uttered", {**data, "session_id": sid}, timeout=5)
            await asyncio.sleep(0.05)
            stored = _texts(live, sid)
            return ack, list(w.errors), stored, await _still_works(w)

    ack, errors, stored, (ok, connected) = run(go())
    assert ack["ok"] is False and error in ack["error"], ack
    assert errors == [{"error": ack["error"]}]
    assert stored == []
    assert ok["ok"] and connected


def test_a_frame_over_the_socket_size_cap_closes_only_that_socket(live):
    """engine.io refuses a packet over max_http_buffer_size (1 MB) by closing the socket;
    nothing is stored and everyone else keeps chatting."""

    async def go():
        async with Widget(live.url) as bystander:
            await bystander.start()
            w = Widget(live.url)
            await w.__aenter__()
            sid = await w.start()
            await w.sio.emit("user_uttered", {"message": "x" * 1_100_000, "session_id": sid})
            deadline = time.monotonic() + 5
            while w.sio.connected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            dropped = not w.sio.connected
            await w.sio.disconnect()
            return dropped, _texts(live, sid), await _still_works(bystander)

    dropped, stored, (ok, connected) = run(go())
    assert dropped and stored == []
    assert ok["ok"] and connected


@pytest.mark.parametrize("after_id", ["abc", True, 1.5, [1], 2**70, -(2**70)],
                         ids=["string", "bool", "float", "list", "huge", "huge-negative"])
def test_history_with_a_bad_cursor_is_refused_and_the_socket_stays_up(live, after_id):
    async def go():
        async with Widget(live.url) as w:
            await w.start()
            await w.say("remember me", "c-1")
            await w.next_bot()
            ack = await w.sio.call("history", {"after_id": after_id}, timeout=5)
            full = await w.sio.call("history", {"after_id": None}, timeout=5)
            return ack, full, await _still_works(w)

    ack, full, (ok, connected) = run(go())
    assert isinstance(ack, dict) and ack["ok"] is False and "after_id" in ack["error"], ack
    assert [m["text"] for m in full] == ["remember me", "echo: remember me"]
    assert ok["ok"] and connected


@pytest.mark.parametrize(
    "event", ["send", "note", "watch", "claim", "resolve", "heartbeat", "made_up_event"]
)
def test_unknown_and_agent_events_on_the_widget_socket_get_a_clear_refusal(live, event):
    """Agents' events live on the /agent namespace behind an agent token; on the widget's
    namespace they (and any unknown event) are refused, naming the events that exist."""

    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            await w.say("hello", "c-1")
            await w.next_bot()
            ack = await w.sio.call(
                event, {"conversation_id": sid, "text": "as an agent", "client_id": "x"}, timeout=5
            )
            await asyncio.sleep(0.05)
            return sid, ack, list(w.errors), _texts(live, sid), await _still_works(w)

    _sid, ack, errors, stored, (ok, connected) = run(go())
    assert ack["ok"] is False and f"unknown event {event!r}" in ack["error"]
    assert "user_uttered" in ack["error"]
    assert errors == [{"error": ack["error"]}]
    assert stored == ["hello", "echo: hello"]
    assert ok["ok"] and connected


def test_a_widget_session_token_cannot_open_the_agent_namespace(live):
    async def go():
        async with Widget(live.url) as w:
            opened = await w.sio.call("session_request", {"session_id": None}, timeout=5)
        refused = []
        for auth in ({"token": opened["session_token"]}, None, {"token": 123}, "junk"):
            sio = socketio.AsyncClient(reconnection=False)
            try:
                await sio.connect(live.url, namespaces=["/agent"], transports=["websocket"],
                                  auth=auth, wait_timeout=5)
                refused.append(False)
                await sio.disconnect()
            except socketio.exceptions.ConnectionError:
                refused.append(True)
        return refused

    assert run(go()) == [True, True, True, True]


def test_the_same_client_id_sent_concurrently_is_stored_once(live):
    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            acks = await asyncio.gather(*(w.say("only once", "same-id") for _ in range(5)))
            await w.next_bot()
            await asyncio.sleep(0.2)
            return acks, _texts(live, sid), w.bot.qsize()

    acks, stored, extra_replies = run(go())
    assert all(a["ok"] for a in acks)
    assert len({a["message_id"] for a in acks}) == 1
    assert sorted(a["duplicate"] for a in acks) == [False, True, True, True, True]
    assert stored == ["only once", "echo: only once"] and extra_replies == 0


def test_messages_after_the_conversation_was_resolved_are_kept_and_reopen_it(live):
    async def go():
        async with Widget(live.url) as w, httpx.AsyncClient(base_url=live.url) as http:
            sid = await w.start()
            await w.say("I want a person", "c-1")
            await w.next_bot()
            r = await http.post("/api/internal/handoff", headers=INTERNAL,
                                json={"conversation_id": sid, "reason": "request_human"})
            assert r.status_code == 200, r.text
            login = await http.post("/api/auth/token",
                                    data={"username": "ana@example.com", "password": PASSWORD})
            ana = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for step in ("claim", "resolve"):
                r = await http.post(f"/api/conversations/{sid}/{step}", headers=ana)
                assert r.status_code == 200, r.text
            before = _texts(live, sid)
            ack = await w.say("one more question", "c-2")
            deadline = time.monotonic() + 5
            while live.handoff.service.get_conversation(sid).status.value != "bot":
                assert time.monotonic() < deadline, "the conversation was not reopened"
                await asyncio.sleep(0.05)
            # A late agent reply to the resolved-then-reopened chat is refused, not stored.
            late = await http.post(f"/api/conversations/{sid}/messages", headers=ana,
                                   json={"text": "late reply"})
            return before, ack, _texts(live, sid), late.status_code

    before, ack, after, late_status = run(go())
    assert ack["ok"] and not ack["duplicate"]
    assert after[: len(before)] == before  # nothing lost
    assert "one more question" in after and "late reply" not in after
    assert late_status in (403, 409)


def test_user_typing_with_junk_payloads_is_ignored_and_the_socket_stays_up(live):
    async def go():
        async with Widget(live.url) as w:
            sid = await w.start()
            for junk in (None, "yes", 5, [True], {"typing": {"deep": 1}}):
                await w.sio.emit("user_typing", junk)
            await asyncio.sleep(0.1)
            return list(w.errors), _texts(live, sid), await _still_works(w)

    errors, stored, (ok, connected) = run(go())
    assert errors == [] and stored == []
    assert ok["ok"] and connected


@pytest.fixture(scope="module")
def limited_url(tmp_path_factory, sqlite_engine):
    """A second server whose per-IP limit allows a burst of 6 events."""
    engine = sqlite_engine(tmp_path_factory.mktemp("limited") / "db.sqlite")
    handoff = build_handoff(
        HandoffSettings(), engine, jwt_secret="limited-jwt-secret-0123456789abcdef",
        internal_token="limited-internal-token-0123456789", rasa_url="http://rasa.invalid",
        rasa_token="rasa-token", cors_origins=["*"], rasa=InMemoryRasa(),
        rate_limiter=RateLimiter(LimitSettings(per_ip=RateSettings(per_minute=1, burst=6))),
    )
    handoff.start()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        socketio.ASGIApp(handoff.sio), log_level="warning", lifespan="off", ws="wsproto",
        timeout_graceful_shutdown=0.5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", handoff
    server.should_exit = True
    thread.join(10)
    engine.dispose()


def test_a_session_request_loop_is_cut_at_the_ip_limit(limited_url):
    """Each new session is a conversation row: one IP cannot open them without end."""
    url, handoff = limited_url

    async def go():
        async with Widget(url) as w:
            acks = [await w.sio.call("session_request", {"session_id": None}, timeout=5)
                    for _ in range(10)]
            await asyncio.sleep(0.1)
            return acks, list(w.errors), w.sio.connected

    acks, errors, connected = run(go())
    opened = [a for a in acks if "session_id" in a]
    refused = [a for a in acks if a.get("ok") is False]
    assert len(opened) == 6 and len(refused) == 4
    assert all("Too many requests from this IP address" in a["error"] and a["retry_after"] >= 1
               for a in refused)
    assert errors == [{k: a[k] for k in ("error", "retry_after")} for a in refused]
    assert len(handoff.service.store.list_conversations(None, 100)) == 6 and connected
