"""Queue positions: pushed at once after a quiet spell, a burst pushed together, only to
users whose position moved, and the final positions always right."""

from __future__ import annotations

import asyncio

import pytest

from handoff import queue_positions

pytestmark = pytest.mark.unit


def test_a_burst_of_handoffs_is_pushed_together_and_ends_right(handoff, service, monkeypatch):
    monkeypatch.setattr(queue_positions, "MIN_PUSH_INTERVAL", 0.2)
    pushed: list[tuple[str, dict]] = []

    async def listener(cid, info):
        pushed.append((cid, info))

    async def go():
        handoff.queue.listen(listener)
        convs = [await asyncio.to_thread(service.open_conversation, None) for _ in range(6)]
        await service.request_handoff(convs[0].id, "low_confidence")
        await asyncio.sleep(0.05)
        first = list(pushed)  # the first change after a quiet spell: pushed at once
        for c in convs[1:]:
            await service.request_handoff(c.id, "low_confidence")
        await asyncio.sleep(0.05)
        during = len(pushed)  # the burst waits for the interval
        await asyncio.sleep(0.4)
        # the first in line leaves: everyone behind it moves up
        await service.move(convs[0].id, queue_positions.Status.BOT, actor="test")
        await asyncio.sleep(0.5)
        return convs, first, during

    convs, first, during = asyncio.run(go())
    assert [(cid, info["position"], info["queue_length"]) for cid, info in first] == [
        (convs[0].id, 1, 1)]
    assert during == len(first)
    burst = pushed[len(first):len(first) + 5]
    # one round for the five joins: each joined at the end, so only they are told
    assert [cid for cid, _ in burst] == [c.id for c in convs[1:]]
    assert [info["position"] for _, info in burst] == [2, 3, 4, 5, 6]
    last = {cid: info for cid, info in pushed}
    assert last[convs[0].id]["position"] is None and last[convs[0].id]["status"] == "bot"
    assert [last[c.id]["position"] for c in convs[1:]] == [1, 2, 3, 4, 5]
    assert all(last[c.id]["queue_length"] == 5 for c in convs[1:])
