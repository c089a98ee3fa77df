"""The agent's desk: what agents (and the assignment policy) do to a conversation.

Claim, assign, reply, note, transfer, release, resolve, hand back and the assignment
timeout. Every status change goes through `HandoffService.move` (the one state machine);
replies and notes are stored before they are published, so an acknowledged message is safe.
"""

from __future__ import annotations

from typing import Any

from handoff import events
from handoff.canned import CannedResponses
from handoff.errors import (
    AlreadyClaimed,
    IllegalTransition,
    InvalidAgent,
    InvalidMessage,
    NotAssignee,
)
from handoff.events import Event
from handoff.records import Agent, Conversation, NewMessage, StoredMessage
from handoff.service import MAX_CLIENT_ID_CHARS, HandoffService
from handoff.status import TRANSITIONS, Status

TIMEOUT_REASON = "assignment_timeout"


class AgentDesk:
    """Agent-side operations on conversations, on top of the conversation service."""

    def __init__(self, service: HandoffService, canned: CannedResponses | None = None) -> None:
        """Build the desk on the conversation service.

        Args:
            service: the conversation service the desk's operations go through.
            canned: when given, known ``/shortcuts`` in replies are expanded, never sent
                literally (the console expands them first; this covers every other client).
        """
        self.service = service
        self.store = service.store
        self.canned = canned

    async def claim(self, conversation_id: str, agent: Agent) -> Conversation:
        """Take a queued conversation: queued -> assigned to ``agent``; one concurrent claim wins.

        Claiming a conversation one already holds (a double click) returns it unchanged;
        anyone else gets `AlreadyClaimed`.
        """
        return await self.assign(conversation_id, agent, actor=agent.actor)

    async def assign(self, conversation_id: str, agent: Agent, *, actor: str) -> Conversation:
        """Assign a queued conversation to ``agent`` on behalf of ``actor`` (agent or auto)."""
        joined = NewMessage("system", f"{agent.display_name} joined the chat", agent_id=agent.id)
        try:
            await self.service.move(
                conversation_id,
                Status.ASSIGNED,
                actor=actor,
                assignee_id=agent.id,
                messages=[joined],
            )
        except AlreadyClaimed:
            current = await self.service.run(self.store.get_conversation, conversation_id)
            if current.status is Status.ASSIGNED and current.assignee_id == agent.id:
                return current
            raise
        return await self.service.run(self.store.get_conversation, conversation_id)

    async def agent_message(
        self, conversation_id: str, agent: Agent, text: str, client_id: str | None = None
    ) -> StoredMessage:
        """Store and publish an agent's reply; only the assignee, only while assigned.

        A resend with a known ``client_id`` returns the stored reply (``duplicate=True``)
        and publishes nothing.
        """
        text = self.service.validate_text(text)
        if self.canned is not None and "/" in text:
            text = self.service.validate_text(await self.service.run(self.canned.expand, text))
        message = await self.service.run(
            self.store.add_as_assignee,
            conversation_id,
            agent.id,
            NewMessage("agent", text, agent_id=agent.id, client_id=_client_id(client_id)),
        )
        if not message.duplicate:
            await self.service.publish_messages([message])
        return message

    async def add_note(
        self, conversation_id: str, agent: Agent, text: str, client_id: str | None = None
    ) -> StoredMessage:
        """Store an internal note (any agent, any status); agents see it, the user never does."""
        text = self.service.validate_text(text)
        note = await self.service.run(
            self.store.add_note, conversation_id, agent.id, text, _client_id(client_id)
        )
        if not note.duplicate:
            await self.service.publish_messages([note])
        return note

    async def resolve(self, conversation_id: str, agent: Agent) -> Conversation:
        """-> resolved (the assignee; a queued conversation by any agent); asks for a rating."""
        messages = [
            NewMessage(
                "system", "This conversation has been marked as resolved.", agent_id=agent.id
            )
        ]
        if self.service.csat.enabled:
            messages.append(self.service.csat.prompt())
        await self.service.move(
            conversation_id,
            Status.RESOLVED,
            actor=agent.actor,
            reason="resolved",
            only_assignee=agent.id,
            messages=messages,
        )
        return await self.service.run(self.store.get_conversation, conversation_id)

    async def release(self, conversation_id: str, agent: Agent) -> Conversation:
        """Put an assigned conversation back in the queue for another agent (assignee only)."""
        current = await self.service.run(self.store.get_conversation, conversation_id)
        note = NewMessage(
            "system",
            f"{agent.display_name} left the chat; another agent will join soon.",
            agent_id=agent.id,
        )
        await self.service.move(
            conversation_id,
            Status.QUEUED,
            actor=agent.actor,
            reason=current.reason or "transfer",
            only_assignee=agent.id,
            messages=[note],
        )
        return await self.service.run(self.store.get_conversation, conversation_id)

    async def transfer(
        self, conversation_id: str, agent: Agent, to_agent_id: int | None
    ) -> Conversation:
        """Hand an assigned conversation to another agent, or (``None``) back to the queue.

        Raises:
            InvalidAgent: no agent has ``to_agent_id``, or it is ``agent`` itself.
            NotAssignee: ``agent`` does not hold the conversation.
        """
        if to_agent_id is None:
            return await self.release(conversation_id, agent)
        target = await self.service.run(self.service.accounts.get, to_agent_id)
        if target is None or not target.is_active:
            raise InvalidAgent(
                f"No active agent has id {to_agent_id}; pick one from GET /api/agents."
            )
        if target.id == agent.id:
            raise InvalidAgent("You already hold this conversation; pick another agent.")
        current = await self.service.run(self.store.get_conversation, conversation_id)
        if current.status is not Status.ASSIGNED:
            raise IllegalTransition(
                f"Conversation {conversation_id!r} is {current.status.value!r}; only an assigned "
                "conversation can be transferred to an agent. Claim it first."
            )
        note = NewMessage(
            "system",
            f"{agent.display_name} transferred the chat to {target.display_name}.",
            agent_id=target.id,
        )
        await self.service.move(
            conversation_id,
            Status.ASSIGNED,
            actor=agent.actor,
            reason="transfer",
            assignee_id=target.id,
            only_assignee=agent.id,
            messages=[note],
        )
        return await self.service.run(self.store.get_conversation, conversation_id)

    async def handback(self, conversation_id: str, agent: Agent) -> Conversation:
        """-> bot: resume the Rasa tracker, then tell the user the bot is back.

        Rasa is resumed BEFORE the status changes, so a failed resume (`RasaUnavailable`)
        leaves the conversation with its agent instead of with a paused, silent bot.
        """
        current = await self.service.run(self.store.get_conversation, conversation_id)
        if (current.status, Status.BOT) not in TRANSITIONS:
            raise IllegalTransition(
                f"Conversation {conversation_id!r} is {current.status.value!r}; only a queued or "
                "assigned conversation can be handed back to the bot."
            )
        if current.status is Status.ASSIGNED and current.assignee_id != agent.id:
            raise NotAssignee()
        await self.service.rasa.resume(conversation_id)
        await self.service.move(
            conversation_id,
            Status.BOT,
            actor=agent.actor,
            reason="handback",
            only_assignee=agent.id,
            messages=[NewMessage("bot", self.service.settings.handback_message)],
        )
        return await self.service.run(self.store.get_conversation, conversation_id)

    async def requeue_unanswered(self, conversation_id: str, assignee_id: int) -> bool:
        """Requeue a conversation whose assignee never replied in time (assigned -> queued).

        False if they did reply (or the conversation moved on) in the meantime.
        """
        note = NewMessage(
            "system", "Sorry for the wait; we're finding another agent for you.", agent_id=None
        )
        current = await self.service.run(self.store.get_conversation, conversation_id)
        try:
            await self.service.move(
                conversation_id,
                Status.QUEUED,
                actor="system",
                reason=current.reason or TIMEOUT_REASON,
                only_assignee=assignee_id,
                unanswered_only=True,
                messages=[note],
            )
        except (IllegalTransition, NotAssignee):
            return False
        return True

    async def typing(self, conversation_id: str, sender: str, typing: bool,
                     agent: Agent | None = None) -> None:
        """Publish a typing indicator (``sender`` user or agent); nothing is stored."""
        data: dict[str, Any] = {"sender": sender, "typing": bool(typing)}
        if agent is not None:
            data.update(agent_id=agent.id, agent_name=agent.display_name)
        await self.service.bus.publish(Event(events.TYPING, conversation_id, data))


def _client_id(client_id: Any) -> str | None:
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
        raise InvalidMessage(
            f"client_id must be a string of 1 to {MAX_CLIENT_ID_CHARS} characters, or omitted."
        )
    return client_id


__all__ = ["TIMEOUT_REASON", "AgentDesk"]
