"""The in-process event bus."""

from __future__ import annotations

import asyncio

import pytest

from handoff.events import Event, EventBus

pytestmark = pytest.mark.unit


def test_handlers_run_in_subscription_order_and_wildcards_last():
    bus = EventBus()
    calls: list[str] = []

    async def first(e: Event) -> None:
        await asyncio.sleep(0)
        calls.append(f"first:{e.conversation_id}")

    bus.subscribe("*", lambda e: calls.append(f"any:{e.name}"))
    bus.subscribe("message.created", first)
    bus.subscribe("message.created", lambda e: calls.append(f"second:{e.data['n']}"))
    bus.subscribe("conversation.assigned", lambda e: calls.append("never"))

    asyncio.run(bus.publish(Event("message.created", "c1", {"n": 7})))

    assert calls == ["first:c1", "second:7", "any:message.created"]


def test_a_failing_handler_does_not_stop_the_others():
    bus = EventBus()
    calls: list[str] = []

    def broken(_e: Event) -> None:
        raise RuntimeError("socket closed")

    bus.subscribe("x", broken)
    bus.subscribe("x", lambda e: calls.append("ok"))
    asyncio.run(bus.publish(Event("x", "c1")))
    assert calls == ["ok"]


def test_unsubscribe_and_publish_all_keep_order():
    bus = EventBus()
    seen: list[str] = []
    handler = seen.append
    bus.subscribe("a", lambda e: seen.append(e.name))
    bus.subscribe("b", lambda e: seen.append(e.name))
    bus.subscribe("b", handler)
    bus.unsubscribe("b", handler)
    bus.unsubscribe("b", handler)  # unknown pairs are ignored
    asyncio.run(bus.publish_all([Event("b", "c"), Event("a", "c")]))
    assert seen == ["b", "a"]
