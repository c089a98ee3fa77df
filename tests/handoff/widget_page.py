"""The demo widget served for real (uvicorn, socket.io, the REST routes, the static files) with
the in-memory Rasa twin, and Chromium pages at a desktop and a phone size: shared by the
widget's browser tests. The twin answers like tier1's bot: an article answer, its source as a
message of its own, then "Did this help?" with the feedback quick replies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page
from sqlalchemy.engine import Engine

from handoff import HandoffSettings, InMemoryRasa
from tests.chromium import chromium
from tests.live_handoff import serve_asgi, started_handoff

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
INTERNAL_TOKEN = "widget-internal-token-0123456789"
PASSWORD = "password123"

DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}

ANSWER = "To reset your password, open **Settings**, then *Security*, and choose Reset."
SOURCE = {"article_id": 7, "title": "Resetting your password",
          "url": "https://help.example.com/reset"}
FEEDBACK = {
    "text": "Did this help?",
    "buttons": [
        {"title": "Yes", "payload": "/feedback_helpful"},
        {"title": "No", "payload": "/feedback_not_helpful"},
    ],
}


def bot_twin(_cid: str, text: str, _metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """What tier1's bot says, over Rasa's REST channel, to what the tests type."""
    if "password" in text.lower():
        return [{"text": ANSWER}, {"custom": {"source": SOURCE}}, FEEDBACK]
    if text == "/feedback_helpful":
        return [{"text": "Glad that helped!"}]
    if text == "/feedback_not_helpful":
        return [{"text": "Sorry that didn't help. Shall I connect you to a person?",
                 "buttons": [{"title": "Yes", "payload": "/affirm"},
                             {"title": "No", "payload": "/deny"}]}]
    if text == "menu":
        return [{"text": "Pick a topic <b>now</b>",
                 "buttons": [{"title": "Billing", "payload": "/billing"},
                             {"title": "Shipping", "payload": "/shipping"}]}]
    return [{"text": f"echo: {text}"}]


class Site:
    """The served widget; `api` is an httpx client on it."""

    def __init__(self, handoff, rasa: InMemoryRasa, url: str) -> None:
        self.handoff, self.rasa, self.url = handoff, rasa, url
        self.api = httpx.Client(base_url=url, timeout=10)
        self.internal = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}

    def agent(self, email: str, name: str) -> dict[str, str]:
        """An agent's auth header (created on first use)."""
        if self.handoff.service.accounts.find(email) is None:
            self.handoff.create_agent(email, PASSWORD, display_name=name)
        r = self.api.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def hand_off(self, session_id: str) -> None:
        r = self.api.post("/api/internal/handoff", headers=self.internal,
                          json={"conversation_id": session_id, "reason": "request_human"})
        assert r.status_code == 200, r.text

    def claim(self, session_id: str, agent: dict[str, str]) -> None:
        r = self.api.post(f"/api/conversations/{session_id}/claim", headers=agent)
        assert r.status_code == 200, r.text

    def reply(self, session_id: str, agent: dict[str, str], text: str) -> None:
        r = self.api.post(f"/api/conversations/{session_id}/messages", headers=agent,
                          json={"text": text})
        assert r.status_code == 201, r.text

    def resolve(self, session_id: str, agent: dict[str, str]) -> None:
        r = self.api.post(f"/api/conversations/{session_id}/resolve", headers=agent)
        assert r.status_code == 200, r.text

    @contextmanager
    def console(self, agent: dict[str, str]) -> Iterator[socketio.Client]:
        """An agent's console socket: the agent is online while it is open."""
        client = socketio.Client(reconnection=False)
        token = agent["Authorization"].split()[1]
        client.connect(self.url, namespaces=["/agent"], auth={"token": token},
                       transports=["websocket"])
        try:
            yield client
        finally:
            client.disconnect()


@contextmanager
def serve_widget(engine: Engine) -> Iterator[Site]:
    """The app as the composition root serves it (page at /, files at /static/), also under
    /support/ as a reverse proxy with a path prefix would, on a free port."""
    rasa = InMemoryRasa(bot_twin)
    handoff = started_handoff(
        HandoffSettings(), engine, rasa, internal_token=INTERNAL_TOKEN,
        jwt_secret="widget-jwt-secret-0123456789abcdef",
    )
    api = FastAPI()
    api.include_router(handoff.router)
    api.mount("/static", StaticFiles(directory=handoff.static_dir), name="static")
    api.add_api_route("/", lambda: FileResponse(handoff.static_dir / "index.html"))
    asgi = socketio.ASGIApp(handoff.sio, api)

    async def behind_a_proxy(scope, receive, send):
        # What a reverse proxy serving the app under /support/ does: strip the prefix.
        if scope["type"] in ("http", "websocket") and scope["path"].startswith("/support/"):
            scope = {**scope, "path": scope["path"][len("/support") :], "raw_path": None}
        await asgi(scope, receive, send)

    with serve_asgi(behind_a_proxy) as url:
        site = Site(handoff, rasa, url)
        try:
            yield site
        finally:
            site.api.close()


class WidgetPage:
    """One visitor: a fresh browser context (its own localStorage) on the demo page."""

    def __init__(self, browser: Browser, site: Site, device: str) -> None:
        self.device = device
        self.context = browser.new_context(**DEVICES[device])
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(site.url + "/")  # the demo page opens the chat at once
        self.page.wait_for_selector('#panel[data-connection="online"]', timeout=10_000)

    @property
    def session_id(self) -> str:
        return self.page.evaluate("localStorage.getItem('tier1.session_id')")

    def send(self, text: str) -> None:
        self.page.fill("#input", text)
        self.page.press("#input", "Enter")

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"widget-{self.device}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        assert self.errors == []
        self.context.close()


# Fixtures for the widget's browser test modules (import them there).


@pytest.fixture(scope="module")
def site(tmp_path_factory, sqlite_engine) -> Iterator[Site]:
    engine = sqlite_engine(tmp_path_factory.mktemp("widget") / "widget.db")
    with serve_widget(engine) as served:
        yield served
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(params=list(DEVICES))
def widget(request, site: Site, browser: Browser) -> Iterator[WidgetPage]:
    """The demo page at each size in `DEVICES`, opened and connected."""
    page = WidgetPage(browser, site, request.param)
    yield page
    page.close()
