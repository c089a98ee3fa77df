"""Outgoing webhooks against a local HTTP receiver: signed, retried with backoff, off the
user's path."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from argon2 import PasswordHasher

from handoff import HandoffSettings, InMemoryRasa, build_handoff
from handoff.webhooks import SIGNATURE_HEADER

pytestmark = pytest.mark.integration  # a real HTTP receiver on a socket

SECRET = "webhook-secret-0123456789"


class Receiver:
    """Answers each POST with the next scripted status (then 200) and records it."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.received: list[tuple[dict, bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.script.pop(0) if receiver.script else 200
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def build(engine, receiver, **webhooks):
    settings = HandoffSettings(
        webhooks={"urls": [receiver.url], "initial_backoff_seconds": 0.01, **webhooks}
    )
    handoff = build_handoff(
        settings, engine, jwt_secret="j" * 32, internal_token="i" * 32, rasa_url="http://x",
        rasa_token="r", cors_origins=["*"], rasa=InMemoryRasa(), webhook_secret=SECRET,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    handoff.start()
    return handoff


def test_lifecycle_events_are_signed_and_delivered(engine, receiver):
    handoff = build(engine, receiver)
    ana = handoff.create_agent("ana@example.com", "password123", display_name="Ana")
    receiver.script = [500, 503]  # the first delivery needs three tries

    async def scenario():
        s, d = handoff.service, handoff.desk
        conv = s.open_conversation(None, {})
        await s.request_handoff(conv.id, "request_human")
        await d.claim(conv.id, ana)
        await d.resolve(conv.id, ana)
        other = s.open_conversation(None, {})
        await s.request_handoff(other.id, "low_confidence")
        await d.handback(other.id, ana)
        await handoff.webhooks.drain()
        return conv.id, other.id

    conv_id, other_id = asyncio.run(scenario())
    delivered = [(json.loads(body), headers) for headers, body, status in receiver.received
                 if status == 200]
    assert len(receiver.received) == len(delivered) + 2  # two failed tries, then success
    assert sorted((b["event"], b["conversation_id"]) for b, _ in delivered) == sorted([
        ("queued", conv_id), ("assigned", conv_id), ("resolved", conv_id),
        ("queued", other_id), ("handed_back", other_id),
    ])
    for headers, body, _ in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers[SIGNATURE_HEADER] == expected
        assert headers["X-Tier1-Event"] == json.loads(body)["event"]
    assigned = next(b for b, _ in delivered if b["event"] == "assigned")
    assert assigned["data"]["assignee_id"] == ana.id and assigned["data"]["to"] == "assigned"


def test_gives_up_after_max_attempts_and_never_blocks_the_caller(engine, receiver):
    handoff = build(engine, receiver, max_attempts=3, initial_backoff_seconds=0.2)
    receiver.script = [500] * 10

    async def scenario():
        conv = handoff.service.open_conversation(None, {})
        loop = asyncio.get_running_loop()
        started = loop.time()
        await handoff.service.request_handoff(conv.id, "request_human")
        took = loop.time() - started
        await handoff.webhooks.drain()
        return took

    took = asyncio.run(scenario())
    assert took < 0.2  # the backoff (0.2 s + 0.4 s) ran in the background
    assert [status for _, _, status in receiver.received] == [500, 500, 500]


def test_a_4xx_is_final_and_urls_need_a_secret(engine, receiver):
    handoff = build(engine, receiver)
    receiver.script = [410]

    async def scenario():
        conv = handoff.service.open_conversation(None, {})
        await handoff.service.request_handoff(conv.id, "request_human")
        await handoff.webhooks.drain()

    asyncio.run(scenario())
    assert [status for _, _, status in receiver.received] == [410]
    with pytest.raises(ValueError, match="TIER1_WEBHOOK_SECRET"):
        build_handoff(
            HandoffSettings(webhooks={"urls": [receiver.url]}), engine, jwt_secret="j" * 32,
            internal_token="i" * 32, rasa_url="http://x", rasa_token="r", cors_origins=["*"],
        )
