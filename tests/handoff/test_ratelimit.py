"""Abuse limits: token buckets, the HTTP middleware (429 + Retry-After, 413) and the socket."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from handoff.ratelimit import (
    LimitSettings,
    RateLimited,
    RateLimiter,
    RateSettings,
    TokenBuckets,
    limit_socket_messages,
)
from tier1.http_errors import status_for
from tier1.limits import LimitMiddleware

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_burst_then_refills_at_the_rate():
    clock = Clock()
    buckets = TokenBuckets(RateSettings(per_minute=60, burst=3), 100, clock)
    assert [buckets.take("k") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("k") == pytest.approx(1.0)  # one token per second
    assert buckets.take("other") == 0  # keys are independent
    clock.now += 1.0
    assert buckets.take("k") == 0
    assert buckets.take("k") > 0


def test_least_recently_seen_keys_are_forgotten_first():
    buckets = TokenBuckets(RateSettings(per_minute=1, burst=1), 100, Clock())
    for i in range(150):
        buckets.take(f"k{i}")
    assert len(buckets._buckets) == 100
    assert buckets.take("k0") == 0  # forgotten, so a fresh bucket


def _app(settings: LimitSettings, exempt_tokens: tuple[str, ...] = ()) -> TestClient:
    api = FastAPI()

    @api.post("/echo")
    async def echo(request: Request) -> dict:
        return {"size": len(await request.body())}

    @api.get("/health")
    async def health() -> dict:
        return {"ok": True}

    api.add_middleware(LimitMiddleware, limiter=RateLimiter(settings), exempt_tokens=exempt_tokens)
    return TestClient(api)


def test_http_per_ip_limit_answers_429_with_retry_after():
    client = _app(LimitSettings(per_ip=RateSettings(per_minute=6, burst=2)))
    assert client.post("/echo", content=b"x").status_code == 200
    assert client.post("/echo", content=b"x").status_code == 200
    r = client.post("/echo", content=b"x")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "10"  # 6/min: a token every 10 s
    assert r.json() == {"detail": "Too many requests from this IP address; wait 10 s and try again.",
                        "error": "RateLimited"}
    assert all(client.get("/health").status_code == 200 for _ in range(5))  # probes never limited


def test_http_per_token_limit_is_separate_from_the_ip():
    client = _app(LimitSettings(per_token=RateSettings(per_minute=60, burst=1)))
    a = {"Authorization": "Bearer token-a"}
    assert client.post("/echo", headers=a).status_code == 200
    r = client.post("/echo", headers=a)
    assert r.status_code == 429 and "access token" in r.json()["detail"]
    assert client.post("/echo", headers={"Authorization": "Bearer token-b"}).status_code == 200


def test_the_internal_token_is_not_rate_limited_but_still_size_capped():
    limits = LimitSettings(per_ip=RateSettings(per_minute=6, burst=1),
                           per_token=RateSettings(per_minute=6, burst=1), max_body_bytes=1024)
    client = _app(limits, exempt_tokens=("internal-secret",))
    internal = {"Authorization": "Bearer internal-secret"}
    assert all(client.post("/echo", headers=internal).status_code == 200 for _ in range(20))
    assert client.post("/echo", headers=internal, content=b"x" * 1025).status_code == 413
    other = {"Authorization": "Bearer internal-secret-not"}
    assert client.post("/echo", headers=other).status_code == 200
    assert client.post("/echo", headers=other).status_code == 429


def test_bodies_over_the_cap_get_413_with_or_without_content_length():
    client = _app(LimitSettings(max_body_bytes=2048))
    assert client.post("/echo", content=b"x" * 2048).json() == {"size": 2048}
    r = client.post("/echo", content=b"x" * 2049)
    assert r.status_code == 413 and "larger than 2048 bytes" in r.json()["detail"]

    def chunks():
        for _ in range(5):
            yield b"y" * 1000

    assert client.post("/echo", content=chunks()).status_code == 413
    assert client.post("/echo", content=iter([b"z" * 1000])).json() == {"size": 1000}


def test_limits_can_be_turned_off():
    client = _app(LimitSettings(enabled=False, per_ip=RateSettings(per_minute=1, burst=1)))
    assert [client.post("/echo").status_code for _ in range(5)] == [200] * 5


class FakeSio:
    def __init__(self) -> None:
        self.emitted: list[tuple] = []

    async def get_session(self, sid):
        return {"conversation_id": "conv-1"} if sid != "fresh" else {}

    async def emit(self, event, data, room=None):
        self.emitted.append((event, data, room))


def test_socket_messages_over_the_session_limit_get_an_error_event():
    sio = FakeSio()
    handled = []

    async def handler(sid, data):
        handled.append(data)
        return {"ok": True}

    limiter = RateLimiter(LimitSettings(per_session=RateSettings(per_minute=30, burst=2)), Clock())
    limited = limit_socket_messages(sio, limiter, handler, "conversation_id")

    async def run():
        return [await limited("s1", {"message": str(i)}) for i in range(3)]

    acks = asyncio.run(run())
    assert acks[:2] == [{"ok": True}, {"ok": True}] and len(handled) == 2
    assert acks[2] == {"ok": False, "retry_after": 2,
                       "error": "Too many requests from this session; wait 2 s and try again."}
    assert sio.emitted == [("error", {k: acks[2][k] for k in ("error", "retry_after")}, "s1")]
    # another socket of the same conversation shares its budget
    assert asyncio.run(limited("s2", {"message": "x"}))["ok"] is False


def test_rate_limited_is_a_handoff_error_with_status_429():
    e = RateLimited("session", 0.2)
    assert status_for(e) == 429 and e.retry_after == 1
