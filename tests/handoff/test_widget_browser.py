"""The demo widget in headless Chromium against a live gateway (in-memory Rasa)."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import httpx
import pytest
import socketio
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import expect, sync_playwright

from handoff import HandoffSettings, InMemoryRasa, build_handoff

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INTERNAL_TOKEN = "widget-internal-token-0123456789"


def responder(cid, text, metadata):
    if text == "menu":
        return [
            {
                "text": "Pick a topic <b>now</b>",
                "buttons": [
                    {"title": "Billing", "payload": "/billing"},
                    {"title": "Shipping", "payload": "/shipping"},
                ],
            }
        ]
    return [{"text": f"echo: {text}"}]


@pytest.fixture(scope="module")
def site(tmp_path_factory, sqlite_engine):
    engine = sqlite_engine(tmp_path_factory.mktemp("widget") / "widget.db")
    handoff = build_handoff(
        HandoffSettings(),
        engine,
        jwt_secret="widget-jwt-secret-0123456789abcdef",
        internal_token=INTERNAL_TOKEN,
        rasa_url="http://rasa.invalid",
        rasa_token="rasa-token",
        cors_origins=["*"],
        rasa=InMemoryRasa(responder),
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    handoff.start()
    handoff.create_agent("ana@example.com", "password123", display_name="Ana")
    api = FastAPI()
    api.include_router(handoff.router)
    # As the composition root serves it: the page at /, the folder at /static/.
    api.mount("/static", StaticFiles(directory=handoff.static_dir), name="static")
    api.add_api_route("/", lambda: FileResponse(handoff.static_dir / "index.html"))
    asgi = socketio.ASGIApp(handoff.sio, api)

    async def behind_a_proxy(scope, receive, send):
        # What a reverse proxy serving the app under /support/ does: strip the prefix.
        if scope["type"] in ("http", "websocket") and scope["path"].startswith("/support/"):
            scope = {**scope, "path": scope["path"][len("/support") :], "raw_path": None}
        await asgi(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            behind_a_proxy,
            log_level="warning",
            lifespan="off",
            ws="wsproto",
            timeout_graceful_shutdown=0.5,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    engine.dispose()


@pytest.fixture(scope="module")
def browser():

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the widget test needs Debian's chromium (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_widget_chats_shows_quick_replies_agents_and_replays_history(site, browser):
    page = browser.new_page(viewport={"width": 390, "height": 780})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site + "/")
    page.wait_for_selector(".chat__status--online", timeout=10_000)

    page.fill("#input", "hello there")
    page.press("#input", "Enter")
    page.wait_for_selector("text=echo: hello there", timeout=10_000)
    expect(page.locator(".msg--user .msg__meta")).to_have_text("Sent", timeout=10_000)

    page.fill("#input", "menu")
    page.press("#input", "Enter")
    page.wait_for_selector(".replies__button", timeout=10_000)
    # Bot text is shown as text, never parsed as HTML.
    assert page.locator(".msg--bot b").count() == 0
    expect(page.locator(".msg--bot .msg__bubble").last).to_have_text("Pick a topic <b>now</b>")
    page.click("text=Shipping")
    page.wait_for_selector("text=echo: /shipping", timeout=10_000)
    expect(page.locator(".msg--user .msg__bubble").last).to_have_text("Shipping")

    session_id = page.evaluate("localStorage.getItem('tier1.session_id')")
    with httpx.Client(base_url=site) as http:
        r = http.post(
            "/api/internal/handoff",
            json={"conversation_id": session_id, "reason": "request_human"},
            headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
        )
        assert r.status_code == 200, r.text
        login = http.post(
            "/api/auth/token", data={"username": "ana@example.com", "password": "password123"}
        )
        ana = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert http.post(f"/api/conversations/{session_id}/claim", headers=ana).status_code == 200
        r = http.post(
            f"/api/conversations/{session_id}/messages",
            json={"text": "Hi, Ana here <img src=x onerror=alert(1)>"},
            headers=ana,
        )
        assert r.status_code == 201
    page.wait_for_selector(".msg--agent", timeout=10_000)
    expect(page.locator(".msg--agent .msg__name")).to_have_text("Ana")
    assert page.locator(".msg--agent img").count() == 0

    # A reload keeps the conversation (localStorage) and replays it from the server.
    page.reload()
    page.wait_for_selector(".msg--agent", timeout=10_000)
    expect(page.locator(".msg")).to_have_count(8, timeout=10_000)
    kinds = page.eval_on_selector_all(".msg", "els => els.map(e => e.classList[1])")
    assert kinds == [
        "msg--user",
        "msg--bot",
        "msg--user",
        "msg--bot",
        "msg--user",
        "msg--bot",
        "msg--system",
        "msg--agent",
    ]
    assert page.evaluate("localStorage.getItem('tier1.session_id')") == session_id
    assert errors == []
    page.close()


def test_widget_works_under_a_path_prefix(site, browser):
    page = browser.new_page()
    failed: list[str] = []
    paths: list[str] = []
    page.on("request", lambda r: paths.append(r.url[len(site) :]))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.goto(site + "/support/")
    page.wait_for_selector(".chat__status--online", timeout=10_000)
    page.fill("#input", "prefixed")
    page.press("#input", "Enter")
    page.wait_for_selector("text=echo: prefixed", timeout=10_000)
    assert failed == []
    # Every request (page, assets, socket.io polling and websocket) stayed under the prefix.
    assert any(p.startswith("/support/socket.io/") for p in paths)
    assert all(p.startswith("/support/") for p in paths), paths
    page.close()
