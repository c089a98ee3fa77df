"""What an admin does to an account that reaches into the conversations it holds.

Deactivating an agent revokes its tokens (`AgentAccounts.set_deactivated`), hands every
conversation it holds back to the queue through the one state machine (`HandoffService.move`,
as a release would, but audited as the admin's act), publishes ``agent.deactivated`` (the agent
socket closes its open sockets in this process; on other replicas its next socket event is
refused, as every event reloads the account) and - because the roster leaves deactivated
agents out - it gets no new assignments. Reactivating lets the agent log in again
(old tokens stay revoked). A password reset revokes the agent's tokens too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handoff import events
from handoff.assignment import Assigner
from handoff.errors import IllegalTransition, NotAssignee
from handoff.events import Event
from handoff.records import Agent, NewMessage
from handoff.service import HandoffService
from handoff.status import Status

log = logging.getLogger(__name__)

DEACTIVATED_REASON = "agent_deactivated"


@dataclass(frozen=True)
class Deactivation:
    """The deactivated agent and the conversations it held that went back to the queue."""

    agent: Agent
    requeued: list[str]


class AccountAdmin:
    """Deactivate / reactivate agents and reset their passwords (admin actions)."""

    def __init__(self, service: HandoffService, assigner: Assigner) -> None:
        self._service = service
        self._assigner = assigner

    async def deactivate(self, agent_id: int, *, by: Agent) -> Deactivation:
        """Deactivate ``agent_id`` and requeue what it holds; idempotent.

        Raises:
            InvalidAgent: ``by`` deactivating itself. AgentNotFound.
        """
        accounts = self._service.accounts
        agent = await self._service.run(
            lambda: accounts.set_deactivated(agent_id, True, by=by)
        )
        held = await self._service.run(self._assigner.agents.assigned_ids, agent_id)
        requeued = []
        for conversation_id in held:
            current = await self._service.run(
                self._service.store.get_conversation, conversation_id
            )
            note = NewMessage(
                "system",
                f"{agent.display_name} left the chat; another agent will join soon.",
                agent_id=agent.id,
            )
            try:
                await self._service.move(
                    conversation_id,
                    Status.QUEUED,
                    actor=by.actor,
                    reason=current.reason or DEACTIVATED_REASON,
                    only_assignee=agent.id,
                    messages=[note],
                )
            except (IllegalTransition, NotAssignee):
                continue  # resolved or moved meanwhile: nothing to hand back
            requeued.append(conversation_id)
        # The agent socket closes the account's open sockets (pushes stop at once).
        await self._service.bus.publish(
            Event(events.AGENT_DEACTIVATED, "", {"agent_id": agent.id})
        )
        log.info("agent %s deactivated by %s; %d conversation(s) requeued",
                 agent.id, by.actor, len(requeued))
        return Deactivation(agent, requeued)

    async def reactivate(self, agent_id: int) -> Agent:
        """Let the agent log in again. Raises AgentNotFound."""
        accounts = self._service.accounts
        return await self._service.run(lambda: accounts.set_deactivated(agent_id, False, by=None))

    async def reset_password(self, agent_id: int, password: str | None) -> tuple[Agent, str]:
        """See `AgentAccounts.reset_password`."""
        accounts = self._service.accounts
        return await self._service.run(lambda: accounts.reset_password(agent_id, password))


__all__ = ["DEACTIVATED_REASON", "AccountAdmin", "Deactivation"]
