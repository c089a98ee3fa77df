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


def test_an_agent_coming_or_going_tells_the_team_and_pushes_every_queued_position(
    handoff, service, agent, other_agent
):
    pushed: list[tuple[str, dict]] = []
    told: list[dict] = []
    presence = handoff.assigner.presence

    async def listener(cid, info):
        pushed.append((cid, info))

    async def team_listener(team):
        told.append(team)

    async def settle() -> list[tuple[str, dict]]:
        await asyncio.sleep(0.6)  # past a push round and its interval
        done = list(pushed)
        pushed.clear()
        return done

    async def go():
        handoff.queue.listen(listener)
        handoff.queue.listen_team(team_listener)
        convs = [await asyncio.to_thread(service.open_conversation, None) for _ in range(3)]
        for c in convs:
            await service.request_handoff(c.id, "low_confidence")
        before = (await settle())[-1][1]
        alone = handoff.queue.team()
        await handoff.assigner.presence_changed(presence.connected(agent.id, "console-1"))
        online = await settle()
        # A second agent changes nobody's answer to "can anyone take it?": nothing is pushed.
        await handoff.assigner.presence_changed(presence.connected(other_agent.id, "console-2"))
        second = await settle()
        await handoff.assigner.presence_changed(presence.disconnected(agent.id, "console-1"))
        await handoff.assigner.presence_changed(presence.disconnected(other_agent.id, "console-2"))
        offline = await settle()
        return convs, before, alone, online, second, offline

    convs, before, alone, online, second, offline = asyncio.run(go())
    assert alone == {"agents_available": False}
    assert before["agents_available"] is False and before["estimated_wait_seconds"] is None
    assert told == [{"agents_available": True}, {"agents_available": False}]
    # Every waiting user hears at once that someone can take the chat (or no longer can).
    assert [cid for cid, _ in online] == [c.id for c in convs]
    assert [info["position"] for _, info in online] == [1, 2, 3]
    assert all(
        "agents_available" not in info and info["estimated_wait_seconds"] > 0 for _, info in online
    )
    assert second == []
    assert [cid for cid, _ in offline] == [c.id for c in convs]
    assert all(info["agents_available"] is False for _, info in offline)


def test_without_a_rule_for_who_can_answer_the_team_is_unknown(handoff):
    handoff.queue.nobody_can_answer = None
    assert handoff.queue.team() == {"agents_available": None}
