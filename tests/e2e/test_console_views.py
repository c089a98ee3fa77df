"""The agent console at 1024x768 and on a 390x844 phone (issue 15), against the real stack.

At 1024 px nothing is cut off: the bar (with Log out) and the chat's actions fit, and the
details panel is a drawer behind "Details" instead of a squeezed third column. The points
that depend on the layout are checked again there: the transcript opens at the newest
message and follows, Send waits for the claim, the canned type-ahead opens in view, the
views and search are at hand, and axe finds no serious or critical issue. On a phone the
console shows one pane at a time, with 16 px inputs and 44 px targets.
Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.console_users import ChatUser, handed_off
from tests.e2e.test_console_browser import (
    at_bottom,
    in_viewport,
    login,
    no_blocking_axe,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DAVE = {"name": "Dave Kim", "email": "dave.console@example.com"}


def fits_horizontally(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
        " && [...document.querySelectorAll('.bar, .conv__head')].every("
        "     e => e.scrollWidth <= e.clientWidth + 1)")


def test_the_console_at_1024_and_on_a_phone(stack, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    stack.agent_token("console-cy@example.com")
    errors: list[str] = []
    dave = handed_off(ChatUser(stack.url, DAVE), "I want to talk to a person")
    page = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    phone = None
    try:
        login(page, stack.url, "console-cy@example.com")
        item = page.locator(f'#conversations li[data-id="{dave.id}"]')
        expect(item.locator(".item__name")).to_have_text("Dave Kim", timeout=15_000)
        expect(item.locator(".item__reason")).to_have_text("Asked for a person")
        for tab in ("#view-mine", "#view-unassigned", "#view-open", "#view-resolved", "#search"):
            assert in_viewport(page, tab), tab
        assert in_viewport(page, "#logout") and fits_horizontally(page)

        item.locator(".item__link").click()
        expect(page.locator("#conv-title")).to_have_text("Dave Kim")
        # The details panel is a drawer, closed until asked for; the actions all fit.
        expect(page.locator("#context")).to_be_hidden()
        for selector in ("#claim", "#handback", "#resolve", "#context-toggle", "#logout", "#send"):
            assert in_viewport(page, selector), selector
        assert fits_horizontally(page)
        expect(page.locator("#send")).to_be_disabled()
        expect(page.locator("#resolve")).to_be_disabled()
        expect(page.locator("#handback")).to_be_disabled()
        page.screenshot(path=str(SHOTS / "console-1024-1-queued-chat.png"))
        page.click("#context-toggle")
        expect(page.locator("#context")).to_be_visible()
        expect(page.locator("#ctx-contact")).to_contain_text(DAVE["email"])
        wait_until(lambda: in_viewport(page, "#context"))
        no_blocking_axe(page, "the console at 1024 px with the details drawer open")
        page.screenshot(path=str(SHOTS / "console-1024-2-details-drawer.png"))
        page.keyboard.press("Escape")
        expect(page.locator("#context")).to_be_hidden()

        page.click("#claim")
        expect(page.locator("#conv-status")).to_have_attribute("data-status", "assigned")
        expect(page.locator("#resolve")).to_be_enabled()
        page.fill("#reply", "")
        page.type("#reply", "/")
        expect(page.locator("#canned-menu")).to_be_visible()
        assert in_viewport(page, "#canned-menu")
        page.press("#reply", "Escape")
        page.fill("#reply", "")

        for i in range(12):
            dave.say(f"line {i}")
        expect(page.locator("#transcript .msg--user").last).to_have_text(
            re.compile("line 11"), timeout=10_000)
        wait_until(lambda: at_bottom(page))
        page.evaluate("document.getElementById('transcript').scrollTop = 0")
        assert not at_bottom(page)
        dave.say("one more")
        expect(page.locator("#new-messages")).to_be_visible(timeout=10_000)
        assert in_viewport(page, "#new-messages")
        page.reload()
        expect(page.locator("#conv-title")).to_have_text("Dave Kim", timeout=15_000)
        wait_until(lambda: at_bottom(page), 3)
        expect(page.locator("#new-messages")).to_be_hidden()
        no_blocking_axe(page, "a conversation at 1024 px")
        page.screenshot(path=str(SHOTS / "console-1024-3-assigned-chat.png"))

        # -- a phone: one pane at a time, thumb-sized targets, 16 px inputs --------------------
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True).new_page()
        phone.on("pageerror", lambda e: errors.append(str(e)))
        login(phone, stack.url, "console-cy@example.com")
        phone.click("#view-mine")
        mine = phone.locator(f'#conversations li[data-id="{dave.id}"]')
        expect(mine).to_be_visible(timeout=10_000)
        expect(phone.locator("#conv")).to_be_hidden()
        assert fits_horizontally(phone)
        phone.screenshot(path=str(SHOTS / "console-phone-1-list.png"))
        mine.locator(".item__link").click()
        expect(phone.locator("#conv-title")).to_have_text("Dave Kim")
        expect(phone.locator("#lists")).to_be_hidden()
        for selector in ("#back", "#send", "#logout"):
            assert in_viewport(phone, selector), selector
            assert phone.locator(selector).bounding_box()["height"] >= 44, selector
        assert phone.evaluate("getComputedStyle(document.getElementById('reply')).fontSize") == "16px"
        assert fits_horizontally(phone)
        wait_until(lambda: at_bottom(phone), 3)
        phone.fill("#reply", "Hi Dave, from my phone")
        phone.click("#send")
        expect(phone.locator("#transcript .msg--agent").last).to_have_text(
            re.compile("from my phone"))
        dave.wait_for(lambda m: m.get("text") == "Hi Dave, from my phone")
        phone.screenshot(path=str(SHOTS / "console-phone-2-chat.png"))
        phone.click("#back")
        expect(phone.locator("#lists")).to_be_visible()
        assert errors == []
    finally:
        dave.close()
        page.context.close()
        if phone is not None:
            phone.context.close()
