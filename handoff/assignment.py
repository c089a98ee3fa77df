"""Routing queued conversations to agents: auto-assignment, the assignment timeout, presence.

`Assigner` owns the policy; storage and the state machine stay below it. In ``auto`` mode,
queued conversations (in queue order) go to the least-busy ONLINE agent with spare capacity.
A background loop (`Assigner.run`, started by the app's lifespan) expires silent agents,
returns conversations whose assignee never replied within ``assignment_timeout_seconds`` to
the queue, and assigns what it can. Capacity is checked against SQL counts, so several
replicas cannot over-assign by more than the claims racing in one sweep.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from handoff import events
from handoff.agent_store import AgentStore
from handoff.desk import AgentDesk
from handoff.errors import HandoffError
from handoff.events import Event, EventBus
from handoff.models import utcnow
from handoff.presence import Presence, PresenceState
from handoff.records import Agent
from handoff.settings import AssignmentMode, HandoffSettings

log = logging.getLogger(__name__)

AUTO_ACTOR = "system:auto_assign"


@dataclass(frozen=True)
class AgentStatus:
    """An agent as the roster shows it: presence, load and capacity."""

    agent: Agent
    presence: PresenceState
    active: int
    capacity: int

    @property
    def spare(self) -> int:
        """How many more conversations the agent can take (never negative)."""
        return max(0, self.capacity - self.active)


class Assigner:
    """Presence, capacity and (auto) assignment of queued conversations."""

    def __init__(
        self,
        settings: HandoffSettings,
        agents: AgentStore,
        desk: AgentDesk,
        presence: Presence,
        bus: EventBus,
    ) -> None:
        self.settings = settings
        self.agents = agents
        self.desk = desk
        self.presence = presence
        self.bus = bus
        self._lock = asyncio.Lock()
        if settings.assignment is AssignmentMode.AUTO:
            # Capacity frees up or work arrives: try to assign at once, not at the next sweep.
            for name in (events.HANDOFF_REQUESTED, events.REQUEUED, events.RESOLVED,
                         events.HANDED_BACK):
                bus.subscribe(name, self._on_change)

    @property
    def auto(self) -> bool:
        """True when queued conversations are assigned automatically."""
        return self.settings.assignment is AssignmentMode.AUTO

    def capacity_of(self, agent: Agent) -> int:
        """The agent's own capacity, else the configured default."""
        return agent.capacity or self.settings.default_agent_capacity

    def roster(self, include_deactivated: bool = False) -> list[AgentStatus]:
        """Every agent with presence, active conversations and capacity (synchronous).

        Deactivated agents only when asked: assignment never sees them.
        """
        counts = self.agents.assigned_counts()
        return [
            AgentStatus(a, self.presence.state(a.id), counts.get(a.id, 0), self.capacity_of(a))
            for a in self.agents.list_agents(include_deactivated)
        ]

    # -- presence ------------------------------------------------------------------------

    async def presence_changed(self, changes: dict[int, PresenceState]) -> None:
        """Publish presence changes; an agent coming online may get queued work."""
        for agent_id, state in changes.items():
            await self.bus.publish(
                Event(events.PRESENCE_CHANGED, "", {"agent_id": agent_id, "presence": state.value})
            )
        if self.auto and any(s is PresenceState.ONLINE for s in changes.values()):
            await self.assign_queued()

    # -- assignment ----------------------------------------------------------------------

    async def assign_queued(self) -> int:
        """Auto mode: assign queued conversations while an online agent has spare capacity.

        Returns how many were assigned. Serialised in this process, so two triggers never
        hand the same agent more than their capacity.
        """
        if not self.auto:
            return 0
        assigned = 0
        async with self._lock:
            queued = await asyncio.to_thread(self.agents.queued_ids)
            for conversation_id in queued:
                candidates = [
                    s for s in await asyncio.to_thread(self.roster)
                    if s.presence is PresenceState.ONLINE and s.spare > 0
                ]
                if not candidates:
                    break
                # Least busy first: fewest active, then most spare, then longest-standing id.
                best = min(candidates, key=lambda s: (s.active, -s.spare, s.agent.id))
                try:
                    await self.desk.assign(conversation_id, best.agent, actor=AUTO_ACTOR)
                    assigned += 1
                except HandoffError:
                    continue  # claimed manually (or moved) meanwhile: next one
        return assigned

    async def requeue_timed_out(self) -> int:
        """Put conversations whose assignee never replied in time back in the queue."""
        timeout = self.settings.assignment_timeout_seconds
        if timeout is None:
            return 0
        cutoff = utcnow() - timedelta(seconds=timeout)
        stale = await asyncio.to_thread(self.agents.unanswered_assignments, cutoff)
        count = 0
        for conversation_id, assignee_id in stale:
            if await self.desk.requeue_unanswered(conversation_id, assignee_id):
                log.info("conversation %s: agent %s did not reply in %ss; requeued",
                         conversation_id, assignee_id, timeout)
                count += 1
        return count

    async def sweep(self) -> None:
        """One round of the background loop: presence expiry, timeouts, auto-assignment."""
        await self.presence_changed(self.presence.expire())
        await self.requeue_timed_out()
        await self.assign_queued()

    async def run(self) -> None:
        """Sweep every ``sweep_interval_seconds`` until cancelled; errors are logged."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("handoff sweep failed; retrying")
            await asyncio.sleep(self.settings.sweep_interval_seconds)

    async def _on_change(self, _event: Event) -> None:
        await self.assign_queued()


__all__ = ["AUTO_ACTOR", "AgentStatus", "Assigner"]
