"""Offline tickets: the store's transitions, the chat that collects them, the agents' API."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import anyio
import pytest

from handoff.availability import BusinessHoursSettings
from handoff.errors import InvalidMessage
from handoff.presence import PresenceState
from handoff.settings import HandoffSettings
from handoff.status import Status
from handoff.tickets import IllegalTicketTransition, TicketNotFound, TicketStatus, TicketStore
from handoff.tickets_flow import ASK_MESSAGE_TEXT, CANCELLED_TEXT
from tests.handoff.conftest import INTERNAL_TOKEN

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY = datetime(2026, 12, 5, 15, 0, tzinfo=BERLIN)
MONDAY_MORNING = datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(SATURDAY)


@pytest.fixture
def nobody_online() -> str:
    return "queue"


@pytest.fixture
def assignment() -> str:
    return "manual"


@pytest.fixture
def settings(nobody_online, assignment) -> HandoffSettings:
    return HandoffSettings(
        max_message_chars=200,
        assignment=assignment,
        business_hours=BusinessHoursSettings(
            timezone="Europe/Berlin",
            schedule={"mon-fri": "09:00-17:00"},
            nobody_online=nobody_online,
        ),
    )


@pytest.fixture
def handoff(settings, engine, rasa, clock, handoff_factory):
    return handoff_factory(settings, engine, rasa, clock=clock)


def bot_texts(service, cid: str) -> list[str]:
    return [m.text for m in service.history(cid) if m.sender == "bot"]


async def say(service, cid: str, text: str) -> None:
    await service.receive_user_message(cid, text)


def _internal(client, cid: str) -> dict:
    """What the action server does: POST /api/internal/handoff."""
    r = client.post(
        "/api/internal/handoff",
        json={"conversation_id": cid, "reason": "user_request", "context": {}},
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


# -- the store ---------------------------------------------------------------------------


def test_ticket_transitions_follow_the_table(handoff, service):
    store = TicketStore(handoff.engine)
    cid = service.open_conversation(None).id
    draft = store.draft(cid, "closed")
    assert draft.status is TicketStatus.AWAITING_EMAIL
    assert store.draft(cid, "closed").id == draft.id  # one draft per conversation
    with pytest.raises(IllegalTicketTransition, match="awaiting_email.*open"):
        store.move(draft.id, TicketStatus.OPEN)
    with pytest.raises(TicketNotFound):
        store.get(draft.id)  # drafts are not agents' business
    store.move(draft.id, TicketStatus.AWAITING_MESSAGE, email="a@example.com")
    opened = store.move(draft.id, TicketStatus.OPEN, message="hi")
    assert opened.submitted_at is not None and store.collecting(cid) is None
    assert [t.id for t in store.list()] == [draft.id]
    closed = store.move(draft.id, TicketStatus.CLOSED)
    assert closed.closed_at is not None and store.list() == []
    with pytest.raises(IllegalTicketTransition):
        store.move(draft.id, TicketStatus.CLOSED)
    with pytest.raises(TicketNotFound):
        store.move(10_000, TicketStatus.CLOSED)


# -- the chat ----------------------------------------------------------------------------


def test_closed_hours_offer_a_message_and_store_the_ticket(
    handoff, service, client, agent, auth_headers
):
    cid = service.open_conversation(None).id
    accepted = _internal(client, cid)
    assert accepted == {"status": "queued", "offline": True}
    offer = service.history(cid)[-1]
    assert offer.text.startswith(
        "Our team is offline right now — we're back Monday 09:00 (Europe/Berlin)."
    )
    assert "email address" in offer.text
    assert offer.payload == {"buttons": [{"title": "Cancel", "payload": "/cancel"}]}

    anyio.run(say, service, cid, "my email is bob at example")
    assert "doesn't look like an email address" in bot_texts(service, cid)[-1]
    assert "name@example.com" in bot_texts(service, cid)[-1]
    anyio.run(say, service, cid, "Bob@Example.COM")
    assert bot_texts(service, cid)[-1] == ASK_MESSAGE_TEXT
    anyio.run(say, service, cid, "My parcel never arrived, order 1234.")
    assert (
        bot_texts(service, cid)[-1]
        == "Thanks — we'll email you at Bob@example.com. Your message is with our team."
    )

    # the conversation stays queued for the agents; later messages are only stored
    assert service.store.get_conversation(cid).status is Status.QUEUED
    anyio.run(say, service, cid, "hello?")
    assert bot_texts(service, cid)[-1].startswith("Thanks — we'll email you")

    headers = auth_headers(agent.email)
    listed = client.get("/api/tickets", headers=headers).json()
    assert len(listed) == 1
    ticket = listed[0]
    assert (ticket["email"], ticket["message"], ticket["status"], ticket["reason"]) == (
        "Bob@example.com",
        "My parcel never arrived, order 1234.",
        "open",
        "closed",
    )
    assert ticket["transcript_url"] == f"/api/conversations/{cid}"
    transcript = client.get(ticket["transcript_url"], headers=headers).json()
    assert "My parcel never arrived, order 1234." in [m["text"] for m in transcript["messages"]]

    r = client.post(f"/api/tickets/{ticket['id']}/close", headers=headers)
    assert r.status_code == 200 and r.json()["closed_by"] == agent.id
    assert client.get("/api/tickets", headers=headers).json() == []
    assert [t["id"] for t in client.get("/api/tickets?status=closed", headers=headers).json()] == [
        ticket["id"]
    ]
    again = client.post(f"/api/tickets/{ticket['id']}/close", headers=headers)
    assert again.status_code == 409 and "cannot become 'closed'" in again.json()["detail"]
    assert client.get("/api/tickets").status_code == 401
    assert client.post("/api/tickets/999/close", headers=headers).status_code == 404
    assert client.get("/api/tickets/0", headers=headers).status_code == 422
    assert client.get(f"/api/tickets/{2**63}", headers=headers).status_code == 422
    assert client.get("/api/tickets?status=draft", headers=headers).status_code == 422


def test_an_opened_ticket_is_published_for_webhooks(handoff, service, published):
    from handoff import events
    from handoff.webhooks import LIFECYCLE

    cid = service.open_conversation(None).id

    async def scenario():
        await service.request_handoff(cid, "user_request")
        await say(service, cid, "zoe@example.com")
        assert not [e for e in published if e.name == events.TICKET_OPENED]  # not before stored
        await say(service, cid, "Call me back please")

    anyio.run(scenario)
    opened = [e for e in published if e.name == events.TICKET_OPENED]
    assert len(opened) == 1 and opened[0].conversation_id == cid
    assert opened[0].data["email"] == "zoe@example.com"
    assert opened[0].data["message"] == "Call me back please"
    assert LIFECYCLE[events.TICKET_OPENED] == "offline_ticket"


def test_skip_sends_the_conversation_so_far(handoff, service):
    cid = service.open_conversation(None).id

    async def scenario():
        await say(service, cid, "my router blinks red")  # answered by the (echo) bot
        await service.request_handoff(cid, "user_request")
        await say(service, cid, "me@example.org")
        await say(service, cid, "/skip")

    anyio.run(scenario)
    ticket = TicketStore(handoff.engine).list()[0]
    assert ticket.message == "my router blinks red"
    assert ticket.email == "me@example.org"


def test_cancel_hands_the_chat_back_to_the_assistant(handoff, service, rasa):
    cid = service.open_conversation(None).id

    async def scenario():
        await service.request_handoff(cid, "user_request")
        await say(service, cid, "Cancel")

    anyio.run(scenario)
    assert rasa.resumed == [cid]
    assert service.store.get_conversation(cid).status is Status.BOT
    assert bot_texts(service, cid)[-1] == CANCELLED_TEXT
    assert TicketStore(handoff.engine).collecting(cid) is None
    anyio.run(say, service, cid, "how do I reset my password")
    assert bot_texts(service, cid)[-1] == "echo: how do I reset my password"  # the bot again


def test_a_person_taking_the_chat_cancels_the_draft(handoff, service, desk, agent):
    cid = service.open_conversation(None).id

    async def scenario():
        await service.request_handoff(cid, "user_request")
        await desk.claim(cid, agent)
        await say(service, cid, "is this an email?")

    anyio.run(scenario)
    assert TicketStore(handoff.engine).collecting(cid) is None
    # the message went to the agent, not to the ticket flow
    assert "doesn't look like an email" not in " ".join(bot_texts(service, cid))


def test_open_hours_with_an_agent_online_queue_as_usual(handoff, service, agent, clock, client):
    clock.now = MONDAY_MORNING
    handoff.assigner.presence.heartbeat(agent.id, PresenceState.ONLINE)
    cid = service.open_conversation(None).id
    assert _internal(client, cid) == {"status": "queued", "offline": False}
    assert bot_texts(service, cid) == []
    anyio.run(say, service, cid, "still there?")
    assert bot_texts(service, cid) == []  # stored for the agents, the bot stays silent


def test_open_hours_nobody_online_queues_by_default(handoff, service, clock, client):
    clock.now = MONDAY_MORNING
    cid = service.open_conversation(None).id
    assert _internal(client, cid)["offline"] is False
    assert bot_texts(service, cid) == []


@pytest.mark.parametrize("nobody_online", ["offline"])
def test_open_hours_nobody_online_can_offer_a_message(handoff, service, clock, client):
    clock.now = MONDAY_MORNING
    cid = service.open_conversation(None).id
    assert _internal(client, cid)["offline"] is True
    assert bot_texts(service, cid)[-1].startswith("Nobody from our team is online right now.")
    assert TicketStore(handoff.engine).collecting(cid).reason == "no_agents_online"


def test_an_empty_message_is_refused_and_nothing_is_lost(handoff, service):
    cid = service.open_conversation(None).id
    anyio.run(service.request_handoff, cid, "user_request")
    with pytest.raises(InvalidMessage):
        anyio.run(say, service, cid, "   ")
    assert TicketStore(handoff.engine).collecting(cid).status is TicketStatus.AWAITING_EMAIL


def test_a_database_at_ho_0002_gets_the_tickets_table(tmp_path):
    from sqlalchemy import create_engine, inspect, text

    from handoff.migrations import VERSION_TABLE, current_revision, head, migrate

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}", future=True)
    migrate(engine)
    with engine.begin() as conn:  # as the schema was before ho_0003
        conn.execute(text("DROP TABLE offline_tickets"))
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'ho_0002'"))
    assert current_revision(engine) == "ho_0002"
    migrate(engine)
    assert current_revision(engine) == head()
    assert "offline_tickets" in inspect(engine).get_table_names()
    cid = "conv-1"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO conversations (id, status, context, user_metadata, created_at, "
                "priority, updated_at) VALUES (:id, 'queued', '{}', '{}', "
                "'2026-01-01 00:00:00', 0, '2026-01-01 00:00:00')"
            ),
            {"id": cid},
        )
    store = TicketStore(engine)
    ticket = store.draft(cid, "closed")
    assert store.collecting(cid).id == ticket.id


def test_no_wait_estimate_while_nobody_can_take_the_chat(handoff, service, clock, agent):
    """The queue info (socket pushes, REST and SSE alike) drops the estimate while nobody can
    take the chat: "about 2 min" would be false."""
    cid = service.open_conversation(None).id
    anyio.run(service.request_handoff, cid, "user_request")

    assert handoff.offline.closed_now() is True  # Saturday
    info = handoff.queue.info(cid)
    assert info["position"] == 1
    assert info["estimated_wait_seconds"] is None and info["agents_available"] is False

    # open, but nobody online: queued as usual (nobody_online: queue), still no false estimate
    clock.now = MONDAY_MORNING
    handoff.offline._closed = handoff.offline._nobody = None  # skip the one-second caches
    assert handoff.offline.closed_now() is False
    info = handoff.queue.info(cid)
    assert info["estimated_wait_seconds"] is None and info["agents_available"] is False

    # an agent comes online: the queue's own estimate is true again
    handoff.assigner.presence.heartbeat(agent.id, PresenceState.ONLINE)
    handoff.offline._nobody = None
    info = handoff.queue.info(cid)
    assert info["estimated_wait_seconds"] == 120 and "agents_available" not in info


@pytest.mark.parametrize("assignment", ["auto"])
def test_an_agent_auto_assigned_out_of_hours_gets_the_chat_without_an_offer(
    handoff, service, agent
):
    handoff.assigner.presence.heartbeat(agent.id, PresenceState.ONLINE)
    cid = service.open_conversation(None).id
    anyio.run(service.request_handoff, cid, "user_request")
    assert service.store.get_conversation(cid).status is Status.ASSIGNED
    assert not any("offline" in t for t in bot_texts(service, cid))
    assert TicketStore(handoff.engine).collecting(cid) is None
