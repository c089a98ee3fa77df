"""The conversation service with the in-memory Rasa twin."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from handoff import HandoffSettings, events
from handoff.errors import (
    AgentExists,
    AlreadyClaimed,
    AuthError,
    ConversationNotFound,
    IllegalTransition,
    InvalidAgent,
    InvalidMessage,
    NotAssignee,
    RasaUnavailable,
)
from handoff.rasa_client import HttpRasaClient, InMemoryRasa, RasaUnreachable
from handoff.rasa_wait import RasaWait
from handoff.status import Status

pytestmark = pytest.mark.unit


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def texts(service, cid) -> list[tuple[str, str]]:
    return [(m.sender, m.text) for m in service.history(cid)]


@pytest.fixture
def conv(service):
    return service.open_conversation(None, {"plan": "pro"})


@pytest.fixture
def queued(service, conv):
    run(service.request_handoff(conv.id, "low_confidence", {"hits": ["a1"]}))
    return conv


@pytest.fixture
def assigned(desk, service, queued, agent):
    run(desk.claim(queued.id, agent))
    return queued


def test_open_conversation_never_trusts_a_client_chosen_id(service, conv):
    assert (
        len(conv.id) >= 20 and conv.status is Status.BOT and conv.user_metadata == {"plan": "pro"}
    )
    assert service.open_conversation(conv.id, {}).id == conv.id
    fresh = service.open_conversation("chosen-by-the-client", {})
    assert fresh.id != "chosen-by-the-client" and fresh.id != conv.id


def test_user_message_is_stored_before_rasa_sees_it(service, rasa, conv):
    stored_when_sent: list[list[tuple[str, str]]] = []

    def responder(cid, text, metadata):
        stored_when_sent.append(texts(service, cid))
        return [{"text": "Hi!"}]

    rasa.responder = responder
    msg = run(service.receive_user_message(conv.id, "  hello  ", "k1", {"page": "/help"}))
    assert msg.text == "hello" and msg.sender == "user" and not msg.duplicate
    assert stored_when_sent == [[("user", "hello")]]
    # Rasa gets the conversation's metadata plus the message's own.
    assert rasa.sent == [(conv.id, "hello", {"plan": "pro", "page": "/help"})]


def test_rasa_gets_the_composition_roots_metadata_and_a_failing_hook_costs_nothing(
    service, rasa, conv
):
    asked: list[str] = []

    async def vector_for(text):
        asked.append(text)
        return {"tier1_sentence_vector": {"model": "m", "vector": "AAAA"}}

    service.rasa_metadata = vector_for
    run(service.receive_user_message(conv.id, "where is my parcel"))
    assert asked == ["where is my parcel"]
    assert rasa.sent[-1][2]["tier1_sentence_vector"] == {"model": "m", "vector": "AAAA"}

    async def broken(text):
        raise RuntimeError("model not loaded")

    service.rasa_metadata = broken
    run(service.receive_user_message(conv.id, "and my refund?"))
    assert rasa.sent[-1][1] == "and my refund?"
    assert "tier1_sentence_vector" not in rasa.sent[-1][2]


def test_bot_replies_are_stored_with_payload_and_published(service, rasa, conv, published):
    buttons = [{"title": "Reset password", "payload": "/reset"}]
    rasa.responder = lambda cid, text, md: [
        {"recipient_id": cid, "text": "One moment"},
        {"recipient_id": cid, "text": "Which one?", "buttons": buttons},
        {"recipient_id": cid},  # nothing to show: skipped
    ]
    run(service.receive_user_message(conv.id, "help", "k1"))
    history = service.history(conv.id)
    assert [(m.sender, m.text, m.payload) for m in history] == [
        ("user", "help", None),
        ("bot", "One moment", None),
        ("bot", "Which one?", {"buttons": buttons}),
    ]
    created = [e for e in published if e.name == events.MESSAGE_CREATED]
    assert [e.data["id"] for e in created] == [m.id for m in history]
    assert all(e.conversation_id == conv.id for e in created)


def test_a_resend_is_idempotent_and_not_routed_twice(service, rasa, conv, published):
    first = run(service.receive_user_message(conv.id, "hello", "k1"))
    again = run(service.receive_user_message(conv.id, "hello", "k1"))
    assert again.duplicate and again.id == first.id
    assert len(rasa.sent) == 1
    assert texts(service, conv.id) == [("user", "hello"), ("bot", "echo: hello")]
    assert [e.data["sender"] for e in published if e.name == events.MESSAGE_CREATED] == [
        "user",
        "bot",
    ]
    # The same client id in another conversation is a different message.
    other = service.open_conversation(None, {})
    assert not run(service.receive_user_message(other.id, "hello", "k1")).duplicate


@pytest.mark.parametrize("text", ["", "   ", None, 42, "x" * 201])
def test_invalid_text_is_refused_and_nothing_is_stored(service, rasa, conv, text):
    with pytest.raises(InvalidMessage):
        run(service.receive_user_message(conv.id, text, "k1"))
    assert service.history(conv.id) == [] and rasa.sent == []


def test_invalid_client_id_and_unknown_conversation(service, conv):
    with pytest.raises(InvalidMessage, match="client_id"):
        run(service.receive_user_message(conv.id, "hi", "x" * 129))
    with pytest.raises(ConversationNotFound):
        run(service.receive_user_message("nope", "hi", None))


def test_rasa_down_apologises_and_queues_for_a_person(service, rasa, conv, published, settings):
    rasa.available = False
    run(service.receive_user_message(conv.id, "where is my order?", "k1"))
    assert texts(service, conv.id) == [
        ("user", "where is my order?"),
        ("bot", settings.unavailable_message),
    ]
    detail = service.get_conversation(conv.id)
    assert detail.status is Status.QUEUED and detail.reason == "bot_unavailable"
    assert detail.context["last_question"] == "where is my order?"
    assert events.HANDOFF_REQUESTED in [e.name for e in published]


def test_rasa_replying_with_nothing_apologises_and_queues(service, rasa, conv, settings):
    rasa.responder = lambda _cid, _text, _md: []  # e.g. Rasa's action server failed
    run(service.receive_user_message(conv.id, "where is my order?", "k1"))
    assert texts(service, conv.id) == [
        ("user", "where is my order?"),
        ("bot", settings.unavailable_message),
    ]
    assert service.get_conversation(conv.id).reason == "bot_unavailable"


def test_queued_conversation_keeps_the_bot_silent(service, rasa, queued, published):
    run(service.receive_user_message(queued.id, "anyone there?", "k2"))
    assert rasa.sent == []
    assert texts(service, queued.id) == [("user", "anyone there?")]
    # The agents' side still hears about it.
    assert published[-1].name == events.MESSAGE_CREATED and published[-1].data["sender"] == "user"


def test_request_handoff_is_idempotent(desk, service, conv, agent, published):
    run(service.request_handoff(conv.id, "request_human", {"hits": []}))
    run(service.request_handoff(conv.id, "request_human", {}))
    run(desk.claim(conv.id, agent))
    again = run(service.request_handoff(conv.id, "low_confidence", {}))
    assert again.status is Status.ASSIGNED and again.reason == "request_human"
    assert [e.name for e in published if e.name == events.HANDOFF_REQUESTED] == [
        events.HANDOFF_REQUESTED
    ]
    with pytest.raises(InvalidMessage):
        run(service.request_handoff(conv.id, "", {}))


def test_handoff_requested_by_the_action_server_during_a_bot_turn_does_not_deadlock(service, conv):
    class HandingOffRasa(InMemoryRasa):
        async def send(self, conversation_id, text, metadata=None):
            # What Rasa's action server does while the webhook request is in flight.
            await service.request_handoff(conversation_id, "low_confidence", {"q": text})
            return [{"text": "Let me get a person for you."}]

    service.rasa = HandingOffRasa()
    run(service.receive_user_message(conv.id, "something odd", "k1"))
    detail = service.get_conversation(conv.id)
    assert detail.status is Status.QUEUED and detail.context == {"q": "something odd"}
    assert texts(service, conv.id)[-1] == ("bot", "Let me get a person for you.")


def test_claim_announces_the_agent_and_only_one_claim_wins(desk, 
    service, queued, agent, other_agent, published
):
    claimed = run(desk.claim(queued.id, agent))
    assert claimed.status is Status.ASSIGNED and claimed.assignee_name == "Ana"
    assert texts(service, queued.id)[-1] == ("system", "Ana joined the chat")
    assert published[-2].name == events.ASSIGNED and published[-2].data["assignee_id"] == agent.id
    with pytest.raises(AlreadyClaimed):
        run(desk.claim(queued.id, other_agent))
    # A double click by the holder is harmless: no second announcement.
    assert run(desk.claim(queued.id, agent)).assignee_id == agent.id
    assert [t for t in texts(service, queued.id) if t[0] == "system"] == [
        ("system", "Ana joined the chat")
    ]


def test_only_the_assignee_writes_and_only_while_assigned(desk, 
    service, queued, agent, other_agent, published
):
    with pytest.raises(IllegalTransition, match="Claim it first"):
        run(desk.agent_message(queued.id, agent, "hello"))
    run(desk.claim(queued.id, agent))
    with pytest.raises(NotAssignee):
        run(desk.agent_message(queued.id, other_agent, "hello"))
    with pytest.raises(InvalidMessage):
        run(desk.agent_message(queued.id, agent, "  "))
    msg = run(desk.agent_message(queued.id, agent, "Hi, Ana here"))
    assert (msg.sender, msg.agent_id, msg.agent_name) == ("agent", agent.id, "Ana")
    assert published[-1].data["id"] == msg.id and published[-1].data["agent_name"] == "Ana"


def test_resolve_then_the_user_returns_to_a_resumed_bot(desk, 
    service, rasa, assigned, agent, other_agent
):
    with pytest.raises(NotAssignee):
        run(desk.resolve(assigned.id, other_agent))
    resolved = run(desk.resolve(assigned.id, agent))
    assert resolved.status is Status.RESOLVED
    run(service.receive_user_message(assigned.id, "one more thing", "k9"))
    assert service.get_conversation(assigned.id).status is Status.BOT
    assert rasa.resumed == [assigned.id]
    assert rasa.sent[-1][:2] == (assigned.id, "one more thing")


def test_queued_conversation_can_be_resolved_by_any_agent(desk, service, queued, other_agent):
    assert run(desk.resolve(queued.id, other_agent)).status is Status.RESOLVED


def test_handback_resumes_rasa_and_tells_the_user(desk, service, rasa, assigned, agent, settings):
    back = run(desk.handback(assigned.id, agent))
    assert back.status is Status.BOT and back.assignee_id is None
    assert rasa.resumed == [assigned.id]
    assert texts(service, assigned.id)[-1] == ("bot", settings.handback_message)
    run(service.receive_user_message(assigned.id, "thanks", "k5"))
    assert rasa.sent == [(assigned.id, "thanks", {"plan": "pro"})]


def test_handback_with_rasa_down_leaves_the_agent_in_charge(desk, service, rasa, assigned, agent):
    rasa.available = False
    with pytest.raises(RasaUnavailable):
        run(desk.handback(assigned.id, agent))
    after = service.get_conversation(assigned.id)
    assert after.status is Status.ASSIGNED and after.assignee_id == agent.id


def test_handback_rules(desk, service, assigned, other_agent):
    with pytest.raises(NotAssignee):
        run(desk.handback(assigned.id, other_agent))
    with_bot = service.open_conversation(None, {})
    with pytest.raises(IllegalTransition):
        run(desk.handback(with_bot.id, other_agent))


def test_release_puts_it_back_in_the_queue(desk, service, assigned, agent, other_agent):
    back = run(desk.release(assigned.id, agent))
    assert back.status is Status.QUEUED and back.assignee_id is None
    assert back.reason == "low_confidence"
    assert run(desk.claim(assigned.id, other_agent)).assignee_id == other_agent.id


def test_replies_come_out_in_the_order_messages_came_in(service, conv):
    class SlowFirstRasa(InMemoryRasa):
        async def send(self, conversation_id, text, metadata=None):
            if text == "first":
                await asyncio.sleep(0.05)
            return [{"text": f"re: {text}"}]

    service.rasa = SlowFirstRasa()

    async def go():
        a = await service.accept_user_message(conv.id, "first", "k1")
        b = await service.accept_user_message(conv.id, "second", "k2")
        service.route_in_background(a)
        service.route_in_background(b)
        await service.drain()

    run(go())
    assert texts(service, conv.id) == [
        ("user", "first"),
        ("user", "second"),
        ("bot", "re: first"),
        ("bot", "re: second"),
    ]


def test_lists_and_history(desk, service, rasa, conv, queued, agent):
    later = service.open_conversation(None, {})
    run(service.request_handoff(later.id, "request_human", {}))
    run(service.receive_user_message(later.id, "x" * 150, "k1"))
    assert [c.id for c in service.list_conversations(Status.QUEUED)] == [queued.id, later.id]
    run(desk.claim(queued.id, agent))
    [mine] = service.list_conversations(Status.ASSIGNED)
    assert (mine.id, mine.assignee_name, mine.last_message) == (
        queued.id,
        "Ana",
        "Ana joined the chat",
    )
    [waiting] = service.list_conversations(Status.QUEUED)
    assert waiting.last_message == "x" * 119 + "…"
    assert {c.id for c in service.list_conversations()} == {conv.id, later.id}
    last = service.history(queued.id)[-1]
    assert service.history(queued.id, after_id=last.id) == []
    with pytest.raises(ConversationNotFound):
        service.history("nope")
    with pytest.raises(ConversationNotFound):
        service.get_conversation("nope")


def test_history_after_a_cursor(service, conv):
    for i in range(3):
        run(service.receive_user_message(conv.id, f"m{i}", f"k{i}"))
    all_ = service.history(conv.id)
    assert [m.text for m in all_] == ["m0", "echo: m0", "m1", "echo: m1", "m2", "echo: m2"]
    assert [m.text for m in service.history(conv.id, after_id=all_[3].id)] == ["m2", "echo: m2"]
    assert [m.text for m in service.history(conv.id, after_id=0, limit=2)] == ["m0", "echo: m0"]


def test_agent_accounts(service, handoff, agent):
    assert agent.display_name == "Ana" and agent.role == "agent"
    token = service.authenticate(" ANA@example.com ", "correct horse battery")
    assert handoff.auth.tokens.agent_id(token) == agent.id
    with pytest.raises(AuthError):
        service.authenticate("ana@example.com", "wrong password")
    with pytest.raises(AuthError):
        service.authenticate("nobody@example.com", "correct horse battery")
    with pytest.raises(AgentExists):
        service.create_agent("Ana@Example.com", "another password")
    with pytest.raises(InvalidAgent, match="email"):
        service.create_agent("not-an-email", "long enough")
    with pytest.raises(InvalidAgent, match="at least 8"):
        service.create_agent("x@example.com", "short")
    with pytest.raises(InvalidAgent, match="role"):
        service.create_agent("x@example.com", "long enough", role="root")
    assert service.create_agent("zed@example.com", "long enough").display_name == "zed"


# -- a Rasa that is starting or restarting is waited for (handoff.rasa_wait) --------------


def patient(service, seconds: float) -> None:
    """Wait up to ``seconds`` for Rasa, retrying every few hundredths of a second."""
    service.rasa_wait = RasaWait(seconds, first_delay=0.01, max_delay=0.05)


async def back_after(rasa: InMemoryRasa, seconds: float) -> None:
    await asyncio.sleep(seconds)
    rasa.reachable = True


def test_a_message_sent_while_rasa_starts_is_answered_by_the_bot(service, rasa, conv, published):
    patient(service, 5)
    rasa.reachable = False

    async def go():
        rasa_up = asyncio.create_task(back_after(rasa, 0.3))
        await service.receive_user_message(conv.id, "where is my order?", "k1")
        await rasa_up

    run(go())
    assert texts(service, conv.id) == [
        ("user", "where is my order?"), ("bot", "echo: where is my order?")]
    assert service.get_conversation(conv.id).status is Status.BOT
    assert events.HANDOFF_REQUESTED not in [e.name for e in published]


def test_a_rasa_that_stays_down_gets_the_apology_after_the_wait(service, rasa, conv, settings):
    patient(service, 0.3)
    rasa.reachable = False

    async def timed() -> float:
        started = asyncio.get_running_loop().time()
        await service.receive_user_message(conv.id, "where is my order?", "k1")
        return asyncio.get_running_loop().time() - started

    assert 0.3 <= run(timed()) < 2
    assert texts(service, conv.id)[-1] == ("bot", settings.unavailable_message)
    detail = service.get_conversation(conv.id)
    assert detail.status is Status.QUEUED and detail.reason == "bot_unavailable"
    assert "unreachable" in detail.context["error"]


def test_the_default_wait_is_two_minutes_and_zero_apologises_at_once(service, rasa, conv, settings):
    assert HandoffSettings().rasa_wait_seconds == 120
    service.rasa_wait = RasaWait(0)
    rasa.reachable = False
    run(service.receive_user_message(conv.id, "hi", "k1"))
    assert service.get_conversation(conv.id).status is Status.QUEUED


def test_messages_waiting_for_rasa_are_answered_in_order_and_others_are_not_blocked(service, conv):
    patient(service, 5)
    other = service.open_conversation(None, {})

    class OneServerRestarting(InMemoryRasa):
        """The Rasa server of ``conv`` is restarting; ``other``'s serves."""

        down = True

        async def send(self, conversation_id, text, metadata=None):
            if conversation_id == conv.id and self.down:
                raise RasaUnreachable("restarting", down_for=0.0)
            return await super().send(conversation_id, text, metadata)

    rasa = service.rasa = OneServerRestarting()

    async def go():
        first = await service.accept_user_message(conv.id, "first", "k1")
        second = await service.accept_user_message(conv.id, "second", "k2")
        service.route_in_background(first)
        service.route_in_background(second)
        await asyncio.sleep(0.1)
        # conv's turns wait; another conversation's turn goes through meanwhile
        await asyncio.wait_for(service.receive_user_message(other.id, "hello", "k3"), 1)
        assert [m.text for m in service.history(conv.id)] == ["first", "second"]
        rasa.down = False
        await service.drain()

    run(go())
    assert texts(service, conv.id) == [
        ("user", "first"), ("user", "second"), ("bot", "echo: first"), ("bot", "echo: second")]
    assert texts(service, other.id) == [("user", "hello"), ("bot", "echo: hello")]


def test_a_conversation_queued_while_waiting_is_not_sent_to_rasa(service, rasa, conv):
    patient(service, 5)
    rasa.reachable = False

    async def go():
        routing = service.route_in_background(
            await service.accept_user_message(conv.id, "anyone?", "k1"))
        await asyncio.sleep(0.1)
        await service.request_handoff(conv.id, "request_human", {}, actor="agent")
        await asyncio.wait_for(routing, 1)  # stops waiting at the next retry
        rasa.reachable = True

    run(go())
    assert rasa.sent == []
    assert texts(service, conv.id) == [("user", "anyone?")]  # no apology: a person is coming
    assert service.get_conversation(conv.id).reason == "request_human"


def test_a_reopened_conversation_is_resumed_once_however_long_rasa_takes(
    desk, service, rasa, assigned, agent
):
    run(desk.resolve(assigned.id, agent))
    patient(service, 5)

    class ResumesThenRestarts(InMemoryRasa):
        failures = 3

        async def send(self, conversation_id, text, metadata=None):
            if self.failures:
                self.failures -= 1
                raise RasaUnreachable("restarting", down_for=0.0)
            return await super().send(conversation_id, text, metadata)

    rasa = service.rasa = ResumesThenRestarts()
    run(service.receive_user_message(assigned.id, "one more thing", "k9"))
    assert rasa.resumed == [assigned.id]
    assert texts(service, assigned.id)[-1] == ("bot", "echo: one more thing")


def test_a_rasa_port_that_opens_later_answers_the_waiting_message(service, conv):
    """The service with the real HTTP client: nothing listens on Rasa's port for 0.5 s."""
    patient(service, 10)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response([{"text": f"bot: {body['message']}"}])

    async def go():
        service.rasa = HttpRasaClient(f"http://127.0.0.1:{port}", "t", 2.0)
        routing = service.route_in_background(
            await service.accept_user_message(conv.id, "hello", "k1"))
        await asyncio.sleep(0.5)
        assert not routing.done()
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await asyncio.wait_for(routing, 3)
        finally:
            await service.rasa.aclose()
            await runner.cleanup()

    run(go())
    assert texts(service, conv.id) == [("user", "hello"), ("bot", "bot: hello")]
    assert service.get_conversation(conv.id).status is Status.BOT
