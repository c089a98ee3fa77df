"""The event stream of an end user's conversation, for REST and Server-Sent Events clients.

Messages from the store after a cursor, plus live ``typing`` and ``queue_position`` events,
and heartbeat comments. Messages are read from SQL, so a stream misses nothing even when the message was stored by
another replica (those arrive within `STORE_POLL_SECONDS`). Protocol details: docs/widget.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio

from handoff import events
from handoff.events import Event, EventBus
from handoff.queue_positions import QueuePositions
from handoff.records import StoredMessage
from handoff.service import HandoffService

STORE_POLL_SECONDS = 2.0  # how often a stream re-reads the store without a local wake-up
PAGE = 200


def client_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message (``StoredMessage.to_dict()``) as the REST/SSE API shows it."""
    payload = message.get("payload") or {}
    custom = payload.get("custom")
    buttons = payload.get("buttons") or payload.get("quick_replies") or []
    source = payload.get("source") or (custom.get("source") if isinstance(custom, dict) else None)
    return {
        "id": message["id"],
        "sender": message["sender"],
        "text": message.get("text") or "",
        "buttons": [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in buttons
            if isinstance(b, dict)
        ],
        "source": source if isinstance(source, dict) else None,
        "custom": custom,
        "agent_name": message.get("agent_name") if message["sender"] in ("agent", "system") else None,
        "client_id": message.get("client_id") if message["sender"] == "user" else None,
        "created_at": message["created_at"],
    }


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One Server-Sent Events frame."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class EventStream:
    """The event stream of one conversation.

    Messages from the store after a cursor, plus live ``typing`` and ``queue_position``
    events, and heartbeat comments.
    """

    def __init__(
        self,
        service: HandoffService,
        bus: EventBus,
        queue: QueuePositions,
        heartbeat_seconds: float,
        poll_seconds: float = STORE_POLL_SECONDS,
    ) -> None:
        self.service, self.bus, self.queue = service, bus, queue
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds

    async def frames(self, conversation_id: str, after_id: int | None) -> AsyncIterator[str]:
        """SSE frames until the consumer stops iterating (the client disconnects)."""
        inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=500)

        def put(item: tuple[str, Any]) -> None:
            with contextlib.suppress(asyncio.QueueFull):  # a stuck client drops live extras
                inbox.put_nowait(item)

        def on_message(event: Event) -> None:
            if event.conversation_id == conversation_id:
                put(("wake", None))

        def on_typing(event: Event) -> None:
            if event.conversation_id == conversation_id and event.data.get("sender") == "agent":
                put(("typing", {"sender": "agent", "typing": bool(event.data.get("typing")),
                                "agent_name": event.data.get("agent_name")}))

        async def on_queue(cid: str, info: dict[str, Any]) -> None:
            if cid == conversation_id:
                put(("queue_position", info))

        self.bus.subscribe(events.MESSAGE_CREATED, on_message)
        self.bus.subscribe(events.TYPING, on_typing)
        self.queue.listen(on_queue)
        try:
            yield "retry: 3000\n\n"
            info = await anyio.to_thread.run_sync(self.queue.info, conversation_id)
            yield sse("queue_position", info)
            cursor, last_write = after_id, time.monotonic()
            while True:
                found: list[StoredMessage] = await anyio.to_thread.run_sync(
                    self.service.history, conversation_id, cursor, PAGE
                )
                for m in found:
                    yield sse("message", client_message(m.to_dict()), m.id)
                    cursor, last_write = m.id, time.monotonic()
                if len(found) == PAGE:
                    continue
                try:
                    kind, data = await asyncio.wait_for(inbox.get(), self.poll_seconds)
                except asyncio.TimeoutError:
                    if time.monotonic() - last_write >= self.heartbeat_seconds:
                        yield ": ping\n\n"
                        last_write = time.monotonic()
                    continue
                if kind != "wake":
                    yield sse(kind, data)
                    last_write = time.monotonic()
        finally:
            self.bus.unsubscribe(events.MESSAGE_CREATED, on_message)
            self.bus.unsubscribe(events.TYPING, on_typing)
            self.queue.unlisten(on_queue)


__all__ = ["PAGE", "STORE_POLL_SECONDS", "EventStream", "client_message", "sse"]
