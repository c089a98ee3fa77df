"""Never silent: stop or freeze each process of the live stack and check what the user gets.

Each test stops (or SIGSTOPs) one supervised process through supervisord's XML-RPC socket,
checks that the user still hears something within a bounded time, then restarts the process and
waits until it is healthy, so that later tests still have the full stack.

A message that finds Rasa not serving waits up to ``handoff.rasa_wait_seconds`` (120 s) for it
to come back. The Rasa-down test therefore also talks to a second app server on the same
stack configured to wait 1 s (what a Rasa that stays down gets, without the 2 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.conftest import ROOT, free_port
from tests.e2e.test_chat import Widget, demo_article, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# What the user sees when a piece is missing (bot/domain.yml, handoff settings).
TECHNICAL_PROBLEM = "something went wrong on my side"
CANNOT_CONNECT = "can't reach our support team"


class Processes:
    """The stack's supervisord, through its XML-RPC socket."""

    def __init__(self, config: Path) -> None:
        server = yaml.safe_load(config.read_text())["server"]
        self.socket = Path(server["state_dir"]) / "supervisor.sock"
        self.health = {
            "actions": f"http://127.0.0.1:{server['action_port']}/health",
            "rasa": f"http://127.0.0.1:{server['rasa_port']}/",
        }
        self.rasa_timeout = yaml.safe_load(config.read_text())["handoff"]["rasa_timeout_seconds"]

    def rpc(self):
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def healthy(self, name: str) -> bool:
        try:
            return httpx.get(self.health[name], timeout=3).status_code < 500
        except httpx.HTTPError:
            return False

    def wait_healthy(self, name: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(name):
            assert time.monotonic() < deadline, f"{name} did not come back within {timeout} s"
            time.sleep(0.5)

    @contextlib.contextmanager
    def watchdog_paused(self) -> Iterator[None]:
        """Pause `tier1 run` (supervisord's parent), whose health watchdog restarts a child
        after 30 s of failed checks: Rasa may need longer than that to load its model on a busy
        machine, and would then be restarted forever (reported; see tier1/supervisor.py watch)."""
        supervisord = self.rpc().getPID()
        parent = int(Path(f"/proc/{supervisord}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.kill(parent, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(parent, signal.SIGCONT)

    @contextlib.contextmanager
    def stopped(self, name: str) -> Iterator[None]:
        with self.watchdog_paused():
            self.rpc().stopProcess(name, True)
            assert not self.healthy(name)
            try:
                yield
            finally:
                self.rpc().startProcess(name, True)
                self.wait_healthy(name)

    @contextlib.contextmanager
    def frozen(self, name: str) -> Iterator[None]:
        """SIGSTOP: the process keeps its port but answers nothing (a hung or very slow server)."""
        with self.watchdog_paused():
            self.rpc().signalProcess(name, "STOP")
            try:
                yield
            finally:
                self.rpc().signalProcess(name, "CONT")
                self.wait_healthy(name)


@pytest.fixture(scope="module")
def processes(stack) -> Processes:
    return Processes(stack.config)


@pytest.fixture(scope="module")
def impatient_app(stack, tmp_path_factory) -> Iterator[str]:
    """A second app server on the stack (its database, Rasa, action server) that waits only 1 s
    for a Rasa that is not serving; its URL."""
    work = tmp_path_factory.mktemp("impatient")
    config = yaml.safe_load(stack.config.read_text())
    stack_state = Path(config["server"]["state_dir"])
    port = free_port()
    config["server"].update(port=port, state_dir=str(work / "state"))
    config["knowledge_base"]["embedder"]["cache_dir"] = str(stack_state / "onnx")  # exported once
    # Its orphan sweep (4 x rasa_timeout_seconds) must not answer the stack's waiting message.
    config["handoff"].update(rasa_wait_seconds=1, rasa_timeout_seconds=60)
    cfg = work / "config.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    log = work / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tier1.app:app_from_env", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--ws", "wsproto", "--no-access-log"],
            cwd=ROOT, env={**stack.env, "TIER1_CONFIG": str(cfg)}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the second app server did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def agent_api(stack):
    token = stack.agent_token("outage-agent@example.com")
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}) as api:
        yield api


def conversation(api: httpx.Client, conversation_id: str) -> dict:
    r = api.get(f"/api/conversations/{conversation_id}")
    assert r.status_code == 200, r.text
    return r.json()


def queued_conversation(api: httpx.Client, conversation_id: str, timeout: float = 5) -> dict:
    """The conversation once queued (the gateway apologises first, then queues)."""
    deadline = time.monotonic() + timeout
    while (c := conversation(api, conversation_id))["status"] != "queued":
        if time.monotonic() > deadline:
            return c
        time.sleep(0.2)
    return c


async def ask(w: Widget, text: str, until, timeout: float) -> tuple[list[dict], float]:
    started = time.monotonic()
    await w.say(text, f"c{started}")
    got = await w.replies(until, timeout=timeout)
    return got, time.monotonic() - started


def test_action_server_down_the_bot_apologises_and_offers_a_person(stack, processes, agent_api):
    question = demo_article("reset-password")

    async def scenario():
        w = Widget(stack.url)
        conv = await w.connect()
        try:
            with processes.stopped("actions"):
                got, seconds = await ask(w, "my card was charged twice",
                                         lambda m: TECHNICAL_PROBLEM in texts(m).lower(), 20)
                assert seconds < 10, seconds
                offer = got[-1]
                assert [q["payload"] for q in offer["quick_replies"]] == ["/request_human"]
                assert conversation(agent_api, conv)["status"] == "bot"
                # the offer's button cannot queue without the action server: the bot says so
                await ask(w, "/request_human", lambda m: CANNOT_CONNECT in texts(m).lower(), 20)
            # back up: the same conversation is answered again
            await ask(w, question["questions"][0],
                      lambda m: question["answer"][:40] in texts(m), 30)
        finally:
            await w.sio.disconnect()

    asyncio.run(scenario())


def test_action_server_hung_the_gateway_apologises_and_queues(stack, processes, agent_api):
    """A frozen action server holds Rasa's turn; the gateway's timeout bounds the wait."""

    async def scenario():
        w = Widget(stack.url)
        conv = await w.connect()
        try:
            with processes.frozen("actions"):
                _, seconds = await ask(w, "how do I top up", lambda m: "connecting you" in
                                       texts(m).lower(), processes.rasa_timeout + 20)
                assert seconds < processes.rasa_timeout + 10, seconds
                c = queued_conversation(agent_api, conv)
                assert (c["status"], c["reason"]) == ("queued", "bot_unavailable"), c
        finally:
            await w.sio.disconnect()

    asyncio.run(scenario())


def test_rasa_down_the_gateway_apologises_and_queues_and_a_restart_is_waited_for(
    stack, processes, agent_api, impatient_app
):
    """Rasa stopped: with a 1 s wait the user gets the apology and a person within seconds;
    with the default wait the question is held and the bot answers it once Rasa is back."""
    article = demo_article("order-tracking")

    async def scenario():
        w, held = Widget(impatient_app), Widget(stack.url)
        conv = await w.connect()
        held_conv = await held.connect()
        try:
            with processes.stopped("rasa"):
                await held.say("where is my order", "held-1")
                _, seconds = await ask(w, "where is my order",
                                       lambda m: "connecting you" in texts(m).lower(), 30)
                assert seconds < 10, seconds
                c = queued_conversation(agent_api, conv)
                assert (c["status"], c["reason"]) == ("queued", "bot_unavailable"), c
                assert c["context"]["last_question"] == "where is my order"
            got = await held.replies(lambda m: article["answer"][:40] in texts(m), 60)
            assert "connecting you" not in texts(got).lower(), got
            assert conversation(agent_api, held_conv)["status"] == "bot"
        finally:
            await w.sio.disconnect()
            await held.sio.disconnect()

    asyncio.run(scenario())
    # Rasa is back: a new conversation is answered by the bot again.
    article = demo_article("order-tracking")

    async def again():
        w = Widget(stack.url)
        await w.connect()
        try:
            await ask(w, "where is my order", lambda m: article["answer"][:40] in texts(m), 60)
        finally:
            await w.sio.disconnect()

    asyncio.run(again())
