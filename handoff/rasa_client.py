"""How the handoff module talks to Rasa: over HTTP only (it never imports rasa).

`RasaClient` is the protocol; `HttpRasaClient` speaks to a real Rasa server (REST channel
plus the HTTP API), `InMemoryRasa` is the in-memory twin for development and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import httpx

from handoff.errors import RasaUnavailable

RESUME_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]


@runtime_checkable
class RasaClient(Protocol):
    """The dialogue engine as the handoff module needs it."""

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Deliver a user message; return the bot's replies (text, buttons, custom, image...).

        Raises:
            RasaUnavailable: the engine could not be reached, timed out or failed.
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
    """A Rasa 3.x server: REST channel webhook for messages, HTTP API (``?token=``) for events."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout_seconds: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_seconds, transport=transport
        )

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        body = {"sender": conversation_id, "message": text, "metadata": metadata or {}}
        response = await self._request("POST", "/webhooks/rest/webhook", json=body)
        try:
            replies = response.json()
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
        await self._request(
            "POST",
            f"/conversations/{conversation_id}/tracker/events",
            params={"token": self._token},
            json=RESUME_EVENTS,
        )

    async def healthy(self) -> bool:
        try:
            await self._request("GET", "/status", params={"token": self._token})
        except RasaUnavailable:
            return False
        return True

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as e:
            raise RasaUnavailable(
                f"Rasa did not answer {method} {path} in time; check that it is running and "
                "not overloaded, or raise handoff.rasa_timeout_seconds."
            ) from e
        except httpx.HTTPError as e:
            raise RasaUnavailable(
                f"Could not reach Rasa for {method} {path} ({type(e).__name__}); check that "
                "the Rasa server is running on the configured port."
            ) from e
        if response.status_code in (401, 403):
            raise RasaUnavailable(
                f"Rasa refused {method} {path} (HTTP {response.status_code}); check that "
                "TIER1_RASA_TOKEN matches Rasa's --auth-token."
            )
        if response.status_code >= 400:
            raise RasaUnavailable(
                f"Rasa failed {method} {path} with HTTP {response.status_code}; check the Rasa log."
            )
        return response


Responder = Callable[[str, str, dict[str, Any]], list[dict[str, Any]]]


class InMemoryRasa:
    """A scripted stand-in for Rasa that records what it was asked.

    Replies come from ``responder(conversation_id, text, metadata)``, by default an echo.
    Set ``available = False`` to make every call raise `RasaUnavailable`, as a dead server would.
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or (
            lambda _cid, text, _md: [{"text": f"echo: {text}"}]
        )
        self.available = True
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.resumed: list[str] = []
        self.closed = False

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self._check()
        self.sent.append((conversation_id, text, dict(metadata or {})))
        return list(self.responder(conversation_id, text, dict(metadata or {})))

    async def resume(self, conversation_id: str) -> None:
        self._check()
        self.resumed.append(conversation_id)

    async def healthy(self) -> bool:
        return self.available

    async def aclose(self) -> None:
        self.closed = True

    def _check(self) -> None:
        if not self.available:
            raise RasaUnavailable("InMemoryRasa is set unavailable (simulated outage).")


__all__ = ["RESUME_EVENTS", "HttpRasaClient", "InMemoryRasa", "RasaClient"]
