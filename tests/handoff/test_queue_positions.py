"""Queue positions: pushed at once after a quiet spell, a burst pushed together in one round,
and the final positions always right."""

from __future__ import annotations

import asyncio

import pytest

from handoff import queue_positions
from handoff.status import Status

pytestmark = pytest.mark.unit


def test_a_burst_of_changes_is_pushed_in_one_round_and_ends_right(handoff, service, monkeypatch):
    monkeypatch.setattr(queue_positions, "MIN_PUSH_INTERVAL", 1.0)
    pushed: list[tuple[str, dict]] = []

    async def listener(cid, info):
        pushed.append((cid, info))

    async def go():
        handoff.queue.listen(listener)
        convs = [await asyncio.to_thread(service.open_conversation, None) for _ in range(6)]
        for c in convs:
            await service.request_handoff(c.id, "low_confidence")
        await asyncio.sleep(2.5)  # quiet: past the last round and its interval
        pushed.clear()
        await service.move(convs[0].id, Status.BOT, actor="test")  # pushed at once
        await asyncio.sleep(0.1)
        first = list(pushed)
        await service.move(convs[1].id, Status.BOT, actor="test")  # a burst right after it
        await service.move(convs[2].id, Status.BOT, actor="test")
        await asyncio.sleep(0.1)
        during = len(pushed)
        await asyncio.sleep(1.5)
        return convs, first, during

    convs, first, during = asyncio.run(go())
    assert [cid for cid, _ in first] == [c.id for c in convs]  # it left; all behind moved up
    assert first[0][1]["position"] is None and first[0][1]["status"] == "bot"
    assert [info["position"] for _, info in first[1:]] == [1, 2, 3, 4, 5]
    assert during == len(first)  # the burst waits for the interval...
    burst = pushed[len(first):]
    # ...and is one round: the two that left, then the three still queued, once each
    assert [cid for cid, _ in burst] == [c.id for c in convs[1:]]
    assert [info["position"] for _, info in burst] == [None, None, 1, 2, 3]
    assert all(info["queue_length"] == 3 for _, info in burst[2:])
