"""The REST + SSE API for native apps: sessions, idempotent sends, history, the event stream."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from handoff import Handoff, InMemoryRasa
from handoff.event_stream import EventStream, client_message
from handoff.presence import PresenceState

pytestmark = pytest.mark.unit


def bearer(session: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


@pytest.fixture
def session(client: TestClient) -> dict:
    r = client.post("/api/chat/sessions", json={"metadata": {"plan": "pro"}})
    assert r.status_code == 201, r.text
    return r.json()


def test_create_then_resume_a_session_with_its_token(client: TestClient, session):
    assert session["status"] == "bot" and not session["resumed"]
    assert session["queue"]["position"] is None
    again = client.post("/api/chat/sessions", json={"session_token": session["session_token"]})
    assert again.json()["session_id"] == session["session_id"] and again.json()["resumed"]
    by_header = client.post("/api/chat/sessions", headers=bearer(session))
    assert by_header.json()["session_id"] == session["session_id"]
    # REST never resumes by a bare id: a made-up token gets a new conversation.
    fresh = client.post("/api/chat/sessions", json={"session_token": "nope"}).json()
    assert fresh["session_id"] != session["session_id"]


def test_send_is_acknowledged_after_storing_and_idempotent_by_client_id(
    client: TestClient, session, rasa: InMemoryRasa, handoff: Handoff
):
    url = f"/api/chat/sessions/{session['session_id']}/messages"
    first = client.post(url, json={"text": "hello", "client_id": "c-1"}, headers=bearer(session))
    assert first.status_code == 201, first.text
    ack = first.json()
    assert ack["client_id"] == "c-1" and not ack["duplicate"]
    stored = handoff.service.history(session["session_id"])
    assert [m.id for m in stored if m.sender == "user"] == [ack["message_id"]]
    again = client.post(url, json={"text": "hello", "client_id": "c-1"}, headers=bearer(session))
    assert again.status_code == 200 and again.json() == {**ack, "duplicate": True}
    # Validation: a client id is required; the service's limits apply.
    assert client.post(url, json={"text": "x"}, headers=bearer(session)).status_code == 422
    r = client.post(url, json={"text": "y" * 500, "client_id": "c-2"}, headers=bearer(session))
    assert r.status_code == 422 and "limit" in r.json()["detail"]


def test_history_after_a_cursor_and_only_for_the_tokens_conversation(
    client: TestClient, session, handoff: Handoff
):
    sid = session["session_id"]
    asyncio.run(handoff.service.receive_user_message(sid, "one", "c-1"))
    asyncio.run(handoff.service.receive_user_message(sid, "two", "c-2"))
    url = f"/api/chat/sessions/{sid}/messages"
    everything = client.get(url, headers=bearer(session)).json()
    assert [(m["sender"], m["text"]) for m in everything] == [
        ("user", "one"), ("bot", "echo: one"), ("user", "two"), ("bot", "echo: two")]
    assert everything[0]["client_id"] == "c-1" and everything[1]["client_id"] is None
    after = client.get(url, params={"after_id": everything[1]["id"]}, headers=bearer(session))
    assert [m["text"] for m in after.json()] == ["two", "echo: two"]

    other = client.post("/api/chat/sessions").json()
    for method, path in (("GET", url), ("GET", f"/api/chat/sessions/{sid}"),
                         ("GET", f"/api/chat/sessions/{sid}/events"),
                         ("POST", url), ("POST", f"/api/chat/sessions/{sid}/typing")):
        r = client.request(method, path, headers=bearer(other),
                           json={"text": "hi", "client_id": "x"} if path == url else {"typing": True})
        assert r.status_code == 403, (method, path, r.status_code)
    # The stream also takes the token as ?token= (EventSource cannot set headers): same rule.
    r = client.get(f"/api/chat/sessions/{sid}/events", params={"token": other["session_token"]})
    assert r.status_code == 403


def test_session_state_shows_the_live_queue_position(client: TestClient, handoff: Handoff, agent):
    a, b = (client.post("/api/chat/sessions").json() for _ in range(2))
    for s in (a, b):
        asyncio.run(handoff.service.request_handoff(s["session_id"], "request_human"))
    state = client.get(f"/api/chat/sessions/{b['session_id']}", headers=bearer(b)).json()
    assert state["status"] == "queued"
    assert state["queue"]["position"] == 2 and state["queue"]["queue_length"] == 2
    # nobody online: no estimate (it could not come true), and the client is told why
    assert state["queue"]["estimated_wait_seconds"] is None
    assert state["queue"]["agents_available"] is False

    handoff.assigner.presence.heartbeat(agent.id, PresenceState.ONLINE)  # drops the cache
    asyncio.run(handoff.assigner.presence_changed({agent.id: PresenceState.ONLINE}))
    state = client.get(f"/api/chat/sessions/{b['session_id']}", headers=bearer(b)).json()
    assert state["queue"]["estimated_wait_seconds"] == 240  # 2 x the configured 120 s
    assert state["queue"]["agents_available"] is None


def test_user_typing_reaches_the_bus(client: TestClient, session, published):
    r = client.post(f"/api/chat/sessions/{session['session_id']}/typing", json={"typing": True},
                    headers=bearer(session))
    assert r.status_code == 204
    typing = [e for e in published if e.name == "conversation.typing"]
    assert typing[-1].data == {"sender": "user", "typing": True}


def test_client_message_shape_keeps_buttons_source_and_hides_internal_fields():
    shaped = client_message({
        "id": 7, "sender": "bot", "text": "See this", "client_id": None, "agent_name": None,
        "created_at": "2024-01-01T00:00:00+00:00",
        "payload": {"buttons": [{"title": "Yes", "payload": "/affirm"}],
                    "custom": {"source": {"title": "Reset", "url": "https://x.example/reset"}}},
    })
    assert shaped["buttons"] == [{"title": "Yes", "payload": "/affirm"}]
    assert shaped["source"]["url"] == "https://x.example/reset" and "payload" not in shaped


def frame(text: str) -> dict:
    fields: dict = {}
    for line in text.strip().splitlines():
        key, _, value = line.partition(": ")
        fields[key] = value
    if "data" in fields:
        fields["data"] = json.loads(fields["data"])
    return fields


def test_event_stream_replays_after_the_cursor_then_streams_live_events(handoff: Handoff):
    service = handoff.service
    conv = service.open_conversation(None)
    stream = EventStream(service, handoff.bus, handoff.queue, heartbeat_seconds=0.2,
                         poll_seconds=0.05)

    async def scenario() -> list[str]:
        first = await service.receive_user_message(conv.id, "one", "c-1")
        frames = stream.frames(conv.id, first.id)  # the client has "one" already
        got = [await frames.__anext__() for _ in range(3)]  # retry, queue_position, echo: one
        await service.receive_user_message(conv.id, "two", "c-2")
        got += [await frames.__anext__() for _ in range(2)]  # two, echo: two
        await handoff.desk.typing(conv.id, "agent", True)
        got.append(await frames.__anext__())
        await service.request_handoff(conv.id, "request_human")
        got.append(await frames.__anext__())
        got.append(await asyncio.wait_for(frames.__anext__(), 2))  # heartbeat when idle
        await frames.aclose()
        return got

    got = asyncio.run(scenario())
    assert got[0] == "retry: 3000\n\n"
    assert frame(got[1])["event"] == "queue_position" and frame(got[1])["data"]["status"] == "bot"
    messages = [frame(f) for f in got[2:5]]
    assert [m["data"]["text"] for m in messages] == ["echo: one", "two", "echo: two"]
    assert [int(m["id"]) for m in messages] == sorted(int(m["id"]) for m in messages)
    assert frame(got[5])["event"] == "typing" and frame(got[5])["data"]["typing"] is True
    queued = frame(got[6])
    assert queued["event"] == "queue_position" and queued["data"]["position"] == 1
    assert got[7] == ": ping\n\n"
    # The stream let go of its subscriptions when the client went away.
    assert handoff.queue._listeners == [handoff.queue._listeners[0]]  # the gateway's only
