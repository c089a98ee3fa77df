"""A tiny in-process async event bus.

Side effects (socket pushes, notifications, metrics) subscribe to named events; the state
machine and the service only publish. Events are published after the database commit, so
a subscriber never sees a change that could still roll back.
"""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

HANDOFF_REQUESTED = "conversation.handoff_requested"
ASSIGNED = "conversation.assigned"
REQUEUED = "conversation.requeued"
RESOLVED = "conversation.resolved"
HANDED_BACK = "conversation.handed_back"
REOPENED = "conversation.reopened"
TRANSFERRED = "conversation.transferred"
MESSAGE_CREATED = "message.created"
# Not status changes: a typing indicator, an agent's presence, a CSAT rating.
TYPING = "conversation.typing"
PRESENCE_CHANGED = "agent.presence_changed"
CSAT_RECEIVED = "conversation.csat_received"
# An admin deactivated an agent: its open sockets are closed.
AGENT_DEACTIVATED = "agent.deactivated"
# A user left an offline ticket (email + message) while no person could take the chat.
TICKET_OPENED = "offline_ticket.opened"

# Events that change what the queue looks like (agents' lists refresh on these).
STATUS_EVENTS = (HANDOFF_REQUESTED, ASSIGNED, REQUEUED, RESOLVED, HANDED_BACK, REOPENED, TRANSFERRED)


@dataclass(frozen=True)
class Event:
    """Something that happened to a conversation; ``data`` is JSON-serialisable."""

    name: str
    conversation_id: str
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Event], Awaitable[None] | None]


class EventBus:
    """Delivers each published event to the handlers subscribed to its name, in order.

    A failing handler is logged and skipped: one broken side effect (a closed socket) must
    not fail the operation that already committed, nor starve the other handlers.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, name: str, handler: Handler) -> None:
        """Call ``handler(event)`` (sync or async) for every event named ``name``; ``"*"`` = all."""
        self._handlers[name].append(handler)

    def unsubscribe(self, name: str, handler: Handler) -> None:
        """Stop calling ``handler`` for ``name``; unknown pairs are ignored."""
        try:
            self._handlers[name].remove(handler)
        except ValueError:
            pass

    async def publish(self, event: Event) -> None:
        """Run the handlers of ``event.name``, then the ``"*"`` handlers, awaiting each."""
        for handler in [*self._handlers.get(event.name, ()), *self._handlers.get("*", ())]:
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("event handler %r failed for %s", handler, event.name)

    async def publish_all(self, events: list[Event]) -> None:
        """Publish ``events`` one after the other, in list order."""
        for event in events:
            await self.publish(event)


__all__ = [
    "ASSIGNED",
    "CSAT_RECEIVED",
    "HANDED_BACK",
    "HANDOFF_REQUESTED",
    "MESSAGE_CREATED",
    "PRESENCE_CHANGED",
    "REOPENED",
    "REQUEUED",
    "RESOLVED",
    "STATUS_EVENTS",
    "TICKET_OPENED",
    "TRANSFERRED",
    "TYPING",
    "Event",
    "EventBus",
    "Handler",
]
