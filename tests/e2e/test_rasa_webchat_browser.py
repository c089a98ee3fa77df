"""The unmodified rasa-webchat 1.0.1 bundle against the real stack, in headless Chromium.

A plain page on another port embeds it the way rasa-webchat's README shows (``initPayload``,
``customData``, ``params.storage``) pointed at tier1. It must lose nothing: the greeting from
``/get_started``, an answer with its source, an off-topic question handed off, an agent's
reply live, an agent's reply sent while the page was elsewhere (shown on return: rasa-webchat
never asks for history), a reload that keeps the conversation, and the rating prompt after
resolve, whose tap is recorded. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(__file__).parent / "vendor" / "rasa-webchat" / "rasa-webchat-1.0.1.js"
SHOTS = ROOT / "artifacts" / "screenshots"
QUESTION = "How do I reset my password?"
OFF_TOPIC = "Which football team won the world cup in 1966?"


def page_html(socket_url: str, storage: str) -> str:
    props = {"initPayload": "/get_started", "socketUrl": socket_url, "socketPath": "/socket.io/",
             "customData": {"language": "en", "plan": "pro"}, "title": "Some shop",
             "params": {"storage": storage}}
    return ("<!doctype html><html><head><meta charset='utf-8'></head><body><h1>Some shop</h1>"
            "<script src='rasa-webchat-1.0.1.js'></script>"
            f"<script>window.WebChat.default({json.dumps(props)}, null);</script></body></html>")


@pytest.fixture(scope="module")
def site(stack, tmp_path_factory):
    """The bundle and two pages (local and session storage) on a port of their own."""
    root = tmp_path_factory.mktemp("webchat-site")
    shutil.copy(BUNDLE, root / BUNDLE.name)
    (root / "index.html").write_text(page_html(stack.url, "local"))
    (root / "session.html").write_text(page_html(stack.url, "session"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def session_id(page, storage: str = "localStorage") -> str:
    stored = page.evaluate(f"{storage}.getItem('chat_session')")
    assert stored, "rasa-webchat stored no session"
    return json.loads(stored)["session_id"]


def open_chat(page) -> None:
    """Open the widget unless it reopened itself (rasa-webchat keeps the open state)."""
    page.locator(".rw-launcher").wait_for()
    try:
        page.locator(".rw-new-message").wait_for(timeout=2_000)
    except PlaywrightTimeout:
        page.locator(".rw-launcher").click()
    expect(page.locator(".rw-new-message")).to_be_visible()


def say(page, text: str) -> None:
    page.fill(".rw-new-message", text)
    page.keyboard.press("Enter")


def bot_says(page, text: str):
    return page.locator(".rw-response", has_text=text)


def test_rasa_webchat_loses_nothing(stack, browser, site):
    SHOTS.mkdir(parents=True, exist_ok=True)
    agent = {"Authorization": f"Bearer {stack.agent_token('webchat-ana@example.com')}"}
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site)
    page.locator(".rw-launcher").click()

    # initPayload /get_started: the bot greets.
    expect(page.locator(".rw-response").first).to_be_visible(timeout=30_000)
    sid = session_id(page)

    # A known question: the answer, and its source as a link.
    say(page, QUESTION)
    source = page.locator(".rw-response a", has_text="password")
    expect(source.first).to_be_visible(timeout=30_000)
    assert source.first.get_attribute("href").startswith("http")
    expect(bot_says(page, "Source:")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "rasa-webchat-1-answer.png"))

    # Off-topic: handed off, in the bot's words.
    say(page, OFF_TOPIC)
    expect(page.locator(".rw-response", has_text="connect").last).to_be_visible(timeout=30_000)
    api = httpx.Client(base_url=stack.url, headers=agent, timeout=30)
    detail = api.get(f"/api/conversations/{sid}").json()
    assert detail["status"] == "queued", detail["status"]
    assert detail["user_metadata"].get("plan") == "pro"  # customData, shown to the agent

    # An agent claims and replies: live.
    assert api.post(f"/api/conversations/{sid}/claim").status_code == 200
    r = api.post(f"/api/conversations/{sid}/messages", json={"text": "Hi, Ana here, live."})
    assert r.status_code == 201, r.text
    expect(bot_says(page, "Hi, Ana here, live.")).to_have_count(1, timeout=15_000)

    # The page goes elsewhere; the agent answers meanwhile; the user comes back.
    page.goto("about:blank")
    r = api.post(f"/api/conversations/{sid}/messages", json={"text": "While you were away."})
    assert r.status_code == 201, r.text
    page.goto(site)
    open_chat(page)
    expect(bot_says(page, "While you were away.")).to_have_count(1, timeout=15_000)
    expect(bot_says(page, "Hi, Ana here, live.")).to_have_count(1)
    assert session_id(page) == sid
    page.screenshot(path=str(SHOTS / "rasa-webchat-2-back.png"))

    # A reload keeps the conversation, nothing doubled.
    page.reload()
    open_chat(page)
    expect(bot_says(page, "While you were away.")).to_have_count(1, timeout=15_000)
    page.wait_for_timeout(1500)  # a replay would have arrived by now
    expect(bot_says(page, "While you were away.")).to_have_count(1)
    expect(bot_says(page, "Hi, Ana here, live.")).to_have_count(1)

    # Resolve: the rating prompt renders as quick replies; a tap is recorded.
    assert api.post(f"/api/conversations/{sid}/resolve").status_code == 200
    reply = page.locator(".rw-replies .rw-reply").last
    expect(reply).to_be_visible(timeout=15_000)
    page.screenshot(path=str(SHOTS / "rasa-webchat-3-rating.png"))
    reply.click()
    database = stack.config.parent / "tier1.db"
    with sqlite3.connect(database) as db:
        for _ in range(50):
            rows = db.execute("SELECT rating FROM csat_ratings WHERE conversation_id = ?",
                              (sid,)).fetchall()
            if rows:
                break
            page.wait_for_timeout(200)
    assert len(rows) == 1 and 1 <= rows[0][0] <= 5
    assert errors == []
    context.close()


def test_session_storage_and_talk_to_a_person_in_the_users_words(stack, browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(site + "session.html")
    page.locator(".rw-launcher").click()
    expect(page.locator(".rw-response").first).to_be_visible(timeout=30_000)
    sid = session_id(page, "sessionStorage")
    assert page.evaluate("localStorage.getItem('chat_session')") is None
    say(page, "I want to talk to a human")
    expect(page.locator(".rw-response", has_text="connect").last).to_be_visible(timeout=30_000)
    agent = {"Authorization": f"Bearer {stack.agent_token('webchat-bo@example.com')}"}
    queued = httpx.get(f"{stack.url}/api/conversations", params={"status": "queued"},
                       headers=agent)
    assert sid in [c["id"] for c in queued.json()], queued.text
    page.reload()
    asked = page.locator(".rw-client", has_text="I want to talk to a human")
    expect(asked).to_have_count(1, timeout=15_000)
    assert session_id(page, "sessionStorage") == sid
    context.close()
