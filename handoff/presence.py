"""Agent presence (online / away / offline) from socket connections and heartbeats.

`Presence` is the protocol; `InMemoryPresence` is the one-process implementation (dev default
and test double). An agent is online or away while at least one of their consoles is
connected and has been heard from within ``timeout_seconds``; silence or the last socket
closing makes them offline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum
from typing import Protocol, runtime_checkable


class PresenceState(str, Enum):
    """Online (auto-assignment picks the agent), away (connected, not picked) or offline."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@runtime_checkable
class Presence(Protocol):
    """Where each agent is. Every method returns the agents whose state changed."""

    def connected(self, agent_id: int, sid: str) -> dict[int, PresenceState]:
        """A console socket of ``agent_id`` opened: the agent is online (or stays away)."""
        ...

    def disconnected(self, agent_id: int, sid: str) -> dict[int, PresenceState]:
        """A console socket closed: offline once the agent has no socket left."""
        ...

    def heartbeat(self, agent_id: int, state: PresenceState) -> dict[int, PresenceState]:
        """The agent is alive and says it is ``online`` or ``away``."""
        ...

    def expire(self) -> dict[int, PresenceState]:
        """Mark agents silent for longer than the timeout offline."""
        ...

    def state(self, agent_id: int) -> PresenceState:
        """The agent's state (offline when never seen)."""
        ...

    def states(self) -> dict[int, PresenceState]:
        """Every agent that is not offline."""
        ...


class InMemoryPresence:
    """`Presence` in this process's memory (one replica; a Redis sibling would share it)."""

    def __init__(
        self, timeout_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._timeout = timeout_seconds
        self._clock = clock
        self._sockets: dict[int, set[str]] = {}
        self._seen: dict[int, float] = {}
        self._state: dict[int, PresenceState] = {}

    def connected(self, agent_id: int, sid: str) -> dict[int, PresenceState]:
        """Add a console socket; the agent is online (or stays away)."""
        self._sockets.setdefault(agent_id, set()).add(sid)
        self._seen[agent_id] = self._clock()
        return self._set(agent_id, self._state.get(agent_id) or PresenceState.ONLINE)

    def disconnected(self, agent_id: int, sid: str) -> dict[int, PresenceState]:
        """Remove a console socket; offline once the agent has none left."""
        sockets = self._sockets.get(agent_id, set())
        sockets.discard(sid)
        if sockets:
            return {}
        self._sockets.pop(agent_id, None)
        return self._set(agent_id, PresenceState.OFFLINE)

    def heartbeat(self, agent_id: int, state: PresenceState) -> dict[int, PresenceState]:
        """Record that the agent was heard from, in ``state``."""
        state = PresenceState(state)
        self._seen[agent_id] = self._clock()
        return self._set(agent_id, state)

    def expire(self) -> dict[int, PresenceState]:
        """Mark agents silent for longer than the timeout offline."""
        cutoff = self._clock() - self._timeout
        changed: dict[int, PresenceState] = {}
        for agent_id, seen in list(self._seen.items()):
            if seen < cutoff and self._state.get(agent_id) is not PresenceState.OFFLINE:
                changed.update(self._set(agent_id, PresenceState.OFFLINE))
        return changed

    def state(self, agent_id: int) -> PresenceState:
        """The agent's state (offline when never seen)."""
        return self._state.get(agent_id, PresenceState.OFFLINE)

    def states(self) -> dict[int, PresenceState]:
        """Every agent that is not offline."""
        return {a: s for a, s in self._state.items() if s is not PresenceState.OFFLINE}

    def _set(self, agent_id: int, state: PresenceState) -> dict[int, PresenceState]:
        if state is PresenceState.OFFLINE:
            self._seen.pop(agent_id, None)
        if self._state.get(agent_id, PresenceState.OFFLINE) is state:
            return {}
        if state is PresenceState.OFFLINE:
            self._state.pop(agent_id, None)
        else:
            self._state[agent_id] = state
        return {agent_id: state}


__all__ = ["InMemoryPresence", "Presence", "PresenceState"]
