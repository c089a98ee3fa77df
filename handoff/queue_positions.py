"""Where each waiting user stands in the queue, pushed whenever the queue changes.

The queue order is the store's (priority, then oldest queued first: the order agents see and
auto-assignment serves). After every status change this tells its listeners (the widget
gateway, the clients' event streams) the position of each queued conversation whose position
the change may have moved, and ``position: null`` for the conversation that changed if it is
no longer queued. A chat joining the queue moves only those behind it (usually nobody: it
joins at the end), so a long queue does not cost a push to every waiting user per handoff; a
chat leaving it moves everyone (behind it). When an agent's presence flips whether anyone can
take a chat at all, it tells its team listeners (the gateway tells every widget) and pushes
every queued position again: each one's "nobody is online" or wait estimate changed.
``queue_length`` is current in every push, but a user whose position did not move is not told
that the queue grew behind them. Pushes are throttled: the first change after a quiet spell is
pushed at once, changes arriving within `MIN_PUSH_INTERVAL` of a push are pushed together
after it (a burst of handoffs is one read of the queue and one message per moved user, not
one per handoff). Listeners are kept here rather than on the event bus: positions are
derived, per-user views, not things that happened.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from handoff import events
from handoff.events import Event, EventBus
from handoff.service import HandoffService
from handoff.status import Status

log = logging.getLogger(__name__)

MAX_QUEUE = 1000  # positions beyond this are reported as the end of the known queue
MIN_PUSH_INTERVAL = 0.25  # seconds between two rounds of position pushes


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
        self._team_listeners: list[TeamListener] = []
        self._team_available: bool | None = None  # what the team listeners were last told
        self._changed: dict[str, str] = {}  # conversation id -> status it moved to, unpushed
        self._everyone = False  # push every queued position in the next round
        self._pusher: asyncio.Task[None] | None = None
        self._last_push = 0.0
        for name in events.STATUS_EVENTS:
            bus.subscribe(name, self._on_change)
        # Subscribed after the composition root's OfflineTickets, whose handler of the same
        # event drops its cached "can anyone answer?" first, so `team` reads it fresh here.
        bus.subscribe(events.PRESENCE_CHANGED, self._on_presence)

    def listen(self, listener: Listener) -> None:
        """Call ``listener(conversation_id, info)`` for each position pushed."""
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no error if it was not listening)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def listen_team(self, listener: TeamListener) -> None:
        """Call ``listener(team())`` whenever an agent's presence changes what `team` says."""
        self._team_listeners.append(listener)

    def team(self) -> dict[str, Any]:
        """``{agents_available}``: whether a person could take a chat now (synchronous).

        False in closed hours or with nobody online; null when nothing tells.
        """
        if self.nobody_can_answer is None:
            return {"agents_available": None}
        return {"agents_available": not self.nobody_can_answer()}

    def snapshot(self) -> list[str]:
        """Queued conversation ids in queue order (synchronous)."""
        return self.service.store.queued_ids(MAX_QUEUE)

    def info(self, conversation_id: str) -> dict[str, Any]:
        """``{status, position, queue_length, estimated_wait_seconds}`` of one conversation.

        Position and wait are null unless it is queued; while nobody can take the chat the
        wait is null and ``agents_available`` is false. Synchronous.
        """
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
        self._changed[event.conversation_id] = str(event.data.get("to") or "")
        self._schedule()

    async def _on_presence(self, event: Event) -> None:
        team = await anyio.to_thread.run_sync(self.team)
        available = team["agents_available"]
        if available is None or available == self._team_available:
            return
        self._team_available = available
        for listener in list(self._team_listeners):
            try:
                await listener(team)
            except Exception:
                log.exception("team availability listener %r failed", listener)
        if self._listeners:
            self._everyone = True
            self._schedule()

    def _schedule(self) -> None:
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.get_running_loop().create_task(self._push_changes())

    async def _push_changes(self) -> None:
        while self._changed or self._everyone:
            wait = self._last_push + MIN_PUSH_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            changed, self._changed = self._changed, {}
            everyone, self._everyone = self._everyone, False
            self._last_push = time.monotonic()
            try:
                await self._push(changed, everyone)
            except Exception:
                log.exception("pushing queue positions failed")

    async def _push(self, changed: dict[str, str], everyone: bool = False) -> None:
        queue = await anyio.to_thread.run_sync(self.snapshot)
        nobody = bool(queue) and await anyio.to_thread.run_sync(self._nobody_now)
        place = {cid: i for i, cid in enumerate(queue)}
        updates: list[tuple[str, dict[str, Any]]] = []
        # Only those from the first changed place on can have moved; one that left the queue
        # (from wherever it was) may have moved everyone.
        moved = 0 if everyone else len(queue)
        for conversation_id, status in changed.items():
            if conversation_id in place:
                moved = min(moved, place[conversation_id])
            else:
                moved = 0
                updates.append((conversation_id, self._payload(status, None, None)))
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
TeamListener = Callable[[dict[str, Any]], Awaitable[None]]

__all__ = ["QueuePositions"]
