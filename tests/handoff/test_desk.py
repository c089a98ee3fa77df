"""What agents do to conversations: transfer, notes, CSAT, idempotent replies, queue order,
and the assignment timeout. In-memory Rasa, SQLite."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from handoff import events
from handoff.csat import Csat, payload
from handoff.errors import IllegalTransition, InvalidAgent, NotAssignee
from handoff.models import ConversationRow, utcnow
from handoff.status import Status

pytestmark = pytest.mark.unit


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


@pytest.fixture
def queued(service):
    conv = service.open_conversation(None, {"plan": "pro"})
    run(service.receive_user_message(conv.id, "help me", "u1"))
    run(service.request_handoff(conv.id, "low_confidence", {"kb_hits": [{"title": "A"}]}))
    return conv


@pytest.fixture
def assigned(desk, queued, agent):
    run(desk.claim(queued.id, agent))
    return queued


def audit(service, cid):
    return [(a["from_status"], a["to_status"], a["actor"]) for a in service.store.status_changes(cid)]


def test_transfer_to_another_agent_then_back_to_the_queue(
    desk, service, assigned, agent, other_agent, published
):
    with pytest.raises(NotAssignee):
        run(desk.transfer(assigned.id, other_agent, agent.id))
    with pytest.raises(InvalidAgent):
        run(desk.transfer(assigned.id, agent, 999))
    with pytest.raises(InvalidAgent):
        run(desk.transfer(assigned.id, agent, agent.id))
    moved = run(desk.transfer(assigned.id, agent, other_agent.id))
    assert (moved.status, moved.assignee_id) == (Status.ASSIGNED, other_agent.id)
    # The new holder may write; the old one no longer can.
    run(desk.agent_message(assigned.id, other_agent, "Bo here"))
    with pytest.raises(NotAssignee):
        run(desk.agent_message(assigned.id, agent, "still me?"))
    back = run(desk.transfer(assigned.id, other_agent, None))
    assert (back.status, back.assignee_id) == (Status.QUEUED, None)
    assert audit(service, assigned.id) == [
        ("bot", "queued", "bot"),
        ("queued", "assigned", f"agent:{agent.id}"),
        ("assigned", "assigned", f"agent:{agent.id}"),
        ("assigned", "queued", f"agent:{other_agent.id}"),
    ]
    names = [e.name for e in published if e.name != events.MESSAGE_CREATED]
    assert names[-2:] == [events.TRANSFERRED, events.REQUEUED]
    with pytest.raises(IllegalTransition):
        run(desk.transfer(assigned.id, other_agent, agent.id))  # queued: claim first


def test_notes_are_stored_for_agents_and_never_reach_the_user(
    desk, service, queued, other_agent, handoff
):
    pushed = []

    async def capture(event, data, room=None, **kw):
        pushed.append((event, data))

    handoff.sio.emit = capture  # what the widget room would receive
    note = run(desk.add_note(queued.id, other_agent, "VIP customer, be nice", "n-1"))
    again = run(desk.add_note(queued.id, other_agent, "VIP customer, be nice", "n-1"))
    assert note.sender == "note" and again.duplicate and again.id == note.id
    # The widget's replay has no note; the agents' view does.
    assert [m.sender for m in service.history(queued.id)] == ["user", "bot"]
    agent_view = service.history(queued.id, include_notes=True)
    assert [m.sender for m in agent_view] == ["user", "bot", "note"]
    assert all(data.get("metadata", {}).get("sender") != "note" for ev, data in pushed
               if ev == "bot_uttered")
    assert not [p for p in pushed if p[0] == "bot_uttered"]
    assert [m["sender"] for m in [d for e, d in pushed if e == "message"]] == ["note"]


def test_agent_replies_are_idempotent_by_client_id(desk, service, assigned, agent, published):
    first = run(desk.agent_message(assigned.id, agent, "Hello!", "a-1"))
    again = run(desk.agent_message(assigned.id, agent, "Hello!", "a-1"))
    assert again.duplicate and again.id == first.id
    assert [m.text for m in service.history(assigned.id) if m.sender == "agent"] == ["Hello!"]
    created = [e for e in published if e.name == events.MESSAGE_CREATED and e.data["text"] == "Hello!"]
    assert len(created) == 1


def test_resolve_asks_for_a_rating_and_stores_one_per_resolution(
    desk, service, rasa, assigned, agent, published
):
    run(desk.resolve(assigned.id, agent))
    prompt = service.history(assigned.id)[-1]
    assert prompt.sender == "bot" and prompt.payload["custom"] == {"csat": True}
    assert [b["title"] for b in prompt.payload["buttons"]] == ["1", "2", "3", "4", "5"]
    sent_before = len(rasa.sent)

    run(service.receive_user_message(assigned.id, payload(4), "r-1"))
    run(service.receive_user_message(assigned.id, payload(1), "r-2"))  # a second click: ignored
    ratings = service.csat.ratings(assigned.id)
    assert [(r["rating"], r["agent_id"]) for r in ratings] == [(4, agent.id)]
    assert service.get_conversation(assigned.id).status is Status.RESOLVED  # not reopened
    assert len(rasa.sent) == sent_before  # the bot never saw the rating
    assert service.history(assigned.id)[-2].text == "Thank you for your feedback!"
    assert [e.data["rating"] for e in published if e.name == events.CSAT_RECEIVED] == [4]


def test_thumbs_scale_and_payload_parsing(engine):
    from handoff.settings import CsatSettings

    csat = Csat(CsatSettings(scale="thumbs"), engine)
    assert [(b["title"], b["payload"]) for b in csat.prompt().payload["buttons"]] == [
        ("👍", '/csat{"rating":5}'),
        ("👎", '/csat{"rating":1}'),
    ]
    assert Csat.rating_of('/csat{"rating":3}') == 3
    for text in ('/csat{"rating":9}', '/csat{"rating":true}', "/csat{oops}", "5", "/csat"):
        assert Csat.rating_of(text) is None, text


def test_queue_orders_by_priority_then_time_and_reports_wait(service, client, agent, auth_headers):
    ids = []
    for prio in (0, 5, 0):
        conv = service.open_conversation(None, {})
        run(service.request_handoff(conv.id, "r", priority=prio))
        ids.append(conv.id)
    listed = client.get(
        "/api/conversations", params={"status": "queued"}, headers=auth_headers("ana@example.com")
    ).json()
    assert [c["id"] for c in listed] == [ids[1], ids[0], ids[2]]
    assert [c["priority"] for c in listed] == [5, 0, 0]
    assert all(c["wait_seconds"] is not None and c["wait_seconds"] >= 0 for c in listed)


def test_assignment_timeout_requeues_only_unanswered_chats(
    desk, service, handoff, engine, agent, other_agent
):
    silent, answered = [], []
    for bucket, who in ((silent, agent), (answered, other_agent)):
        conv = service.open_conversation(None, {})
        run(service.request_handoff(conv.id, "low_confidence"))
        run(desk.claim(conv.id, who))
        bucket.append(conv.id)
    run(desk.agent_message(answered[0], other_agent, "On it"))
    with Session(engine, future=True) as s, s.begin():
        s.execute(update(ConversationRow).values(assigned_at=utcnow() - timedelta(hours=1)))

    assert run(handoff.assigner.requeue_timed_out()) == 1
    back = service.get_conversation(silent[0])
    assert (back.status, back.reason) == (Status.QUEUED, "low_confidence")
    assert service.history(silent[0])[-1].sender == "system"
    assert service.get_conversation(answered[0]).status is Status.ASSIGNED
    assert audit(service, silent[0])[-1] == ("assigned", "queued", "system")
    assert run(handoff.assigner.requeue_timed_out()) == 0


def test_a_canned_shortcut_is_never_sent_literally(service, queued, agent, engine, published):
    from handoff.canned import CannedResponses
    from handoff.desk import AgentDesk

    canned = CannedResponses(engine)
    canned.seed_if_empty()
    canned.create("greet", "Hello there! (not /greeting)")
    desk = AgentDesk(service, canned=canned)
    run(desk.claim(queued.id, agent))
    greeting = next(c.text for c in canned.list() if c.shortcut == "greeting")
    sent = run(desk.agent_message(queued.id, agent, "/Greeting"))
    assert sent.text == greeting
    sent = run(desk.agent_message(queued.id, agent, "Hi! /greet. See /settings or a/greet"))
    assert sent.text == "Hi! Hello there! (not /greeting). See /settings or a/greet"
    delivered = [e.data["text"] for e in published if e.name == events.MESSAGE_CREATED]
    assert not any(t.startswith("/") for t in delivered)
    # Without the canned responses (the default), the text is stored as typed.
    plain = run(AgentDesk(service).agent_message(queued.id, agent, "/greeting"))
    assert plain.text == "/greeting"
