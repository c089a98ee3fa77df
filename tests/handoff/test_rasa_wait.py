"""RasaWait with the real HTTP client: a Rasa port that opens later, one that never does."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiohttp import web

from handoff.errors import RasaUnavailable
from handoff.rasa_client import HttpRasaClient, RasaUnreachable
from handoff.rasa_wait import RasaWait

pytestmark = pytest.mark.unit

FAST = {"first_delay": 0.02, "max_delay": 0.1}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _always_wanted() -> bool:
    return True


class LateRasa:
    """A Rasa REST webhook that starts listening on ``port`` after ``delay`` seconds."""

    def __init__(self, port: int, delay: float, status: int = 200) -> None:
        self.port, self.delay, self.status = port, delay, status
        self.requests = 0
        self.runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.json()
        return web.json_response([{"text": f"bot: {body['message']}"}], status=self.status)

    async def open_later(self) -> None:
        await asyncio.sleep(self.delay)
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._answer)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def _through(wait: RasaWait, late: LateRasa | None, port: int, still_wanted=_always_wanted):
    """``wait.until_served(send)`` against 127.0.0.1:port; (result or error, seconds)."""

    async def go():
        client = HttpRasaClient(f"http://127.0.0.1:{port}", "t", 2.0)
        opener = asyncio.create_task(late.open_later()) if late else None
        started = time.monotonic()
        try:
            result = await wait.until_served(lambda: client.send("c1", "hi"), still_wanted)
        except RasaUnavailable as e:
            result = e
        finally:
            seconds = time.monotonic() - started
            await client.aclose()
            if opener is not None:
                await opener
                await late.close()
        return result, seconds

    return asyncio.run(go())


def test_a_rasa_that_opens_its_port_later_is_waited_for_and_answers():
    port = _closed_port()
    late = LateRasa(port, delay=0.6)
    replies, seconds = _through(RasaWait(10, **FAST), late, port)
    assert replies == [{"text": "bot: hi"}]
    assert late.requests == 1
    assert 0.6 <= seconds < 2  # answered within max_delay (+ slack) of the port opening


def test_a_rasa_that_stays_down_raises_unreachable_once_the_wait_is_over():
    port = _closed_port()
    error, seconds = _through(RasaWait(0.5, **FAST), None, port)
    assert isinstance(error, RasaUnreachable) and error.down_for >= 0.4
    assert 0.5 <= seconds < 1.5


def test_no_wait_configured_means_the_first_failure_is_final():
    error, seconds = _through(RasaWait(0, **FAST), None, _closed_port())
    assert isinstance(error, RasaUnreachable) and seconds < 0.5


def test_an_error_answer_is_not_retried():
    port = _closed_port()
    late = LateRasa(port, delay=0, status=500)

    async def go():
        await late.open_later()
        client = HttpRasaClient(f"http://127.0.0.1:{port}", "t", 2.0)
        try:
            with pytest.raises(RasaUnavailable, match="HTTP 500") as info:
                await RasaWait(10, **FAST).until_served(
                    lambda: client.send("c1", "hi"), _always_wanted)
            return info.value
        finally:
            await client.aclose()
            await late.close()

    error = asyncio.run(go())
    assert not isinstance(error, RasaUnreachable) and late.requests == 1


def test_the_bound_counts_from_the_start_of_the_outage_not_of_each_turn():
    """Once Rasa has been down for the whole wait, a new turn is not made to wait again."""
    port = _closed_port()

    async def go():
        client = HttpRasaClient(f"http://127.0.0.1:{port}", "t", 2.0)
        wait = RasaWait(0.4, **FAST)
        try:
            with pytest.raises(RasaUnreachable):
                await wait.until_served(lambda: client.send("c1", "hi"), _always_wanted)
            started = time.monotonic()
            with pytest.raises(RasaUnreachable):
                await wait.until_served(lambda: client.send("c2", "hello"), _always_wanted)
            return time.monotonic() - started
        finally:
            await client.aclose()

    assert asyncio.run(go()) < 0.2


def test_a_turn_no_longer_wanted_stops_waiting():
    checks = 0

    async def wanted_twice() -> bool:
        nonlocal checks
        checks += 1
        return checks < 3

    result, seconds = _through(RasaWait(10, **FAST), None, _closed_port(), wanted_twice)
    assert result is None and checks == 3 and seconds < 1
