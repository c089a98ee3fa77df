"""The widget on a phone (390x844, touch) in headless Chromium, against a live gateway.

iOS and Android conventions: 16 px inputs (iOS zooms into smaller ones on focus), 44 px touch
targets (checked at the desktop size too), the notch and home indicator kept clear
(safe-area insets emulated through the DevTools protocol), the newest message in view when
the on-screen keyboard shrinks the viewport, and focus kept inside the full-screen chat.
Screenshots go to artifacts/screenshots/widget-phone-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.handoff import widget_page
from tests.handoff.widget_page import WidgetPage

# The shared fixtures: the served widget, Chromium, and a page at each device size.
site, browser, widget = widget_page.site, widget_page.browser, widget_page.widget

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TARGET = 44
# Where focus is: the element inside the widget's shadow root, else on the page.
ACTIVE = """() => {
    const host = document.getElementById("tier1-widget");
    const el = document.activeElement === host
        ? host.shadowRoot.activeElement : document.activeElement;
    return el ? (el.id || el.className || el.tagName) : null;
}"""


def size(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return box["width"], box["height"]


def test_inputs_are_16px_and_every_control_is_a_44px_target(site, widget):
    page = widget.page
    assert page.locator("#input").evaluate("e => getComputedStyle(e).fontSize") == "16px"
    widget.send("How do I reset my password?")
    expect(page.locator(".feedback__button")).to_have_count(2, timeout=10_000)
    widget.send("menu")
    expect(page.locator(".replies__button")).to_have_count(2, timeout=10_000)

    def check(*selectors: str) -> None:
        for selector in selectors:
            count = page.locator(selector).count()
            assert count, selector
            for i in range(count):
                width, height = size(page.locator(selector).nth(i))
                assert width >= TARGET and height >= TARGET, (selector, i, width, height)

    check("#close", "#new-chat", "#send", "#human", ".feedback__button", ".replies__button")
    widget.shot("11-targets")
    sid = widget.session_id
    agent = site.agent("fay@example.com", "Fay")
    site.hand_off(sid)
    site.claim(sid, agent)
    site.resolve(sid, agent)
    expect(page.locator(".csat__option")).to_have_count(5, timeout=10_000)
    check(".csat__option")
    page.locator("#close").click()
    width, height = size(page.locator("#launcher"))
    assert width >= TARGET and height >= TARGET


def test_the_full_screen_chat_keeps_clear_of_the_notch_and_home_indicator(site, browser):
    w = WidgetPage(browser, site, "phone")
    page = w.page
    cdp = w.context.new_cdp_session(page)
    cdp.send("Emulation.setSafeAreaInsetsOverride",
             {"insets": {"top": 47, "bottom": 34, "left": 0, "right": 0}})
    expect(page.locator("#panel")).to_have_js_property("offsetHeight", 844)
    assert page.locator("#title").bounding_box()["y"] >= 47
    assert page.locator("#close").bounding_box()["y"] >= 47
    send = page.locator("#send").bounding_box()
    assert send["y"] + send["height"] <= 844 - 34
    w.shot("12-safe-area")
    # Landscape: the rounded corners and the notch are at the sides.
    page.set_viewport_size({"width": 844, "height": 390})
    cdp.send("Emulation.setSafeAreaInsetsOverride",
             {"insets": {"top": 0, "bottom": 21, "left": 47, "right": 47}})
    page.set_viewport_size({"width": 480, "height": 390})  # still the full-screen layout
    for selector in ("#title", ".chat__avatar", "#input"):
        assert page.locator(selector).bounding_box()["x"] >= 47, selector
    close = page.locator("#close").bounding_box()
    assert close["x"] + close["width"] <= 480 - 47
    w.close()


def test_the_newest_message_stays_in_view_when_the_keyboard_opens(site, browser):
    w = WidgetPage(browser, site, "phone")
    page = w.page
    for i in range(8):
        w.send(f"message number {i}")
    newest = page.locator(".msg--bot", has_text="echo: message number 7")
    expect(newest).to_be_visible(timeout=10_000)

    def in_view(locator) -> bool:
        box = locator.bounding_box()
        body = page.locator(".chat__body").bounding_box()
        return body["y"] <= box["y"] and box["y"] + box["height"] <= body["y"] + body["height"] + 1

    assert in_view(newest)
    page.locator("#input").focus()
    # The keyboard takes the bottom 364 px: Chromium emulates it by shrinking the viewport,
    # which is what the visual viewport does on iOS and on Android's Chrome.
    page.set_viewport_size({"width": 390, "height": 480})
    expect(page.locator("#panel")).to_have_js_property("offsetHeight", 480)
    page.wait_for_function("() => true")  # let the resize handlers run
    assert in_view(newest)
    send = page.locator("#send").bounding_box()
    assert send["y"] + send["height"] <= 480
    w.shot("13-keyboard-open")
    # A message arriving while the keyboard is open is shown too.
    w.send("one more while typing")
    newer = page.locator(".msg--bot", has_text="echo: one more while typing")
    expect(newer).to_be_visible(timeout=10_000)
    page.wait_for_timeout(100)
    assert in_view(newer)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#panel")).to_have_js_property("offsetHeight", 844)
    assert in_view(newer)
    w.close()


def test_focus_stays_inside_the_full_screen_chat(site, widget):
    page = widget.page
    widget.send("How do I reset my password?")
    expect(page.locator(".feedback__button")).to_have_count(2, timeout=10_000)
    if widget.device == "desktop":
        # A panel beside the page, not a modal: nothing to trap.
        expect(page.locator("#panel")).not_to_have_attribute("aria-modal", "true")
        return
    expect(page.locator("#panel")).to_have_attribute("aria-modal", "true")
    page.locator("#new-chat").focus()
    seen = []
    for _ in range(14):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(ACTIVE))
    assert "launcher" not in seen and None not in seen and "BODY" not in seen, seen
    # Round and round: after Send comes the first control again.
    after_send = seen.index("send") + 1
    assert seen[after_send] == "new-chat", seen
    page.locator("#new-chat").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(ACTIVE) == "send"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(ACTIVE) == "input"
    # Focus sent to the page behind (a screen reader's virtual cursor, a script) comes back.
    page.evaluate("""() => {
        const b = document.createElement("button"); b.id = "page-button"; b.textContent = "x";
        document.body.prepend(b); b.focus();
    }""")
    assert page.evaluate(ACTIVE) == "panel"
    # Escape still closes it, and then the page is the page again.
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    page.evaluate("document.getElementById('page-button').focus()")
    assert page.evaluate(ACTIVE) == "page-button"
