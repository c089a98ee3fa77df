"""Nobody is handed off because Rasa is still loading: a fresh `tier1 run`, and a Rasa restart.

The app server serves the widget seconds after `tier1 run` starts; Rasa needs tens of seconds
to load its model. A question asked in that window (and one asked right after Rasa is killed
and restarted by supervisord) must wait for Rasa and be answered by the bot, not get the
apology and a place in the agents' queue. Readiness (`/health/ready`) says 503 until then.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.conftest import ROOT, TIER1, Stack, free_port
from tests.e2e.test_chat import Widget, demo_article, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APOLOGY = "connecting you to a person"


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=3).status_code
    except httpx.HTTPError:
        return None


@pytest.fixture(scope="module")
def starting_stack(tmp_path_factory) -> Iterator[tuple[Stack, subprocess.Popen]]:
    """`tier1 run` just launched: yielded as soon as the app server answers /health/live,
    while Rasa is (normally) still loading."""
    from bot.training import ensure_model

    ensure_model(ROOT, ROOT / "models")  # before the clock starts: cached by fingerprint
    work = tmp_path_factory.mktemp("starting-stack")
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    port = free_port()
    config["server"].update(
        port=port, rasa_port=free_port(), action_port=free_port(),
        state_dir=str(work / "state"), models_dir=str(ROOT / "models"),
        startup_timeout_seconds=240,
    )
    config["database"] = {"url": f"sqlite:///{work / 'tier1.db'}"}
    config["knowledge_base"]["seed_file"] = str(ROOT / config["knowledge_base"]["seed_file"])
    cfg = work / "config.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, "TIER1_JWT_SECRET": "e2e-jwt-secret-0123456789abcdef",
           "TIER1_INTERNAL_TOKEN": "e2e-internal-token-0123456789",
           "TIER1_RASA_TOKEN": "e2e-rasa-token-0123456789"}
    log = work / "tier1-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([TIER1, "--config", str(cfg), "run"], cwd=work, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while _status(f"{url}/health/live") != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the app server did not start (exit {proc.poll()}):\n"
                        f"{log.read_text()[-6000:]}")
        time.sleep(0.2)
    yield Stack(url=url, config=cfg, env=env, log=log), proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def _ask_while_rasa_is_down(stack: Stack, question: str, answer: str) -> tuple[str, float]:
    """Ask on a new widget conversation while readiness is 503; (conversation id, seconds
    until the bot's answer)."""
    w = Widget(stack.url)
    conv = await w.connect()
    try:
        ready = _status(f"{stack.url}/health/ready")
        assert ready == 503, f"Rasa was already up (readiness {ready}): the test proves nothing"
        started = time.monotonic()
        await w.say(question, f"c{started}")
        got = await w.replies(lambda m: answer in texts(m) or APOLOGY in texts(m).lower(), 240)
        assert APOLOGY not in texts(got).lower(), got
        return conv, time.monotonic() - started
    finally:
        await w.sio.disconnect()


def _conversation(stack: Stack, token: str, conversation_id: str) -> dict:
    r = httpx.get(f"{stack.url}/api/conversations/{conversation_id}",
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_question_in_the_first_seconds_and_one_during_a_rasa_restart_get_the_bot(
    starting_stack,
):
    stack, proc = starting_stack
    article = demo_article("reset-password")
    question, answer = article["questions"][0], article["answer"][:40]

    first, waited = asyncio.run(_ask_while_rasa_is_down(stack, question, answer))
    assert waited > 1, waited  # it did wait for Rasa
    assert _status(f"{stack.url}/health/ready") == 200

    # Now every component is up; kill -9 Rasa: supervisord restarts it, the question waits.
    deadline = time.monotonic() + 240
    while "tier1 is up." not in stack.log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, stack.log.read_text()[-4000:]
        time.sleep(0.5)
    socket_path = Path(yaml.safe_load(stack.config.read_text())["server"]["state_dir"])
    from supervisor.xmlrpc import SupervisorTransport

    rpc = xmlrpc.client.ServerProxy(
        "http://127.0.0.1",
        transport=SupervisorTransport(None, None, f"unix://{socket_path / 'supervisor.sock'}"),
    ).supervisor
    old_pid = rpc.getProcessInfo("rasa")["pid"]
    os.kill(old_pid, signal.SIGKILL)
    time.sleep(0.5)  # the port is closed once the process is gone
    second, _ = asyncio.run(_ask_while_rasa_is_down(stack, question, answer))
    assert rpc.getProcessInfo("rasa")["pid"] not in (0, old_pid)

    token = stack.agent_token("startup-agent@example.com")
    for conversation_id in (first, second):
        c = _conversation(stack, token, conversation_id)
        assert c["status"] == "bot", c  # not queued for a person
