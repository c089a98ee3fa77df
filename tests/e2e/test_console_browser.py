"""The agent console and the user's widget in headless Chromium against the real stack.

An agent logs in, a chat handed off by the real bot appears in the queue (badge + beep),
the agent claims it, searches the KB, types (the widget shows it), replies (the widget shows
it), writes an internal note (the widget never shows it) and resolves; the user sees the
CSAT prompt and rates. A console reload shows the same transcript, nothing lost or doubled.
Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]
OFF_TOPIC = "Which football team won the world cup in 1966?"


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_agent_works_a_handed_off_chat_from_the_console(stack, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    stack.agent_token("console-ana@example.com")  # creates the account (password below)
    errors: list[str] = []

    console = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    user = browser.new_context(viewport={"width": 390, "height": 780}).new_page()
    for page in (console, user):
        page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. The agent logs in.
    console.goto(f"{stack.url}/console")
    console.fill("#login-email", "console-ana@example.com")
    console.fill("#login-password", "agent-password-1")
    console.click("#login-submit")
    expect(console.locator("#conn")).to_have_text("Online", timeout=15_000)
    console.screenshot(path=str(SHOTS / "console-1-logged-in.png"))

    # 2. The user asks something the KB cannot answer: the bot hands off.
    user.goto(f"{stack.url}/")
    user.wait_for_selector(".chat__status--online", timeout=15_000)
    user.fill("#input", OFF_TOPIC)
    user.press("#input", "Enter")
    expect(user.locator(".msg--user .msg__meta").first).to_have_text("Sent", timeout=15_000)
    cid = user.evaluate("localStorage.getItem('tier1.session_id')")

    # 3. It appears in the console's queue, with a title badge and a beep.
    item = console.locator(f'#queue li[data-id="{cid}"]')
    expect(item).to_be_visible(timeout=30_000)
    expect(item.locator(".item__reason")).to_have_text("low_confidence")
    expect(item.locator(".item__wait")).to_have_text(re.compile(r"^\d+:\d\d$"))
    assert re.match(r"^\(\d+\) ", console.title()), console.title()
    assert console.evaluate("window.tier1Beeps || 0") >= 1
    console.screenshot(path=str(SHOTS / "console-2-queued.png"))

    # 4. Open and claim it: the transcript and the bot's context are there.
    item.click()
    expect(console.locator("#transcript .msg--user").first).to_contain_text(OFF_TOPIC)
    expect(console.locator("#ctx-reason")).to_have_text("low_confidence")
    expect(console.locator("#ctx-question")).to_have_text(OFF_TOPIC)
    console.click("#claim")
    expect(console.locator("#conv-status")).to_contain_text("assigned", timeout=10_000)
    expect(console.locator(f'#mine li[data-id="{cid}"]')).to_be_visible(timeout=10_000)

    # 5. Search the KB from the console and insert an answer (agent token on /api/kb/search).
    console.fill("#kb-query", "reset my password")
    console.press("#kb-query", "Enter")
    console.locator("#kb-results .hit__insert").first.click(timeout=10_000)
    inserted = console.input_value("#reply")
    assert len(inserted) > 20
    console.fill("#reply", "")

    # 6. Typing shows in the widget; the reply arrives live.
    console.type("#reply", "Hello! Ana here")
    expect(user.locator("#typing")).to_have_text(re.compile("is typing"), timeout=10_000)
    console.press("#reply", "Enter")
    expect(user.locator(".msg--agent .msg__bubble")).to_have_text("Hello! Ana here",
                                                                   timeout=10_000)
    expect(user.locator(".msg--agent .msg__name")).to_have_text("console-ana")
    expect(user.locator("#typing")).to_be_hidden()

    # 7. An internal note stays in the console.
    console.check('input[name="mode"][value="note"]')
    console.fill("#reply", "internal: customer asked about football")
    console.press("#reply", "Enter")
    expect(console.locator("#transcript .msg--note")).to_contain_text("internal: customer")
    console.check('input[name="mode"][value="reply"]')
    console.screenshot(path=str(SHOTS / "console-3-chatting.png"))

    # 8. Resolve: the user is asked for a rating and gives one.
    console.click("#resolve")
    expect(console.locator("#conv-status")).to_contain_text("resolved", timeout=10_000)
    expect(user.locator(".replies__button")).to_have_count(5, timeout=10_000)
    user.screenshot(path=str(SHOTS / "widget-1-csat-prompt.png"))
    user.click(".replies__button >> text=5")
    expect(user.locator(".msg--bot").last).to_have_text(re.compile("Thank you for your feedback"),
                                                        timeout=10_000)
    assert user.locator("text=internal: customer").count() == 0
    user.screenshot(path=str(SHOTS / "widget-2-rated.png"))

    # 9. A console reload shows the same transcript: nothing lost, nothing doubled.
    count = console.locator("#transcript .msg").count()
    ids = console.eval_on_selector_all("#transcript .msg", "els => els.map(e => e.dataset.id)")
    console.reload()
    expect(console.locator("#conv-status")).to_contain_text("resolved", timeout=15_000)
    expect(console.locator("#transcript .msg")).to_have_count(count, timeout=10_000)
    again = console.eval_on_selector_all("#transcript .msg", "els => els.map(e => e.dataset.id)")
    assert again == ids and len(set(ids)) == len(ids)
    console.screenshot(path=str(SHOTS / "console-4-reloaded.png"))
    assert errors == []
