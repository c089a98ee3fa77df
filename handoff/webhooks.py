"""Outgoing webhooks: handoff lifecycle events POSTed to external helpdesks, signed.

Each delivery is a JSON body ``{"id", "event", "conversation_id", "occurred_at", "data"}``
with headers ``X-Tier1-Event`` and ``X-Tier1-Signature: sha256=<hex HMAC-SHA256 of the raw
body with the webhook secret>``. Deliveries run in background tasks (never on the user's
path) and are retried with exponential backoff on network errors and 5xx/429 answers, up to
``max_attempts`` tries; a 4xx other than 429 is final.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid

import httpx

from handoff import events
from handoff.events import Event, EventBus
from handoff.models import utcnow
from handoff.settings import WebhookSettings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Tier1-Signature"
EVENT_HEADER = "X-Tier1-Event"

# Bus event -> the public lifecycle name receivers see.
LIFECYCLE = {
    events.HANDOFF_REQUESTED: "queued",
    events.REQUEUED: "queued",
    events.ASSIGNED: "assigned",
    events.TRANSFERRED: "assigned",
    events.RESOLVED: "resolved",
    events.HANDED_BACK: "handed_back",
    events.TICKET_OPENED: "offline_ticket",  # data: ticket_id, email, message, reason
}


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """Subscribes to the bus and delivers lifecycle events to every configured URL."""

    def __init__(
        self,
        settings: WebhookSettings,
        secret: str | None,
        bus: EventBus,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep=asyncio.sleep,
    ) -> None:
        if settings.urls and not secret:
            raise ValueError(
                "handoff.webhooks.urls is set but no webhook secret was given; set "
                "TIER1_WEBHOOK_SECRET (receivers verify the X-Tier1-Signature header with it)"
            )
        self.settings = settings
        self._secret = secret or ""
        self._transport = transport
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        if settings.urls:
            for name in LIFECYCLE:
                bus.subscribe(name, self.on_event)

    def on_event(self, event: Event) -> None:
        """Schedule deliveries of ``event`` (returns at once)."""
        body = json.dumps(
            {
                "id": uuid.uuid4().hex,
                "event": LIFECYCLE[event.name],
                "conversation_id": event.conversation_id,
                "occurred_at": utcnow().isoformat(),
                "data": event.data,
            },
            separators=(",", ":"),
            default=str,
        ).encode()
        for url in self.settings.urls:
            task = asyncio.get_running_loop().create_task(
                self.deliver(str(url), LIFECYCLE[event.name], body)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def deliver(self, url: str, name: str, body: bytes) -> bool:
        """POST ``body`` to ``url`` with retries; True once a receiver answered 2xx."""
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: name,
            SIGNATURE_HEADER: sign(self._secret, body),
        }
        delay = self.settings.initial_backoff_seconds
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                r = await self._http().post(url, content=body, headers=headers)
                if r.is_success:
                    return True
                if r.status_code < 500 and r.status_code != 429:
                    log.warning("webhook %s refused %s (HTTP %s); not retrying", url, name,
                                r.status_code)
                    return False
                problem = f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                problem = f"{type(e).__name__}: {e}"
            if attempt < self.settings.max_attempts:
                log.info("webhook %s attempt %d failed (%s); retrying in %.1fs", url, attempt,
                         problem, delay)
                await self._sleep(delay)
                delay *= 2
        log.warning("webhook %s gave up on %s after %d attempts", url, name,
                    self.settings.max_attempts)
        return False

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait briefly for deliveries in flight, cancel the rest, close the client."""
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.timeout_seconds, transport=self._transport
            )
        return self._client


__all__ = ["EVENT_HEADER", "LIFECYCLE", "SIGNATURE_HEADER", "WebhookNotifier", "sign"]
