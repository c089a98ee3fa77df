"""`Presence` in Redis, shared by every app replica (the in-memory twin is `InMemoryPresence`).

Keys (under ``{prefix}:presence:``): ``sockets:{agent_id}`` a set of socket ids,
``seen`` a hash agent -> last heartbeat (wall-clock seconds, so every replica compares the
same clock), ``state`` a hash agent -> online/away. A state change is decided inside Redis
(one Lua script), so when two replicas race exactly one of them reports the change and
publishes the event.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from handoff.presence import PresenceState

# KEYS: state hash, seen hash, sockets key. ARGV: agent id, new state, now (or "" to keep seen).
# Returns 1 when the agent's state changed.
_SET_STATE = """
local old = redis.call('HGET', KEYS[1], ARGV[1]) or 'offline'
if ARGV[2] == 'offline' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
end
if old == ARGV[2] then return 0 end
return 1
"""

# Offline only if still silent at the cutoff (a heartbeat on another replica may have landed).
_EXPIRE_ONE = """
local seen = redis.call('HGET', KEYS[2], ARGV[1])
if not seen or tonumber(seen) >= tonumber(ARGV[2]) then return 0 end
local old = redis.call('HGET', KEYS[1], ARGV[1]) or 'offline'
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
if old == 'offline' then return 0 end
return 1
"""


class RedisPresence:
    """`Presence` shared through Redis.

    Args:
        client: a synchronous ``redis.Redis`` (calls are sub-millisecond round trips).
        timeout_seconds: silence after which an agent is offline.
        prefix: key namespace (``redis.key_prefix``).
        clock: wall-clock seconds; tests pass a fake.
    """

    def __init__(
        self,
        client,
        timeout_seconds: float,
        prefix: str = "tier1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._r = client
        self._timeout = timeout_seconds
        self._clock = clock
        base = f"{prefix}:presence:"
        self._state_key = base + "state"
        self._seen_key = base + "seen"
        self._sockets_prefix = base + "sockets:"
        self._set_script = client.register_script(_SET_STATE)
        self._expire_script = client.register_script(_EXPIRE_ONE)

    def connected(self, agent_id: int, sid: str) -> dict[int, PresenceState]:
        """Add a console socket; the agent is online (or stays away)."""
        self._r.sadd(self._sockets(agent_id), sid)
        current = self.state(agent_id)
        keep = current if current is not PresenceState.OFFLINE else PresenceState.ONLINE
        return self._set(agent_id, keep, seen=True)

    def disconnected(self, agent_id: int, sid: str) -> dict[int, PresenceState]:
        """Remove a console socket; offline once the agent has none left on any replica."""
        key = self._sockets(agent_id)
        self._r.srem(key, sid)
        if self._r.scard(key):
            return {}
        return self._set(agent_id, PresenceState.OFFLINE)

    def heartbeat(self, agent_id: int, state: PresenceState) -> dict[int, PresenceState]:
        """Record that the agent was heard from, in ``state``."""
        return self._set(agent_id, PresenceState(state), seen=True)

    def expire(self) -> dict[int, PresenceState]:
        """Mark agents silent for longer than the timeout offline (each decided in Redis)."""
        cutoff = self._clock() - self._timeout
        changed: dict[int, PresenceState] = {}
        for agent, seen in self._r.hgetall(self._seen_key).items():
            if float(seen) >= cutoff:
                continue
            agent_id = int(agent)
            if self._expire_script(
                keys=[self._state_key, self._seen_key, self._sockets(agent_id)],
                args=[agent_id, cutoff],
            ):
                changed[agent_id] = PresenceState.OFFLINE
        return changed

    def state(self, agent_id: int) -> PresenceState:
        """The agent's state (offline when never seen)."""
        value = self._r.hget(self._state_key, agent_id)
        return PresenceState(_text(value)) if value is not None else PresenceState.OFFLINE

    def states(self) -> dict[int, PresenceState]:
        """Every agent that is not offline."""
        return {
            int(a): PresenceState(_text(s)) for a, s in self._r.hgetall(self._state_key).items()
        }

    def _sockets(self, agent_id: int) -> str:
        return f"{self._sockets_prefix}{agent_id}"

    def _set(
        self, agent_id: int, state: PresenceState, *, seen: bool = False
    ) -> dict[int, PresenceState]:
        changed = self._set_script(
            keys=[self._state_key, self._seen_key, self._sockets(agent_id)],
            args=[agent_id, state.value, repr(self._clock()) if seen else ""],
        )
        return {agent_id: state} if changed else {}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["RedisPresence"]
