"""Where each waiting user stands in the queue, pushed whenever the queue changes.

The queue order is the store's (priority, then oldest queued first: the order agents see and
auto-assignment serves). After every status change this tells its listeners (the widget
gateway, the clients' event streams) the position of each queued conversation whose position
the change may have moved, and ``position: null`` for the conversation that changed if it is
no longer queued. A chat joining the queue moves only those behind it (usually nobody: it
joins at the end), so a long queue does not cost a push to every waiting user per handoff; a
chat leaving it moves everyone (behind it). ``queue_length`` is current in every push, but a
user whose position did not move is not told that the queue grew behind them. Listeners
are kept here rather than on the event bus: positions are derived, per-user views, not
things that happened.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from handoff import events
from handoff.events import Event, EventBus
from handoff.service import HandoffService
from handoff.status import Status

log = logging.getLogger(__name__)

MAX_QUEUE = 1000  # positions beyond this are reported as the end of the known queue


class QueuePositions:
    """Computes queue positions and passes them to listeners ``fn(conversation_id, info)``."""

    def __init__(self, service: HandoffService, bus: EventBus, seconds_per_position: float) -> None:
        self.service = service
        self.bus = bus
        self.seconds_per_position = seconds_per_position
        self._listeners: list[Listener] = []
        # "Can no person take a queued chat now?" (closed hours, nobody online); set by the
        # composition root. While it says so, no wait estimate is given: it could not come true.
        self.nobody_can_answer: Callable[[], bool] | None = None
        for name in events.STATUS_EVENTS:
            bus.subscribe(name, self._on_change)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def snapshot(self) -> list[str]:
        """Queued conversation ids in queue order (synchronous)."""
        return self.service.store.queued_ids(MAX_QUEUE)

    def info(self, conversation_id: str) -> dict[str, Any]:
        """``{status, position, queue_length, estimated_wait_seconds}`` for one conversation
        (position and wait are null unless it is queued; while nobody can take the chat the
        wait is null and ``agents_available`` is false). Synchronous."""
        conversation = self.service.store.get_conversation(conversation_id)
        if conversation.status is not Status.QUEUED:
            return self._payload(conversation.status.value, None, None)
        queue = self.snapshot()
        position = queue.index(conversation_id) + 1 if conversation_id in queue else len(queue)
        return self._payload(Status.QUEUED.value, position, len(queue), self._nobody_now())

    def _nobody_now(self) -> bool:
        return self.nobody_can_answer is not None and self.nobody_can_answer()

    def _payload(
        self, status: str, position: int | None, length: int | None, nobody: bool = False
    ) -> dict[str, Any]:
        wait = None if position is None else math.ceil(position * self.seconds_per_position)
        payload: dict[str, Any] = {
            "status": status,
            "position": position,
            "queue_length": length,
            "estimated_wait_seconds": wait,
        }
        if position is not None and nobody:
            payload.update(estimated_wait_seconds=None, agents_available=False)
        return payload

    async def _on_change(self, event: Event) -> None:
        if not self._listeners:
            return
        queue = await anyio.to_thread.run_sync(self.snapshot)
        nobody = bool(queue) and await anyio.to_thread.run_sync(self._nobody_now)
        updates: list[tuple[str, dict[str, Any]]] = []
        if event.conversation_id in queue:
            # It joined (or moved in) the queue: only those from its place on have moved.
            moved = queue.index(event.conversation_id)
        else:
            status = str(event.data.get("to") or "")
            updates.append((event.conversation_id, self._payload(status, None, None)))
            moved = 0  # it left from somewhere: everyone may have moved up
        updates += [
            (cid, self._payload(Status.QUEUED.value, i + 1, len(queue), nobody))
            for i, cid in enumerate(queue)
            if i >= moved
        ]
        for conversation_id, info in updates:
            for listener in list(self._listeners):
                try:
                    await listener(conversation_id, info)
                except Exception:
                    log.exception("queue position listener %r failed", listener)


Listener = Callable[[str, dict[str, Any]], Awaitable[None]]

__all__ = ["QueuePositions"]
