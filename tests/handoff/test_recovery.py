"""Recovery of acknowledged user messages whose replica died before answering them."""

from __future__ import annotations

import asyncio

import pytest

from handoff.recovery import RoutingRecovery
from handoff.service import BOT_UNAVAILABLE
from handoff.status import Status

pytestmark = pytest.mark.unit


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def senders(service, cid) -> list[tuple[str, str]]:
    return [(m.sender, m.text) for m in service.history(cid)]


def test_an_acknowledged_message_never_routed_gets_the_apology_and_a_person(service, settings):
    orphan = service.open_conversation(None)
    answered = service.open_conversation(None)
    # Accepted (stored and acknowledged) but never routed: the replica died in between.
    run(service.accept_user_message(orphan.id, "Where is my parcel?", "c1"))
    run(service.receive_user_message(answered.id, "Hello", "c2"))  # routed: the bot replied

    moved = run(RoutingRecovery(service, after_seconds=0).sweep())

    assert moved == [orphan.id]
    assert service.get_conversation(orphan.id).status is Status.QUEUED
    assert service.get_conversation(orphan.id).reason == BOT_UNAVAILABLE
    assert senders(service, orphan.id)[-1] == ("bot", settings.unavailable_message)
    assert service.get_conversation(answered.id).status is Status.BOT
    # A second replica sweeping the same database answers nothing twice.
    assert run(RoutingRecovery(service, after_seconds=0).sweep()) == []
    assert [s for s, _ in senders(service, orphan.id)].count("bot") == 1


def test_a_recent_or_in_flight_message_is_left_to_its_routing(service):
    conv = service.open_conversation(None)
    run(service.accept_user_message(conv.id, "Where is my parcel?", "c1"))

    assert run(RoutingRecovery(service, after_seconds=60).sweep()) == []  # too recent

    async def while_routing():
        async with service.lock(conv.id):  # this replica is routing it right now
            return await RoutingRecovery(service, after_seconds=0).sweep()

    assert run(while_routing()) == []
    assert service.get_conversation(conv.id).status is Status.BOT


def test_the_orphan_bound_follows_the_rasa_timeout(service):
    recovery = RoutingRecovery.for_service(service)
    assert recovery.after.total_seconds() == max(20.0, 4 * service.settings.rasa_timeout_seconds)


def test_a_conversation_queued_after_the_message_gets_the_notice_it_never_saw(service, settings):
    # The action server queued it while Rasa answered; the replica died before storing the
    # reply ("connecting you to a person"), so the user was never told.
    conv = service.open_conversation(None)
    run(service.accept_user_message(conv.id, "I want a person", "c1"))
    run(service.request_handoff(conv.id, "user_request"))
    waiting = service.open_conversation(None)
    run(service.request_handoff(waiting.id, "user_request"))
    # Written while already queued: the notice came before; it waits for the agents.
    run(service.accept_user_message(waiting.id, "Are you there?", "c2"))

    assert run(RoutingRecovery(service, after_seconds=0).sweep()) == [conv.id]
    assert senders(service, conv.id)[-1] == ("bot", settings.unavailable_message)
    assert service.get_conversation(conv.id).status is Status.QUEUED
    assert senders(service, waiting.id)[-1] == ("user", "Are you there?")
