"""HTTP abuse limits as a pure ASGI middleware: 429 (with Retry-After) and 413.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware`` so streamed responses (the SSE chat
API) pass through untouched. The socket.io path never reaches FastAPI's middleware; the
widget socket is limited per conversation in the gateway (``handoff.ratelimit``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from handoff.ratelimit import BodyTooLarge, RateLimited, RateLimiter
from tier1.http_errors import headers_for, status_for

# Probes from load balancers, the supervisor and Prometheus must never be refused.
UNLIMITED_PATHS = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})


class LimitMiddleware:
    """Refuse requests over the per-IP / per-token rate or with a body over the size cap.

    Requests with an ``exempt_tokens`` bearer (the internal token: the action server asking the
    knowledge base once per user message) skip the rate limits: their volume is the users'
    messages, already limited per conversation, and limiting them would turn load into "the
    knowledge base is unavailable" answers. The body-size cap still applies.
    """

    def __init__(self, app: Any, limiter: RateLimiter, exempt_tokens: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limiter = limiter
        self._exempt = frozenset(_token_key({"authorization": f"Bearer {t}".encode()})
                                 for t in exempt_tokens)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Pass an HTTP request on to the app, or answer 429 / 413 instead."""
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        client = scope.get("client")
        token_key = _token_key(headers)
        try:
            if token_key is None or token_key not in self._exempt:
                self.limiter.check_http(client[0] if client else None, token_key)
            length = headers.get("content-length")
            if length is not None and _too_long(length, self.limiter.max_body_bytes):
                raise BodyTooLarge(self.limiter.max_body_bytes)
            if length is None and scope.get("method") in ("POST", "PUT", "PATCH"):
                receive = await _buffered(receive, self.limiter.max_body_bytes)
        except (RateLimited, BodyTooLarge) as e:
            await _refuse(send, e)
            return
        await self.app(scope, receive, send)


def _token_key(headers: dict[str, bytes]) -> str | None:
    """A stable, non-reversible key for the bearer token (never keep the token itself)."""
    auth = headers.get("authorization")
    if not auth:
        return None
    return hashlib.sha256(auth).hexdigest()[:24]


def _too_long(length: bytes, limit: int) -> bool:
    try:
        return int(length) > limit
    except ValueError:
        return False  # the server rejects a malformed Content-Length itself


async def _buffered(receive: Any, limit: int) -> Any:
    """Read a chunked body up to ``limit`` bytes, then replay it to the app."""
    messages = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit:
            raise BodyTooLarge(limit)
        if not message.get("more_body", False):
            break

    async def replay() -> dict:
        return messages.pop(0) if messages else await receive()

    return replay


async def _refuse(send: Any, error: RateLimited | BodyTooLarge) -> None:
    body = json.dumps({"detail": str(error), "error": type(error).__name__}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    status = status_for(error)
    extra = headers_for(error, status) or {}
    headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
    if not isinstance(error, RateLimited):
        headers.append((b"connection", b"close"))  # the unread body must not be parsed as a request
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["UNLIMITED_PATHS", "LimitMiddleware"]
