"""Nobody can take the chat, and the knowledge base is out of reach: both against a live stack.

The stack here is configured CLOSED today (today is a holiday in its business hours), so a
request for a person gets the honest "we're back tomorrow" message and the offer to leave an
email and a message, which ends as an offline ticket in the agents' API.

Knowledge base down: the KB lives in the app server. The app hands its search to the bot with
each typed message, so questions are still answered; opening an article the user picked (and
queueing the chat) needs the action server to call the app over HTTP.
Stopping the app would silence the widget too, so the test swaps the supervised action server
for a second, real one (`rasa run actions`, same port) whose config points at a dead app URL:
once a closed port (connection refused) and once a port that accepts connections but never
answers (a hung app; the action server's own timeout must fire). Rasa and the gateway are
untouched, so what the user sees is exactly what a real KB outage produces.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from bot.actions.answer import CLARIFY_MESSAGE, choose_article_payload
from bot.actions.dialogue import FEEDBACK_QUESTION
from tests.e2e.conftest import ROOT, TIER1, Stack, free_port
from tests.e2e.test_chat import Widget, texts
from tests.e2e.test_conversation_outages import Processes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ZONE = "Europe/Berlin"
RASA_BIN = str(Path(sys.executable).parent / "rasa")
KB_DOWN = "can't look that up right now"
OFFER = "connect you to a person"


@pytest.fixture(scope="module")
def closed_stack(tmp_path_factory) -> Iterator[Stack]:
    """`tier1 run` with business hours that are closed all of today (a holiday)."""
    from bot.training import ensure_model

    ensure_model(ROOT, ROOT / "models")
    work = tmp_path_factory.mktemp("closed-stack")
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    port = free_port()
    config["server"].update(
        port=port,
        rasa_port=free_port(),
        action_port=free_port(),
        state_dir=str(work / "state"),
        models_dir=str(ROOT / "models"),
        startup_timeout_seconds=240,
    )
    config["database"] = {"url": f"sqlite:///{work / 'tier1.db'}"}
    config["knowledge_base"]["seed_file"] = str(ROOT / config["knowledge_base"]["seed_file"])
    today = datetime.now(ZoneInfo(ZONE)).date()
    config["handoff"]["business_hours"] = {
        "timezone": ZONE,
        "schedule": {"mon-sun": "09:00-17:00"},
        "holidays": [today.isoformat()],
    }
    cfg = work / "config.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {
        **os.environ,
        "TIER1_JWT_SECRET": "e2e-jwt-secret-0123456789abcdef",
        "TIER1_INTERNAL_TOKEN": "e2e-internal-token-0123456789",
        "TIER1_RASA_TOKEN": "e2e-rasa-token-0123456789",
    }
    log = work / "tier1-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [TIER1, "--config", str(cfg), "run"],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 300
    while "tier1 is up." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(
                f"tier1 run did not come up (exit {proc.poll()}):\n{log.read_text()[-6000:]}"
            )
        time.sleep(1)
    yield Stack(url=f"http://127.0.0.1:{port}", config=cfg, env=env, log=log)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def agent_api(closed_stack):
    token = closed_stack.agent_token("offline-agent@example.com")
    with httpx.Client(
        base_url=closed_stack.url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        yield api


def test_closed_hours_the_user_leaves_a_message_that_agents_see(closed_stack, agent_api):
    tomorrow = "we're back tomorrow at 09:00 (Europe/Berlin)"

    async def scenario() -> str:
        w = Widget(closed_stack.url)
        queue_infos: list[dict] = []
        w.sio.on("queue_position", queue_infos.append)
        conv = await w.connect()
        try:
            await w.say("I want to talk to a person", "o1")
            got = await w.replies(lambda m: "email address" in texts(m), 30)
            assert f"Our team is offline right now — {tomorrow}." in texts(got)
            assert "connecting you" not in texts(got).lower()  # never a false promise
            assert [q["payload"] for q in got[-1]["quick_replies"]] == ["/cancel"]

            await w.say("call me maybe", "o2")
            bad = await w.replies(lambda m: "doesn't look like an email" in texts(m), 15)
            assert "name@example.com" in texts(bad)
            await w.say("kim@example.com", "o3")
            await w.replies(lambda m: "type your message" in texts(m), 15)
            await w.say("My invoice shows the wrong address, please fix it.", "o4")
            done = await w.replies(lambda m: "we'll email you" in texts(m), 15)
            assert "Thanks — we'll email you at kim@example.com." in texts(done)
            # queued, but no "estimated wait: 2 min" while the team is away
            queued = [i for i in queue_infos if i["status"] == "queued"]
            assert queued and all(i["estimated_wait_seconds"] is None for i in queued), queue_infos
            return conv
        finally:
            await w.sio.disconnect()

    conv = asyncio.run(scenario())
    tickets = [t for t in agent_api.get("/api/tickets").json() if t["conversation_id"] == conv]
    assert len(tickets) == 1, tickets
    ticket = tickets[0]
    assert (ticket["email"], ticket["message"], ticket["reason"]) == (
        "kim@example.com",
        "My invoice shows the wrong address, please fix it.",
        "closed",
    )
    # the transcript behind the link holds the whole chat; the chat itself stays in the queue
    chat = agent_api.get(ticket["transcript_url"]).json()
    assert chat["status"] == "queued"
    assert "I want to talk to a person" in [m["text"] for m in chat["messages"]]
    closed = agent_api.post(f"/api/tickets/{ticket['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


# -- the knowledge base out of reach ---------------------------------------------------------


@contextlib.contextmanager
def blackhole() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield s.getsockname()[1]


@contextlib.contextmanager
def action_server_pointing_at(stack: Stack, processes: Processes, app_port: int) -> Iterator[None]:
    """Replace the supervised action server by a real one whose app URL is 127.0.0.1:app_port."""
    config = yaml.safe_load(stack.config.read_text())
    config["server"]["port"] = app_port
    broken = stack.config.with_name("config-kb-down.yml")
    broken.write_text(yaml.safe_dump(config, sort_keys=False))
    action_port = config["server"]["action_port"]
    with processes.stopped("actions"):
        env = {
            **stack.env,
            "TIER1_CONFIG": str(broken),
            "SANIC_HOST": "127.0.0.1",
            "RASA_TELEMETRY_ENABLED": "false",
            "HF_HUB_OFFLINE": "1",
        }
        log = stack.config.with_name(f"actions-kb-down-{app_port}.log").open("w")
        proc = subprocess.Popen(
            [RASA_BIN, "run", "actions", "--actions", "bot.actions", "--port", str(action_port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            processes.wait_healthy("actions", timeout=180)
            yield
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()


@pytest.mark.parametrize("fault", ["refused", "hung"])
def test_kb_unreachable_the_user_gets_an_apology_and_a_person(closed_stack, fault):
    processes = Processes(closed_stack.config)
    if fault == "refused":
        ctx = contextlib.nullcontext(free_port())  # nothing listens there
    else:
        ctx = blackhole()
    # The action server gives the app min(5 s, rasa_timeout / 3) per call (bot/actions/runtime.py).
    budget = min(5.0, processes.rasa_timeout / 3)

    async def scenario() -> None:
        w = Widget(closed_stack.url)
        await w.connect()
        try:
            # A typed question is still answered: the app searched it and handed the result
            # over with the message (bot/search_handover.py), so no call to the app is needed.
            await w.say("how do I reset my password", f"kb-{fault}-typed")
            answered = await w.replies(
                lambda m: FEEDBACK_QUESTION in texts(m) or CLARIFY_MESSAGE in texts(m), 30)
            assert KB_DOWN not in texts(answered).lower()
            # Opening an article the user picked needs the app: out of reach, an apology.
            started = time.monotonic()
            await w.say(choose_article_payload(1), f"kb-{fault}")
            got = await w.replies(lambda m: OFFER in texts(m).lower(), budget + 20)
            seconds = time.monotonic() - started
            print(f"KB {fault}: apology + offer after {seconds:.2f} s (budget {budget:g} s)")
            assert KB_DOWN in texts(got).lower()
            assert [q["payload"] for q in got[-1]["quick_replies"]] == ["/affirm", "/deny"]
            # bounded: the action server's timeout plus Rasa's own turn, well inside the
            # gateway's rasa_timeout_seconds (which would otherwise apologise instead)
            assert seconds < budget + 5, seconds
            assert seconds < processes.rasa_timeout, seconds
            # "Yes": the action server cannot reach the app to queue the chat either, and says
            # so honestly (it does not pause a chat nobody was told about), also in bounded time.
            started = time.monotonic()
            await w.say("/affirm", f"kb-{fault}-yes")
            await w.replies(lambda m: "couldn't reach our support team" in texts(m), budget + 20)
            assert time.monotonic() - started < budget + 5
        finally:
            await w.sio.disconnect()

    with ctx as dead_port, action_server_pointing_at(closed_stack, processes, dead_port):
        asyncio.run(scenario())


def test_console_lists_offline_messages_and_closes_them(closed_stack):
    """In Chromium: the user leaves a message from the widget; the agent sees it under
    "Offline messages", opens the transcript and closes it."""
    import shutil as _shutil

    from playwright.sync_api import expect, sync_playwright

    from tests.chromium import CHROMIUM_ARGS
    from tests.e2e.test_console_browser import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    closed_stack.agent_token("offline-console@example.com")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            user = browser.new_context(viewport={"width": 390, "height": 780}).new_page()
            console = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            for page in (console, user):
                page.on("pageerror", lambda e: errors.append(str(e)))

            user.goto(f"{closed_stack.url}/")
            user.wait_for_selector(".chat__status--online", timeout=15_000)
            for text, wait_for in (
                ("talk to a person", "What's your email address?"),
                ("lee@example.net", "type your message"),
                ("Please send me a copy of my last invoice.", "we'll email you at lee@example.net"),
            ):
                user.fill("#input", text)
                user.press("#input", "Enter")
                expect(user.locator(".msg--bot").last).to_contain_text(wait_for, timeout=30_000)
            user.screenshot(path=str(SHOTS / "offline-1-widget.png"))
            cid = user.evaluate("localStorage.getItem('tier1.session_id')")

            console.goto(f"{closed_stack.url}/console")
            console.fill("#login-email", "offline-console@example.com")
            console.fill("#login-password", "agent-password-1")
            console.click("#login-submit")
            ticket = console.locator("#tickets li").filter(has_text="lee@example.net")
            expect(ticket).to_be_visible(timeout=15_000)
            expect(ticket.locator(".ticket__message")).to_have_text(
                "Please send me a copy of my last invoice."
            )
            console.screenshot(path=str(SHOTS / "offline-2-console.png"))
            ticket.locator(".ticket__open").click()
            expect(console.locator("#transcript .msg--user").first).to_contain_text(
                "talk to a person"
            )
            assert console.evaluate("window.localStorage.getItem('tier1.console.open')") == cid
            ticket.locator(".ticket__close").click()
            expect(console.locator("#tickets li").filter(has_text="lee@example.net")).to_have_count(
                0, timeout=10_000
            )
        finally:
            browser.close()
    assert errors == []
