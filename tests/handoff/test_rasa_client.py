"""HttpRasaClient against a mock transport; InMemoryRasa as the protocol's twin."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from handoff.errors import RasaUnavailable
from handoff.rasa_client import RESUME_EVENTS, HttpRasaClient, InMemoryRasa, RasaClient

pytestmark = pytest.mark.unit


def client_for(handler) -> HttpRasaClient:
    return HttpRasaClient(
        "http://rasa:5005/", "rasa-token", 3.0, transport=httpx.MockTransport(handler)
    )


def run(coro):
    return asyncio.run(coro)


def test_send_posts_to_the_rest_webhook_and_returns_bot_messages():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json=[
                {"recipient_id": "c1", "text": "Hi!"},
                {
                    "recipient_id": "c1",
                    "text": "Pick",
                    "buttons": [{"title": "A", "payload": "/a"}],
                },
                "junk",
            ],
        )

    async def go():
        rasa = client_for(handler)
        try:
            return await rasa.send("c1", "hello", {"lang": "en"})
        finally:
            await rasa.aclose()

    replies = run(go())
    assert [r["text"] for r in replies] == ["Hi!", "Pick"]
    [request] = seen
    assert request.method == "POST" and request.url.path == "/webhooks/rest/webhook"
    assert json.loads(request.content) == {
        "sender": "c1",
        "message": "hello",
        "metadata": {"lang": "en"},
    }


def test_resume_posts_resume_and_action_listen_with_the_token():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"events": []})

    run(client_for(handler).resume("c 1"))
    [request] = seen
    assert request.url.path == "/conversations/c 1/tracker/events"
    assert request.url.params["token"] == "rasa-token"
    assert (
        json.loads(request.content)
        == RESUME_EVENTS
        == [
            {"event": "resume"},
            {"event": "action", "name": "action_listen"},
        ]
    )


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (httpx.ConnectError("refused"), "Could not reach Rasa"),
        (httpx.ReadTimeout("slow"), "in time"),
        (httpx.Response(500, text="boom"), "HTTP 500"),
        (httpx.Response(401), "TIER1_RASA_TOKEN"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json={"not": "a list"}), "not a list"),
    ],
)
def test_every_failure_is_rasa_unavailable_with_the_cause_chained(failure, message):
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    with pytest.raises(RasaUnavailable, match=message) as info:
        run(client_for(handler).send("c1", "hi"))
    if isinstance(failure, Exception):
        assert isinstance(info.value.__cause__, httpx.HTTPError)
    assert info.value.http_status == 503


def test_healthy_reports_instead_of_raising():
    assert run(client_for(lambda r: httpx.Response(200, json={})).healthy()) is True
    assert run(client_for(lambda r: httpx.Response(503)).healthy()) is False

    def down(request):
        raise httpx.ConnectError("refused")

    assert run(client_for(down).healthy()) is False


def test_in_memory_twin_records_and_fails_on_demand():
    rasa = InMemoryRasa(lambda cid, text, md: [{"text": text.upper()}])
    assert isinstance(rasa, RasaClient) and isinstance(client_for(lambda r: None), RasaClient)
    assert run(rasa.send("c1", "hi", {"k": 1})) == [{"text": "HI"}]
    run(rasa.resume("c1"))
    assert rasa.sent == [("c1", "hi", {"k": 1})] and rasa.resumed == ["c1"]
    rasa.available = False
    with pytest.raises(RasaUnavailable):
        run(rasa.send("c1", "hi"))
    assert run(rasa.healthy()) is False


def test_several_servers_each_conversation_always_goes_to_the_same_one():
    hits: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tracker/events"):
            hits.append((request.url.host, request.url.path.split("/")[2]))
            return httpx.Response(200, json={})
        hits.append((request.url.host, json.loads(request.content)["sender"]))
        return httpx.Response(200, json=[{"text": "ok"}])

    client = HttpRasaClient(["http://rasa-a:5005", "http://rasa-b:5006/"], "t", 3.0,
                            transport=httpx.MockTransport(handler))
    conversations = [f"conversation-{i}" for i in range(40)]
    for cid in conversations:
        run(client.send(cid, "hi"))
        run(client.resume(cid))
        run(client.send(cid, "again"))
    host_of: dict[str, set[str]] = {}
    for host, cid in hits:
        host_of.setdefault(cid, set()).add(host)
    assert all(len(hosts) == 1 for hosts in host_of.values())  # turns and resume stay together
    used = {next(iter(h)) for h in host_of.values()}
    assert used == {"rasa-a", "rasa-b"}  # and conversations are spread over both
    assert client.base_for("conversation-1") == client.base_for("conversation-1")


def test_healthy_needs_every_server():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.host == "rasa-a" else 500, json={})

    client = HttpRasaClient(["http://rasa-a:5005", "http://rasa-b:5006"], "t", 3.0,
                            transport=httpx.MockTransport(handler))
    assert run(client.healthy()) is False
    with pytest.raises(ValueError, match="at least one"):
        HttpRasaClient([], "t", 3.0)
