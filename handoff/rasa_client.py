"""How the handoff module talks to Rasa: over HTTP only (it never imports rasa).

`RasaClient` is the protocol; `HttpRasaClient` speaks to a real Rasa server (REST channel
plus the HTTP API), `InMemoryRasa` is the in-memory twin for development and tests.

A failure is one of two kinds. `RasaUnreachable`: nothing is serving (connection refused or
broken, or a proxy's 502/503), as while Rasa starts or restarts; trying again may work, and
the service waits for it (handoff.rasa_wait). Any other `RasaUnavailable`: Rasa answered with
an error or did not answer in time, mid-turn; the service apologises at once.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import aiohttp

from handoff.errors import RasaUnavailable

# Requests that may wait on one Rasa server at once (see HttpRasaClient).
MAX_IN_FLIGHT = 16
RESUME_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
# What a proxy in front of Rasa answers while nothing behind it serves (Bad Gateway, Service
# Unavailable). 504 is not here: a gateway timeout is a turn that took too long.
NOT_SERVING = frozenset({502, 503})


class RasaUnreachable(RasaUnavailable):
    """Nothing serves at the Rasa server's address: it is starting, restarting or down.

    ``down_for`` is how long, in seconds, that server has been unreachable without a break
    (since the first failed request after the last one it served).
    """

    default_message = "The Rasa server is not reachable; check that it is running."

    def __init__(self, message: str | None = None, down_for: float = 0.0) -> None:
        super().__init__(message)
        self.down_for = down_for


@runtime_checkable
class RasaClient(Protocol):
    """The dialogue engine as the handoff module needs it."""

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Deliver a user message; return the bot's replies (text, buttons, custom, image...).

        Raises:
            RasaUnreachable: nothing serves at the engine's address (starting, restarting,
                down); the same call may work later.
            RasaUnavailable: the engine timed out or failed on this message.
        """
        ...

    async def resume(self, conversation_id: str) -> None:
        """Un-pause the conversation's tracker so the bot answers again.

        Raises:
            RasaUnavailable: as for `send`.
        """
        ...

    async def healthy(self) -> bool:
        """True when the engine answers; never raises."""
        ...

    async def aclose(self) -> None:
        """Release connections; the client is unusable afterwards."""
        ...


class HttpRasaClient:
    """Rasa 3.x servers: REST channel webhook for messages, HTTP API (``?token=``) for events.

    With several servers (``base_url`` a list, e.g. one Rasa process per core), a conversation
    always goes to the same one, chosen by a stable hash of its id: its turns and its resume
    stay in order on one server, so Rasa's in-process lock store is enough.

    At most ``max_in_flight`` requests wait on one server at a time; the rest wait here. A Rasa
    server handles messages on one event loop, so more concurrent requests add no throughput,
    only interleaving (every turn gets slower) and connections. The client is aiohttp's (Rasa's
    own): httpx's connection-pool bookkeeping was 15-17 % of the app's CPU at 100 users
    (BENCHMARKS.md). Its session is made on first use, inside the running event loop.

    Each server's outage is timed (`RasaUnreachable.down_for`) from its first unreachable
    request; any answer from it ends the outage.
    """

    def __init__(
        self,
        base_url: str | Sequence[str],
        token: str,
        timeout_seconds: float,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("HttpRasaClient needs at least one Rasa base URL")
        self._bases = [u.rstrip("/") for u in urls]
        self._token = token
        self._max_in_flight = max_in_flight
        self._in_flight: dict[str, asyncio.Semaphore] = {}
        self._timeout = timeout_seconds
        self._session: aiohttp.ClientSession | None = None
        self._unreachable_since: dict[str, float] = {}

    def base_for(self, conversation_id: str) -> str:
        """The Rasa server that handles ``conversation_id`` (always the same one)."""
        return self._bases[zlib.crc32(conversation_id.encode("utf-8")) % len(self._bases)]

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Post the message to the REST channel webhook; return Rasa's replies."""
        body = {"sender": conversation_id, "message": text, "metadata": metadata or {}}
        raw = await self._request(
            "POST", "/webhooks/rest/webhook", base=self.base_for(conversation_id), json=body
        )
        try:
            replies = json.loads(raw)
        except ValueError as e:
            raise RasaUnavailable(
                "Rasa answered the webhook with something that is not JSON; check the Rasa log."
            ) from e
        if not isinstance(replies, list):
            raise RasaUnavailable(
                "Rasa answered the webhook with something that is not a list of messages; "
                "check that the REST channel (rest:) is enabled in credentials.yml."
            )
        return [r for r in replies if isinstance(r, dict)]

    async def resume(self, conversation_id: str) -> None:
        """Append ``resume`` and ``action_listen`` to the conversation's tracker."""
        await self._request(
            "POST",
            f"/conversations/{quote(conversation_id, safe='')}/tracker/events",
            base=self.base_for(conversation_id),
            params={"token": self._token},
            json=RESUME_EVENTS,
        )

    async def healthy(self) -> bool:
        """True when every Rasa server answers ``GET /status``; never raises."""
        try:
            for base in self._bases:
                await self._request("GET", "/status", base=base, params={"token": self._token})
        except RasaUnavailable:
            return False
        return True

    async def aclose(self) -> None:
        """Close the HTTP session (a later request would open a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_in_flight * len(self._bases) + 4)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def _request(self, method: str, path: str, *, base: str, **kwargs: Any) -> bytes:
        gate = self._in_flight.get(base)
        if gate is None:  # made lazily: a semaphore belongs to the loop that first uses it
            gate = self._in_flight[base] = asyncio.Semaphore(self._max_in_flight)
        started = time.monotonic()
        try:
            await asyncio.wait_for(gate.acquire(), self._timeout)
        except asyncio.TimeoutError as e:
            raise RasaUnavailable(
                f"Rasa did not take {method} {path} in time: {self._max_in_flight} requests were "
                "already waiting on it. It is overloaded: add Rasa processes "
                "(server.rasa_processes) or raise handoff.rasa_timeout_seconds."
            ) from e
        # The wait for a place counts against the same timeout as the request itself.
        remaining = max(0.001, self._timeout - (time.monotonic() - started))
        try:
            async with self._client().request(
                method,
                base + path,
                timeout=aiohttp.ClientTimeout(total=remaining),
                **kwargs,
            ) as response:
                status, body = response.status, await response.read()
        except asyncio.TimeoutError as e:
            raise RasaUnavailable(
                f"Rasa did not answer {method} {path} in time; check that it is running and "
                "not overloaded, or raise handoff.rasa_timeout_seconds."
            ) from e
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as e:
            # Refused, reset or cut off mid-response: nothing is serving (any more) at base.
            raise self._unreachable(
                base, f"Could not reach Rasa for {method} {path} ({type(e).__name__}); check "
                "that the Rasa server is running on the configured port."
            ) from e
        except aiohttp.ClientError as e:
            raise RasaUnavailable(
                f"Rasa failed {method} {path} ({type(e).__name__}: {e}); check the Rasa log."
            ) from e
        finally:
            gate.release()
        if status in NOT_SERVING:
            raise self._unreachable(
                base, f"Rasa is not serving {method} {path} (HTTP {status} from {base}); check "
                "that the Rasa server behind it is running."
            )
        self._unreachable_since.pop(base, None)
        if status in (401, 403):
            raise RasaUnavailable(
                f"Rasa refused {method} {path} (HTTP {status}); check that "
                "TIER1_RASA_TOKEN matches Rasa's --auth-token."
            )
        if status >= 400:
            raise RasaUnavailable(
                f"Rasa failed {method} {path} with HTTP {status}; check the Rasa log."
            )
        return body

    def _unreachable(self, base: str, message: str) -> RasaUnreachable:
        now = time.monotonic()
        since = self._unreachable_since.setdefault(base, now)
        return RasaUnreachable(message, down_for=now - since)


Responder = Callable[[str, str, dict[str, Any]], list[dict[str, Any]]]


class InMemoryRasa:
    """A scripted stand-in for Rasa that records what it was asked.

    Replies come from ``responder(conversation_id, text, metadata)``, by default an echo.
    Set ``available = False`` to make every call raise `RasaUnavailable`, as a failing or hung
    server would; set ``reachable = False`` to make every call raise `RasaUnreachable`, as a
    server that is down or still starting would (``down_for`` counts from that moment).
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or (
            lambda _cid, text, _md: [{"text": f"echo: {text}"}]
        )
        self.available = True
        self._down_since: float | None = None
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.resumed: list[str] = []
        self.closed = False

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Record the message; return the responder's replies."""
        self._check()
        self.sent.append((conversation_id, text, dict(metadata or {})))
        return list(self.responder(conversation_id, text, dict(metadata or {})))

    async def resume(self, conversation_id: str) -> None:
        """Record the resume in ``resumed``."""
        self._check()
        self.resumed.append(conversation_id)

    @property
    def reachable(self) -> bool:
        """False while simulating a server that is down or starting; settable."""
        return self._down_since is None

    @reachable.setter
    def reachable(self, value: bool) -> None:
        if value:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = time.monotonic()

    async def healthy(self) -> bool:
        """True unless set unavailable or unreachable."""
        return self.available and self.reachable

    async def aclose(self) -> None:
        """Mark the client closed (``closed``); nothing to release."""
        self.closed = True

    def _check(self) -> None:
        if self._down_since is not None:
            raise RasaUnreachable(
                "InMemoryRasa is set unreachable (simulated start-up or restart).",
                down_for=time.monotonic() - self._down_since,
            )
        if not self.available:
            raise RasaUnavailable("InMemoryRasa is set unavailable (simulated outage).")


__all__ = [
    "NOT_SERVING",
    "RESUME_EVENTS",
    "HttpRasaClient",
    "InMemoryRasa",
    "RasaClient",
    "RasaUnreachable",
]
