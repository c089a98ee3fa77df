"""Agent presence behaves the same in memory and in Redis (real Redis on localhost:6379)."""

from __future__ import annotations

import uuid

import pytest
import redis

from handoff.presence import InMemoryPresence, PresenceState
from handoff.presence_redis import RedisPresence

pytestmark = pytest.mark.integration

ONLINE, AWAY, OFFLINE = PresenceState.ONLINE, PresenceState.AWAY, PresenceState.OFFLINE


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def client():
    c = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        c.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    prefix = f"t-{uuid.uuid4().hex}"
    yield c, prefix
    for key in c.scan_iter(f"{prefix}:*"):
        c.delete(key)


@pytest.fixture(params=["memory", "redis"])
def make(request, client):
    """A factory: each call is another replica's view (Redis replicas share state)."""
    c, prefix = client
    clock = Clock()
    if request.param == "memory":
        single = InMemoryPresence(30, clock)
        return (lambda: single), clock
    return (lambda: RedisPresence(c, 30, prefix, clock)), clock


def test_connect_heartbeat_disconnect(make):
    new, _clock = make
    p = new()
    assert p.connected(7, "s1") == {7: ONLINE}
    assert p.connected(7, "s2") == {}  # already online: no change to publish
    assert p.heartbeat(7, AWAY) == {7: AWAY}
    assert p.states() == {7: AWAY}
    assert p.disconnected(7, "s1") == {}  # another console is still open
    assert p.disconnected(7, "s2") == {7: OFFLINE}
    assert p.state(7) is OFFLINE and p.states() == {}


def test_silence_expires_once(make):
    new, clock = make
    p = new()
    p.connected(1, "a")
    p.connected(2, "b")
    clock.now += 20
    p.heartbeat(2, ONLINE)
    clock.now += 15  # agent 1 silent 35 s, agent 2 silent 15 s
    assert p.expire() == {1: OFFLINE}
    assert p.expire() == {}  # reported once, even when several replicas sweep
    assert p.states() == {2: ONLINE}


def test_replicas_share_presence(client):
    c, prefix = client
    clock = Clock()
    a, b = RedisPresence(c, 30, prefix, clock), RedisPresence(c, 30, prefix, clock)
    assert a.connected(5, "on-a") == {5: ONLINE}
    assert b.state(5) is ONLINE and b.states() == {5: ONLINE}
    assert b.heartbeat(5, AWAY) == {5: AWAY}
    assert a.state(5) is AWAY
    assert b.connected(5, "on-b") == {}
    assert a.disconnected(5, "on-a") == {}  # the console on b keeps the agent present
    assert b.disconnected(5, "on-b") == {5: OFFLINE}
    assert a.state(5) is OFFLINE
