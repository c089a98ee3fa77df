"""Abuse limits: token buckets per client IP and per session, and the body-size cap.

`RateLimiter` is the policy (which key, which rate, what to tell the client); the buckets
live in this process's memory. Each app replica therefore enforces the limits on the
traffic it receives: behind a sticky load balancer a session stays on one replica, so the
per-session limit holds exactly and the per-IP limit is at most N x the configured one.

Used in two places: the app's HTTP middleware (``tier1.app``: 429 with ``Retry-After``, 413
for bodies over ``max_body_bytes``) and the widget socket (the gateway calls
`RateLimiter.check_socket` before storing a ``user_uttered``; on refusal it emits an
``error`` event instead).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache
from pydantic import BaseModel, Field

from handoff.errors import HandoffError


class RateSettings(BaseModel):
    """``per_minute`` requests on average, up to ``burst`` at once."""

    class Config:
        """Pydantic options: unknown fields are errors; values are read-only."""

        extra = "forbid"
        allow_mutation = False

    per_minute: float = Field(..., gt=0)
    burst: int = Field(..., ge=1)


class LimitSettings(BaseModel):
    """The ``limits:`` section of config.yml."""

    class Config:
        """Pydantic options: unknown fields are errors; values are read-only."""

        extra = "forbid"
        allow_mutation = False

    enabled: bool = True
    # Every HTTP request to the app (not the socket), by client IP.
    per_ip: RateSettings = RateSettings(per_minute=3000, burst=1000)
    # HTTP requests carrying the same bearer token (an agent's console, a REST chat client).
    per_token: RateSettings = RateSettings(per_minute=1200, burst=400)
    # Messages sent on one widget conversation (socket.io ``user_uttered``).
    per_session: RateSettings = RateSettings(per_minute=60, burst=20)
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)  # larger HTTP bodies -> 413
    max_tracked_keys: int = Field(100_000, ge=100)  # memory bound: least recently seen go first


class RateLimited(HandoffError):
    """Too many requests from one IP or session; ``retry_after`` says for how long (s)."""

    def __init__(self, scope: str, retry_after: float) -> None:
        self.scope = scope
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"Too many requests from this {scope}; wait {self.retry_after} s and try again."
        )


class BodyTooLarge(HandoffError):
    """The request body is larger than ``limits.max_body_bytes``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"The request body is larger than {limit} bytes; send less (split an import into "
            "several files)."
        )


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Token buckets by key, at one rate; the least recently used keys are forgotten first."""

    def __init__(
        self, rate: RateSettings, max_keys: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_second = rate.per_minute / 60.0
        self._burst = float(rate.burst)
        self._clock = clock
        self._buckets: LRUCache[str, _Bucket] = LRUCache(max_keys)
        self._lock = threading.Lock()  # the middleware may run in several threads

    def take(self, key: str) -> float:
        """Take one token for ``key``; return 0 if allowed, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self._burst, now)
            else:
                bucket.tokens = min(
                    self._burst, bucket.tokens + (now - bucket.stamp) * self._per_second
                )
                bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self._per_second


class RateLimiter:
    """The configured limits, checked per IP and per session."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._ip = TokenBuckets(settings.per_ip, settings.max_tracked_keys, clock)
        self._token = TokenBuckets(settings.per_token, settings.max_tracked_keys, clock)
        self._session = TokenBuckets(settings.per_session, settings.max_tracked_keys, clock)

    @property
    def max_body_bytes(self) -> int:
        """The largest HTTP request body allowed (``limits.max_body_bytes``)."""
        return self.settings.max_body_bytes

    def check_http(self, ip: str | None, token_key: str | None) -> None:
        """One HTTP request from ``ip`` carrying ``token_key`` (a bearer token's hash).

        Raises:
            RateLimited: either limit is exhausted (``retry_after`` says for how long).
        """
        if not self.settings.enabled:
            return
        wait = self._ip.take(f"ip:{ip or 'unknown'}")
        if wait:
            raise RateLimited("IP address", wait)
        if token_key:
            wait = self._token.take(f"t:{token_key}")
            if wait:
                raise RateLimited("access token", wait)

    def check_socket(self, conversation_id: str) -> None:
        """One message on the widget socket for ``conversation_id``.

        The gateway calls this in ``on_user_uttered`` before storing the message and, on
        `RateLimited`, rejects it (ack ``{"ok": false, "error"}`` + an ``error`` event).

        Raises:
            RateLimited: the conversation sends faster than ``per_session`` allows.
        """
        if not self.settings.enabled:
            return
        wait = self._session.take(f"s:{conversation_id}")
        if wait:
            raise RateLimited("session", wait)


def limit_socket_messages(sio, limiter: RateLimiter, handler, session_key: str):
    """Wrap a socket handler ``(sid, data)`` so it runs only within the per-session limit.

    The conversation id is read from the socket's session (``session_key``); a socket with
    no session yet is limited by its socket id. Over the limit the handler does not run: the
    client gets an ``error`` event ``{error, retry_after}`` and the ack ``{"ok": false,
    "error", "retry_after"}`` (nothing was stored, so the client may resend later).
    """

    async def limited(sid: str, data=None):
        key = (await sio.get_session(sid)).get(session_key) or f"sid:{sid}"
        try:
            limiter.check_socket(key)
        except RateLimited as e:
            error = {"error": str(e), "retry_after": e.retry_after}
            await sio.emit("error", error, room=sid)
            return {"ok": False, **error}
        return await handler(sid, data)

    return limited


def socket_ip(sio, sid: str) -> str | None:
    """The client address of a socket (from its ASGI scope), or None if unknown."""
    scope = (sio.get_environ(sid) or {}).get("asgi.scope") or {}
    client = scope.get("client")
    return client[0] if client else None


def limit_socket_ip(sio, limiter: RateLimiter, handler):
    """Wrap a socket handler ``(sid, data)`` so each event counts against its IP's limit.

    The limit is ``per_ip``, the same budget as that IP's HTTP requests. Without it a
    script could emit ``session_request`` in a loop and open conversations without end.
    Over the limit: an ``error`` event and the ack ``{"ok": false, "error",
    "retry_after"}``; the handler does not run.
    """

    async def limited(sid: str, data=None):
        try:
            limiter.check_http(socket_ip(sio, sid), None)
        except RateLimited as e:
            error = {"error": str(e), "retry_after": e.retry_after}
            await sio.emit("error", error, room=sid)
            return {"ok": False, **error}
        return await handler(sid, data)

    return limited


__all__ = [
    "BodyTooLarge",
    "LimitSettings",
    "RateLimited",
    "RateLimiter",
    "RateSettings",
    "TokenBuckets",
    "limit_socket_ip",
    "limit_socket_messages",
    "socket_ip",
]
