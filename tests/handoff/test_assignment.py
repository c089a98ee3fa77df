"""Presence from heartbeats, per-agent capacity and auto-assignment to the least-busy agent."""

from __future__ import annotations

import asyncio

import pytest

from handoff import HandoffSettings
from handoff.assignment import AUTO_ACTOR
from handoff.presence import InMemoryPresence, PresenceState
from handoff.status import Status

pytestmark = pytest.mark.unit

ONLINE, AWAY, OFFLINE = PresenceState.ONLINE, PresenceState.AWAY, PresenceState.OFFLINE


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_presence_from_sockets_and_heartbeats():
    clock = Clock()
    p = InMemoryPresence(timeout_seconds=30, clock=clock)
    assert p.state(1) is OFFLINE
    assert p.connected(1, "s1") == {1: ONLINE}
    assert p.connected(1, "s2") == {}  # a second tab changes nothing
    assert p.heartbeat(1, AWAY) == {1: AWAY}
    assert p.disconnected(1, "s1") == {}  # still one tab open
    assert p.states() == {1: AWAY}
    clock.now += 29
    assert p.expire() == {}
    clock.now += 2  # silent for 31 s
    assert p.expire() == {1: OFFLINE} and p.state(1) is OFFLINE
    assert p.heartbeat(1, ONLINE) == {1: ONLINE}  # back
    assert p.disconnected(1, "s2") == {1: OFFLINE}  # the last tab closed
    assert p.expire() == {} and p.states() == {}


@pytest.fixture
def settings() -> HandoffSettings:
    return HandoffSettings(max_message_chars=200, assignment="auto", default_agent_capacity=2)


@pytest.fixture
def clock(handoff) -> Clock:
    clock = Clock()
    handoff.assigner.presence = InMemoryPresence(30, clock)
    return clock


def queue(service, n: int, priority: int = 0) -> list[str]:
    ids = []
    for _ in range(n):
        conv = service.open_conversation(None, {})
        run(service.request_handoff(conv.id, "low_confidence", priority=priority))
        ids.append(conv.id)
    return ids


def holders(service, ids):
    return [service.get_conversation(i).assignee_id for i in ids]


def test_auto_assigns_to_the_least_busy_online_agent_within_capacity(
    handoff, service, clock, agent, other_agent, admin
):
    presence = handoff.assigner.presence
    assert queue(service, 1) and run(handoff.assigner.assign_queued()) == 0  # nobody online

    async def online(agent_id):
        await handoff.assigner.presence_changed(presence.heartbeat(agent_id, ONLINE))

    run(online(agent.id))  # coming online picks up the waiting chat at once
    run(handoff.desk.agent_message(service.list_conversations(Status.ASSIGNED)[0].id, agent, "hi"))
    run(online(other_agent.id))
    run(handoff.assigner.presence_changed(presence.heartbeat(admin.id, AWAY)))
    ids = queue(service, 4)
    # ana holds 1 (capacity 2), bo holds 0: bo, then alternate by load; the away admin gets none.
    assert holders(service, ids[:3]).count(other_agent.id) == 2
    assert holders(service, ids[:3]).count(agent.id) == 1
    assert holders(service, ids)[3] is None  # everyone is at capacity
    assert admin.id not in holders(service, ids)
    roster = {s.agent.id: s for s in handoff.assigner.roster()}
    assert (roster[agent.id].active, roster[agent.id].spare) == (2, 0)
    assert roster[admin.id].presence is AWAY

    # Capacity frees up (a resolve): the waiting chat is assigned at once.
    first = service.get_conversation(ids[0])
    holder = agent if first.assignee_id == agent.id else other_agent
    run(handoff.desk.resolve(ids[0], holder))
    assert service.get_conversation(ids[3]).assignee_id == holder.id
    changes = service.store.status_changes(ids[3])
    assert changes[-1]["actor"] == AUTO_ACTOR


def test_per_agent_capacity_and_priority_order(handoff, service, clock, agent, client,
                                               admin, auth_headers):
    root = auth_headers("root@example.com")
    r = client.patch(f"/api/agents/{agent.id}", json={"capacity": 1}, headers=root)
    assert r.status_code == 200 and r.json()["capacity"] == 1
    low = queue(service, 1)
    high = queue(service, 1, priority=5)
    run(handoff.assigner.presence_changed(handoff.assigner.presence.connected(agent.id, "sid")))
    assert holders(service, high) == [agent.id] and holders(service, low) == [None]


def test_silent_agents_go_offline_and_stop_getting_work(handoff, service, clock, agent):
    run(handoff.assigner.presence_changed(handoff.assigner.presence.heartbeat(agent.id, ONLINE)))
    clock.now += 31
    run(handoff.assigner.sweep())
    assert handoff.assigner.presence.state(agent.id) is OFFLINE
    ids = queue(service, 1)
    assert holders(service, ids) == [None]


def test_manual_mode_never_auto_assigns(agent, handoff, service):
    handoff.assigner.settings = HandoffSettings(assignment="manual")
    run(handoff.assigner.presence_changed(handoff.assigner.presence.heartbeat(agent.id, ONLINE)))
    ids = queue(service, 1)
    assert run(handoff.assigner.assign_queued()) == 0 and holders(service, ids) == [None]


def test_heartbeat_endpoint_and_roster(client, agent, auth_headers, handoff):
    ana = auth_headers("ana@example.com")
    r = client.post("/api/agents/me/heartbeat", json={"state": "away"}, headers=ana)
    assert r.status_code == 200 and r.json() == {"presence": "away"}
    assert client.post("/api/agents/me/heartbeat", json={"state": "asleep"}, headers=ana
                       ).status_code == 422
    roster = client.get("/api/agents", headers=ana).json()
    assert [(a["display_name"], a["presence"], a["active"], a["capacity"]) for a in roster] == [
        ("Ana", "away", 0, 2)
    ]
