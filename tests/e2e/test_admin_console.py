"""The admin console in headless Chromium against the real stack (tier1 run).

1. An import with an error row shows the row's error and writes nothing.
2. A question the bot hands off today shows up in the unanswered inbox; one click attaches it
   to an article, and a new chat asking the same question gets that article's answer.
3. The dashboard shows the figures of a seeded, hand-counted data set.
Screenshots go to artifacts/screenshots/admin-*.png.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import create_engine

from tests.handoff.analytics_seed import seed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
# Its own off-topic question: attaching it changes the shared KB for the rest of the session.
QUESTION = "How many moons does Jupiter have?"
EMAIL, PASSWORD = "console-admin@example.com", "agent-password-1"


@pytest.fixture(scope="module")
def page(stack):
    SHOTS.mkdir(parents=True, exist_ok=True)
    created = stack.tier1("agent", "create", "--email", EMAIL, "--password", PASSWORD,
                          "--role", "admin")
    assert created.returncode == 0, created.stderr
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{stack.url}/admin")
        page.fill("input[name=username]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button")
        expect(page.locator("#app")).to_be_visible(timeout=15_000)
        yield page
        assert errors == []
        browser.close()


def ask(stack, text: str) -> list[dict]:
    """One user turn through the REST chat API (as a native app would); the bot's messages."""
    s = httpx.post(f"{stack.url}/api/chat/sessions", json={}, timeout=30)
    assert s.status_code == 201, s.text
    sid, headers = s.json()["session_id"], {"Authorization": f"Bearer {s.json()['session_token']}"}
    url = f"{stack.url}/api/chat/sessions/{sid}/messages"
    r = httpx.post(url, json={"text": text, "client_id": "q1"}, headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        bot = [m for m in httpx.get(url, headers=headers, timeout=10).json()
               if m.get("sender") == "bot"]
        if bot:
            time.sleep(2)  # the rest of the turn (feedback question, handoff notice)
            return [m for m in httpx.get(url, headers=headers, timeout=10).json()
                    if m.get("sender") == "bot"]
        time.sleep(0.3)
    pytest.fail("the bot did not reply within 30 s")


def test_import_with_an_error_row_writes_nothing(stack, page, tmp_path):
    page.click("#tabs button[data-tab=articles]")
    expect(page.locator("#article-rows tr").first).to_be_visible()
    before = page.locator("#article-rows tr").count()
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"version": 1, "articles": [
        {"slug": "fine-article", "title": "Fine", "answer": "ok", "questions": ["fine?"]},
        {"slug": "Bad Slug!", "title": "", "answer": "x"}]}))
    page.click("#tabs button[data-tab=import]")
    page.set_input_files("#import-form input[type=file]", str(bad))
    page.click("#import-form button")
    expect(page.locator("#import-result .error")).to_contain_text("Nothing was imported")
    page.screenshot(path=str(SHOTS / "admin-1-import-error.png"))
    page.click("#tabs button[data-tab=articles]")
    expect(page.locator("#article-rows tr")).to_have_count(before)


def test_an_unanswered_question_is_fixed_from_the_inbox(stack, page):
    replies = ask(stack, QUESTION)
    assert any("not sure" in (m.get("text") or "").lower() for m in replies), replies
    page.click("#tabs button[data-tab=inbox]")
    card = page.locator(".card", has_text=QUESTION)
    expect(card).to_be_visible(timeout=15_000)
    card.locator("select").select_option(label="How do I contact customer support and when are you open?")
    page.screenshot(path=str(SHOTS / "admin-2-inbox.png"))
    card.locator("button.attach").click()
    expect(page.locator("#flash")).to_contain_text("the bot answers them now")
    expect(page.locator(".card", has_text=QUESTION)).to_have_count(0)
    replies = ask(stack, QUESTION)
    assert any("open 24/7" in (m.get("text") or "") for m in replies), replies


def test_the_dashboard_shows_the_seeded_figures(stack, page):
    url = yaml.safe_load(stack.config.read_text())["database"]["url"]
    engine = create_engine(url, future=True)
    seed(engine, article_ids=(1, 2))
    engine.dispose()
    page.click("#tabs button[data-tab=analytics]")
    page.fill("#range input[name=start]", "2024-03-01")
    page.fill("#range input[name=end]", "2024-03-07")
    page.click("#range button")
    expect(page.locator('[data-figure="Conversations"] .figure__value')).to_have_text("7")
    expect(page.locator('[data-figure="Automated resolution"] .figure__value')).to_have_text("28.6%")
    expect(page.locator('[data-figure="Handoff rate"] .figure__value')).to_have_text("57.1%")
    expect(page.locator('[data-figure="Median first reply"] .figure__value')).to_have_text("120 s")
    expect(page.locator("#chart-reasons svg rect")).to_have_count(3)
    page.screenshot(path=str(SHOTS / "admin-3-dashboard.png"), full_page=True)
