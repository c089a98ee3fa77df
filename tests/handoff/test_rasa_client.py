"""HttpRasaClient against real local HTTP servers and sockets; InMemoryRasa as the protocol's twin."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from handoff.errors import RasaUnavailable
from handoff.rasa_client import (
    RESUME_EVENTS,
    HttpRasaClient,
    InMemoryRasa,
    RasaClient,
    RasaUnreachable,
)
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit


def run(coro):
    return asyncio.run(coro)


Seen = list[tuple[str, str, str, dict, object]]  # method, path, port, query, JSON body


async def _serve(responder: Callable[[web.Request], Awaitable[web.StreamResponse]], seen: Seen):
    async def handler(request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.text()) if request.can_read_body else None
        port = str(request.transport.get_extra_info("sockname")[1])
        seen.append((request.method, request.path, port, dict(request.query),
                     body))
        return await responder(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def call(responder, use, seen: Seen | None = None, servers: int = 1, timeout: float = 3.0):
    """Run ``use(client)`` against ``servers`` real local HTTP servers answering ``responder``."""
    seen = seen if seen is not None else []

    async def go():
        running = [await _serve(responder, seen) for _ in range(servers)]
        client = HttpRasaClient([str(s.make_url("/")) for s in running], "rasa-token", timeout)
        try:
            return await use(client)
        finally:
            await client.aclose()
            for s in running:
                await s.close()

    return asyncio.run(go())


def reply(status: int = 200, **kwargs):
    async def respond(_request):
        return web.json_response(status=status, **kwargs) if "data" in kwargs else web.Response(
            status=status, **kwargs)

    return respond


def test_send_posts_to_the_rest_webhook_and_returns_bot_messages():
    seen: Seen = []
    replies = call(
        reply(data=[{"recipient_id": "c1", "text": "Hi!"},
                    {"recipient_id": "c1", "text": "Pick",
                     "buttons": [{"title": "A", "payload": "/a"}]},
                    "junk"]),
        lambda rasa: rasa.send("c1", "hello", {"lang": "en"}),
        seen,
    )
    assert [r["text"] for r in replies] == ["Hi!", "Pick"]
    [(method, path, _port, _query, body)] = seen
    assert method == "POST" and path == "/webhooks/rest/webhook"
    assert body == {"sender": "c1", "message": "hello", "metadata": {"lang": "en"}}


def test_resume_posts_resume_and_action_listen_with_the_token():
    seen: Seen = []
    call(reply(data={"events": []}), lambda rasa: rasa.resume("c 1/x"), seen)
    [(method, path, _port, query, body)] = seen
    assert method == "POST" and path == "/conversations/c 1/x/tracker/events"
    assert query == {"token": "rasa-token"}
    assert body == RESUME_EVENTS == [
        {"event": "resume"},
        {"event": "action", "name": "action_listen"},
    ]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _slow(_request):
    await asyncio.sleep(2)
    return web.json_response([])


@pytest.mark.parametrize(
    ("responder", "message"),
    [
        (_slow, "in time"),
        (reply(500, text="boom"), "HTTP 500"),
        (reply(401), "TIER1_RASA_TOKEN"),
        (reply(text="<html>"), "not JSON"),
        (reply(data={"not": "a list"}), "not a list"),
    ],
)
def test_every_failure_is_rasa_unavailable(responder, message):
    with pytest.raises(RasaUnavailable, match=message) as info:
        call(responder, lambda rasa: rasa.send("c1", "hi"), timeout=0.3)
    assert status_for(info.value) == 503
    if responder is _slow:
        assert isinstance(info.value.__cause__, asyncio.TimeoutError)


def test_an_unreachable_server_is_rasa_unavailable_with_the_cause_chained():
    async def go():
        client = HttpRasaClient(f"http://127.0.0.1:{_closed_port()}", "t", 3.0)
        try:
            await client.send("c1", "hi")
        finally:
            await client.aclose()

    with pytest.raises(RasaUnavailable, match="Could not reach Rasa") as info:
        asyncio.run(go())
    assert isinstance(info.value.__cause__, aiohttp.ClientError)


def test_healthy_reports_instead_of_raising():
    assert call(reply(data={}), lambda rasa: rasa.healthy()) is True
    assert call(reply(503), lambda rasa: rasa.healthy()) is False

    async def down():
        client = HttpRasaClient(f"http://127.0.0.1:{_closed_port()}", "t", 1.0)
        try:
            return await client.healthy()
        finally:
            await client.aclose()

    assert asyncio.run(down()) is False


def test_requests_in_flight_on_one_server_are_bounded():
    active, peak = 0, 0

    async def counting(_request):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1
        return web.json_response([{"text": "ok"}])

    async def many(rasa):
        rasa._max_in_flight = 3
        return await asyncio.gather(*(rasa.send("same", f"m{i}") for i in range(12)))

    results = call(counting, many)
    assert len(results) == 12 and peak == 3


def test_in_memory_twin_records_and_fails_on_demand():
    rasa = InMemoryRasa(lambda cid, text, md: [{"text": text.upper()}])
    assert isinstance(rasa, RasaClient)
    assert isinstance(HttpRasaClient("http://rasa:5005", "t", 1.0), RasaClient)
    assert run(rasa.send("c1", "hi", {"k": 1})) == [{"text": "HI"}]
    run(rasa.resume("c1"))
    assert rasa.sent == [("c1", "hi", {"k": 1})] and rasa.resumed == ["c1"]
    rasa.available = False
    with pytest.raises(RasaUnavailable):
        run(rasa.send("c1", "hi"))
    assert run(rasa.healthy()) is False


def test_several_servers_each_conversation_always_goes_to_the_same_one():
    seen: Seen = []

    async def use(rasa):
        for i in range(40):
            cid = f"conversation-{i}"
            await rasa.send(cid, "hi")
            await rasa.resume(cid)
            await rasa.send(cid, "again")
        assert rasa.base_for("conversation-1") == rasa.base_for("conversation-1")

    call(reply(data=[{"text": "ok"}]), use, seen, servers=2)
    port_of: dict[str, set[str]] = {}
    for _method, path, port, _query, body in seen:
        cid = body["sender"] if path == "/webhooks/rest/webhook" else path.split("/")[2]
        port_of.setdefault(cid, set()).add(port)
    assert len(port_of) == 40
    assert all(len(ports) == 1 for ports in port_of.values())  # turns and resume stay together
    assert len({next(iter(p)) for p in port_of.values()}) == 2  # spread over both servers


def test_healthy_needs_every_server_and_one_url_is_required():
    async def use(rasa):
        rasa._bases.append(f"http://127.0.0.1:{_closed_port()}")
        return await rasa.healthy()

    assert call(reply(data={}), use) is False
    with pytest.raises(ValueError, match="at least one"):
        HttpRasaClient([], "t", 3.0)


# -- not serving (starting, restarting) vs failing mid-turn -----------------------------


async def _listen_on(port: int, responder) -> web.AppRunner:
    """A real HTTP server on ``port`` (a Rasa that has finished starting)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", responder)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def test_a_closed_port_is_unreachable_and_the_outage_is_timed_until_it_serves():
    port = _closed_port()

    async def go():
        client = HttpRasaClient(f"http://127.0.0.1:{port}", "t", 3.0)
        try:
            with pytest.raises(RasaUnreachable, match="Could not reach Rasa") as first:
                await client.send("c1", "hi")
            await asyncio.sleep(0.3)
            with pytest.raises(RasaUnreachable) as later:
                await client.resume("c1")
            runner = await _listen_on(port, reply(data=[{"text": "up"}]))
            try:
                served = await client.send("c1", "hi")
            finally:
                await runner.cleanup()
            with pytest.raises(RasaUnreachable) as again:  # a new outage starts from zero
                await client.send("c1", "hi")
            return first.value, later.value, served, again.value
        finally:
            await client.aclose()

    first, later, served, again = asyncio.run(go())
    assert isinstance(first.__cause__, aiohttp.ClientConnectionError)
    assert first.down_for < 0.2 and 0.3 <= later.down_for < 2
    assert served == [{"text": "up"}]
    assert again.down_for < 0.2


@pytest.mark.parametrize("status", [502, 503])
def test_a_proxy_with_nothing_behind_it_is_unreachable(status):
    with pytest.raises(RasaUnreachable, match=f"HTTP {status}"):
        call(reply(status, text="no upstream"), lambda rasa: rasa.send("c1", "hi"))


@pytest.mark.parametrize(
    "responder", [_slow, reply(500, text="boom"), reply(504), reply(401), reply(text="<html>")]
)
def test_an_answer_that_fails_or_comes_too_late_is_not_unreachable(responder):
    with pytest.raises(RasaUnavailable) as info:
        call(responder, lambda rasa: rasa.send("c1", "hi"), timeout=0.3)
    assert not isinstance(info.value, RasaUnreachable)


def test_a_connection_cut_mid_request_is_unreachable():
    """A Rasa killed mid-turn: the connection is accepted, then closed without an answer."""

    async def go():
        async def hang_up(_reader, writer):
            await _reader.read(100)
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = HttpRasaClient(f"http://127.0.0.1:{port}", "t", 3.0)
        try:
            await client.send("c1", "hi")
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    with pytest.raises(RasaUnreachable) as info:
        asyncio.run(go())
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectionError)


def test_in_memory_twin_can_be_unreachable_for_a_while():
    rasa = InMemoryRasa()
    rasa.reachable = False
    with pytest.raises(RasaUnreachable) as info:
        run(rasa.send("c1", "hi"))
    assert info.value.down_for >= 0 and run(rasa.healthy()) is False
    rasa.reachable = True
    assert run(rasa.send("c1", "hi")) == [{"text": "echo: hi"}]
