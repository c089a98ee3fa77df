"""The agent console in headless Chromium at 1440x900 against the real stack (issue 15).

Users talk to the real bot over the widget's socket protocol (tests/e2e/console_users.py);
an agent works their chats in the console: the queue tells them apart (name, human reason,
the user's own last message, first question, live wait), buttons and the reply box follow
the chat's status, a refusal shows in the notice bar and clears, canned shortcuts expand
and are never sent literally, payloads read as what the user clicked, the transcript opens
at the newest message and follows (or offers a "new messages" pill), the details panel
shows the contact, earlier chats and the bot's hits with weak ones folded away, keyboard
shortcuts work outside text fields, search finds chats, and a 5/5 rating shows in green.
axe finds no serious or critical issue on the login screen, the queue and a conversation.
Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.axe import serious_violations
from tests.e2e.console_users import ChatUser, handed_off

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
OFF_TOPIC = "Which football team won the world cup in 1966?"
MARIA = {"name": "Maria Garcia", "email": "maria.console@example.com", "plan": "pro"}
PASSWORD = "agent-password-1"


def login(page, url: str, email: str) -> None:
    page.goto(f"{url}/console")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#conn")).to_have_text("Online", timeout=15_000)


def at_bottom(page) -> bool:
    return page.evaluate(
        "() => { const t = document.getElementById('transcript');"
        " return t.scrollHeight - t.scrollTop - t.clientHeight < 4; }")


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and (
        box["x"] + box["width"] <= size["width"] + 0.5) and (
        box["y"] + box["height"] <= size["height"] + 0.5)


def no_blocking_axe(page, where: str) -> None:
    found = serious_violations(page)
    assert found == [], f"axe on {where}: {found}"


def wait_until(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_an_agent_works_chats_in_the_console(stack, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    stack.agent_token("console-ana@example.com")
    bo = {"Authorization": f"Bearer {stack.agent_token('console-bo@example.com')}"}
    canned = {c["shortcut"]: c["text"] for c in httpx.get(
        f"{stack.url}/api/canned-responses", headers=bo).json()}
    errors: list[str] = []
    users: list[ChatUser] = []

    # Maria chatted with the bot before; today she asks, rates the answer with a button
    # (the widget sends its title as display_text) and asks for a person.
    earlier = ChatUser(stack.url, MARIA)
    users.append(earlier)
    earlier.connect()
    earlier.say("Where is my parcel?")
    earlier.wait_for(lambda m: True)
    maria = ChatUser(stack.url, MARIA)
    users.append(maria)
    maria.connect()
    maria.say("How do I reset my password?")
    maria.buttons("/feedback_helpful")
    maria.say("/feedback_helpful", display_text="👍 Helpful")
    maria.next()  # the bot's answer to the rating
    maria.say("I want to talk to a person")
    maria.wait_for_text("connecting you")

    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{stack.url}/console")
        expect(page.locator("#login-form")).to_be_visible()
        no_blocking_axe(page, "the login screen")
        page.screenshot(path=str(SHOTS / "console-1440-0-login.png"))
        login(page, stack.url, "console-ana@example.com")

        # -- the queue: a new chat beeps; items tell chats apart ------------------------------
        anon = handed_off(ChatUser(stack.url), OFF_TOPIC)
        users.append(anon)
        expect(page.locator("#view-unassigned")).to_have_attribute("aria-selected", "true")
        item = page.locator(f'#conversations li[data-id="{maria.id}"]')
        other = page.locator(f'#conversations li[data-id="{anon.id}"]')
        expect(other).to_be_visible(timeout=15_000)
        assert page.evaluate("window.tier1Beeps || 0") >= 1
        assert re.match(r"^\(\d+\) ", page.title()), page.title()
        expect(item.locator(".item__name")).to_have_text("Maria Garcia")
        expect(item.locator(".item__email")).to_have_text(MARIA["email"])
        expect(item.locator(".item__reason")).to_have_text("Asked for a person")
        expect(item.locator(".item__last")).to_have_text("I want to talk to a person")
        expect(item.locator(".item__first")).to_have_text("First: How do I reset my password?")
        expect(item.locator(".item__wait")).to_have_text(re.compile(r"^\d+:\d\d$"))
        expect(other.locator(".item__name")).to_have_text(re.compile(r"^Visitor "))
        expect(other.locator(".item__reason")).to_have_text("Bot not confident")
        expect(other.locator(".item__last")).to_have_text(OFF_TOPIC)
        assert "connecting you" not in page.inner_text("#conversations").lower()
        assert int(page.inner_text("#count-unassigned")) >= 2
        no_blocking_axe(page, "the queue")
        page.screenshot(path=str(SHOTS / "console-1440-1-queue.png"))

        # -- open a queued chat: nothing can be done before claiming it -----------------------
        item.locator(".item__link").click()
        expect(page.locator("#conv-title")).to_have_text("Maria Garcia")
        expect(page.locator("#conv-status")).to_have_attribute("data-status", "queued")
        for button in ("#send", "#resolve", "#handback"):
            expect(page.locator(button)).to_be_disabled()
        expect(page.locator("#reply-hint")).to_contain_text("Claim this chat")
        page.fill("#reply", "hello?")
        page.press("#reply", "Enter")
        notice = page.locator("#notice")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("Claim this chat")
        assert in_viewport(page, "#notice")
        assert page.input_value("#reply") == "hello?"  # kept, not lost
        expect(page.locator("#transcript .msg--agent")).to_have_count(0)

        # Payloads read as what was clicked; no empty bot bubbles; the source under the answer.
        transcript = page.locator("#transcript")
        expect(transcript.locator(".msg--clicked")).to_have_text(re.compile("👍 Helpful"))
        assert "/feedback_helpful" not in transcript.inner_text()
        assert page.evaluate("""() => [...document.querySelectorAll('#transcript .msg--bot')]
            .every(li => li.querySelector('.msg__text, .msg__options, .msg__source'))""")
        answer = transcript.locator(".msg--bot", has=page.locator(".msg__source a"))
        expect(answer).to_have_count(1)
        expect(answer.locator(".msg__text")).to_contain_text("password")
        stamp = transcript.locator(".msg time").first
        expect(stamp).to_have_text(re.compile(r"just now|min ago"))
        assert re.search(r"\d{4}", stamp.get_attribute("title"))

        # The details panel: contact, question, reason, earlier chat, hits with weak folded.
        expect(page.locator("#context")).to_be_visible()
        expect(page.locator("#ctx-contact")).to_contain_text("Maria Garcia")
        expect(page.locator("#ctx-contact")).to_contain_text(MARIA["email"])
        expect(page.locator("#ctx-contact")).to_contain_text("pro")
        expect(page.locator("#ctx-reason")).to_have_text("Asked for a person")
        expect(page.locator("#ctx-first")).to_have_text("How do I reset my password?")
        expect(page.locator(f'#ctx-previous a[href="#{earlier.id}"]')).to_contain_text(
            "Where is my parcel?")
        expect(page.locator("#ctx-hits .hit").first).to_be_visible()
        threshold = page.evaluate("window.tier1Console.kbThreshold")
        assert threshold is not None  # learnt from the suggested-articles search
        scores = page.evaluate("""() => ['#ctx-hits', '#ctx-weak-hits'].map(s =>
            [...document.querySelectorAll(s + ' .hit__score')].map(n => parseFloat(
                n.textContent.replace('score', ''))))""")
        assert all(s >= threshold for s in scores[0]) and all(s < threshold for s in scores[1])
        if scores[1]:
            expect(page.locator("#ctx-weak")).not_to_have_attribute("open", "")
        no_blocking_axe(page, "a queued conversation")
        page.screenshot(path=str(SHOTS / "console-1440-2-queued-chat.png"))

        # -- claim with the keyboard (c), outside the text field -------------------------------
        page.press("#reply", "Escape")
        page.keyboard.press("c")
        expect(page.locator("#conv-status")).to_have_attribute("data-status", "assigned")
        expect(page.locator("#conv-status")).to_have_text("Assigned to you")
        expect(notice).to_have_class(re.compile("notice--success"))  # the warning cleared
        for button in ("#send", "#resolve", "#handback"):
            expect(page.locator(button)).to_be_enabled()
        maria.wait_for_text("joined the chat")

        # -- canned responses: type-ahead, and a typed shortcut is expanded, not sent ---------
        page.fill("#reply", "")
        page.type("#reply", "/gre")
        menu = page.locator("#canned-menu")
        expect(menu).to_be_visible()
        expect(menu.locator(".canned__item").first).to_contain_text("/greeting")
        page.press("#reply", "Enter")
        expect(menu).to_be_hidden()
        assert page.input_value("#reply") == canned["greeting"]
        maria_typing = maria.typing.get(timeout=10)  # the user sees the agent typing
        assert maria_typing["typing"] is True
        page.press("#reply", "Enter")
        expect(transcript.locator(".msg--agent")).to_have_count(1)
        maria.wait_for(lambda m: m.get("text") == canned["greeting"])
        page.fill("#reply", "/closing")
        page.press("#reply", "Escape")  # closes the menu; the text stays
        page.press("#reply", "Enter")
        assert page.input_value("#reply") == canned["closing"]
        expect(transcript.locator(".msg--agent")).to_have_count(1)
        expect(notice).to_contain_text("Canned response inserted")
        page.press("#reply", "Control+Enter")
        expect(transcript.locator(".msg--agent")).to_have_count(2)
        maria.wait_for(lambda m: m.get("text") == canned["closing"])

        # -- the transcript follows new messages, or offers a pill when scrolled up -----------
        for i in range(8):
            maria.say(f"detail number {i}")
        expect(transcript.locator(".msg--user").last).to_have_text(
            re.compile("detail number 7"), timeout=10_000)
        wait_until(lambda: at_bottom(page))
        page.evaluate("document.getElementById('transcript').scrollTop = 0")
        assert not at_bottom(page)  # the agent scrolled up to read
        maria.say("are you still there?")
        pill = page.locator("#new-messages")
        expect(pill).to_be_visible(timeout=10_000)
        expect(pill).to_have_text(re.compile("1 new message"))
        assert not at_bottom(page)
        page.screenshot(path=str(SHOTS / "console-1440-3-new-messages-pill.png"))
        pill.click()
        wait_until(lambda: at_bottom(page))
        expect(pill).to_be_hidden()

        # -- an internal note with the keyboard (n); the user never sees it -------------------
        transcript.click()
        page.keyboard.press("n")
        expect(page.locator('input[name="mode"][value="note"]')).to_be_checked()
        page.keyboard.type("internal: VIP customer")  # the box has the focus
        page.keyboard.press("Enter")
        expect(transcript.locator(".msg--note")).to_contain_text("internal: VIP customer")

        # -- help overlay (?), not while typing ----------------------------------------------
        page.fill("#reply", "")
        page.type("#reply", "?")
        expect(page.locator("#help")).to_be_hidden()
        page.fill("#reply", "")
        page.press("#reply", "Escape")
        page.keyboard.press("?")
        expect(page.locator("#help")).to_be_visible()
        expect(page.locator("#help-keys")).to_contain_text("Resolve")
        no_blocking_axe(page, "the shortcut help")
        page.keyboard.press("Escape")
        expect(page.locator("#help")).to_be_hidden()

        # -- views and search -----------------------------------------------------------------
        page.click("#view-mine")
        expect(page.locator(f'#conversations li[data-id="{maria.id}"]')).to_be_visible()
        page.click("#view-open")
        anon_item = page.locator(f'#conversations li[data-id="{anon.id}"]')
        expect(anon_item).to_be_visible()
        # j / k step through the list.
        listed = page.eval_on_selector_all("#conversations li", "els => els.map(e => e.dataset.id)")
        at = listed.index(maria.id)
        key, target = ("j", listed[at + 1]) if at + 1 < len(listed) else ("k", listed[at - 1])
        page.locator("#conv-title").click()
        page.keyboard.press(key)
        expect(page.locator(f'#conversations li[data-id="{target}"]')).to_have_class(
            re.compile("item--active"))
        page.keyboard.press("k" if key == "j" else "j")
        expect(page.locator("#conv-title")).to_have_text("Maria Garcia")
        # A user writing in a chat that is not open marks it unread, with the new preview.
        anon.say("hello? is anyone there?")
        expect(anon_item).to_have_class(re.compile("item--unread"), timeout=10_000)
        expect(anon_item.locator(".item__last")).to_have_text("hello? is anyone there?")
        page.fill("#search", "parcel")
        found = page.locator(f'#conversations li[data-id="{earlier.id}"]')
        expect(found).to_be_visible(timeout=10_000)
        expect(found.locator(".item__last")).to_contain_text("parcel")
        expect(page.locator("#search-heading")).to_contain_text("in all conversations")
        page.fill("#search", MARIA["email"])
        expect(page.locator(f'#conversations li[data-id="{maria.id}"]')).to_be_visible()
        expect(found).to_be_visible()
        page.press("#search", "Escape")
        expect(page.locator("#search-heading")).to_be_hidden()

        # -- a chat someone else takes: reply off, resolve off ----------------------------------
        page.locator(f'#conversations li[data-id="{anon.id}"] .item__link').click()
        expect(page.locator("#conv-title")).to_have_text(re.compile("^Visitor "))
        expect(page.locator("#ctx-previous")).to_contain_text("Unknown user")
        expect(page.locator("#ctx-hits")).to_contain_text("No confident match")
        expect(page.locator("#ctx-weak")).to_be_visible()
        expect(page.locator("#ctx-weak")).not_to_have_attribute("open", "")
        r = httpx.post(f"{stack.url}/api/conversations/{anon.id}/claim", headers=bo)
        assert r.status_code == 200, r.text
        expect(page.locator("#conv-status")).to_have_text("Assigned to console-bo", timeout=10_000)
        expect(page.locator("#send")).to_be_disabled()
        expect(page.locator("#resolve")).to_be_disabled()
        expect(page.locator("#reply-hint")).to_contain_text("console-bo holds this chat")

        # -- back to Maria: it opens at the newest message ------------------------------------
        page.click("#view-mine")
        page.locator(f'#conversations li[data-id="{maria.id}"] .item__link').click()
        expect(page.locator("#conv-title")).to_have_text("Maria Garcia")
        wait_until(lambda: at_bottom(page), 3)

        # -- resolve (e): the reply box closes; a 5/5 rating shows in green --------------------
        page.locator("#conv-title").click()
        page.keyboard.press("e")
        expect(page.locator("#conv-status")).to_have_attribute("data-status", "resolved")
        expect(page.locator("#reply")).to_be_disabled()
        expect(page.locator("#send")).to_be_disabled()
        expect(page.locator("#reply-hint")).to_contain_text("resolved")
        buttons = maria.buttons("/csat")
        five = next(b for b in buttons if b["payload"] == '/csat{"rating":5}')
        maria.say(five["payload"], display_text=five["title"])
        expect(notice).to_contain_text("rated this chat 5/5", timeout=10_000)
        expect(notice).to_have_class(re.compile("notice--success"))
        red, green, _ = page.evaluate("""() => getComputedStyle(document.getElementById('notice'))
            .backgroundColor.match(/\\d+/g).map(Number)""")
        assert green > red, "a positive rating is not shown in red"
        expect(transcript.locator(".msg--user").last).to_have_text(re.compile("Rated 5/5"))
        assert "/csat" not in transcript.inner_text()
        wait_until(lambda: at_bottom(page))
        page.screenshot(path=str(SHOTS / "console-1440-4-resolved-rated.png"))
        page.click("#view-resolved")
        expect(page.locator(f'#conversations li[data-id="{maria.id}"]')).to_be_visible()
        sent = [m.get("text") or "" for m in maria.drain()]
        assert not any(t.startswith("/") or "VIP" in t for t in sent), sent

        # Labels without display_text: the bot's button title, a known payload, a rating.
        labels = page.evaluate("""() => { const C = window.tier1Console; return [
            C.userLabel({text: '/choose_article{"article_id":"3"}'},
                        {'/choose_article{"article_id":"3"}': 'Reset a password'}).text,
            C.userLabel({text: '/feedback_not_helpful'}, {}).text,
            C.userLabel({text: '/csat{"rating":2}'}, {}).text,
            C.userLabel({text: '/some_new_intent'}, {}).text,
            C.userLabel({text: 'a/b is not a payload'}, {}).text,
            C.reasonLabel('negative_feedback'), C.reasonLabel('made_up_reason'),
            C.expandShortcuts('Hi! /GREETING. Also /nope'),
        ]; }""")
        assert labels == ["Reset a password", "👎 Not helpful", "Rated 2/5", "Some new intent",
                          "a/b is not a payload", "Answer didn't help", "Made up reason",
                          f"Hi! {canned['greeting']}. Also /nope"]

        # -- a reload shows the same transcript: nothing lost, nothing doubled -----------------
        ids = page.eval_on_selector_all("#transcript .msg", "els => els.map(e => e.dataset.id)")
        page.reload()
        expect(page.locator("#conv-status")).to_have_attribute("data-status", "resolved",
                                                                timeout=15_000)
        expect(page.locator("#transcript .msg")).to_have_count(len(ids), timeout=10_000)
        again = page.eval_on_selector_all("#transcript .msg", "els => els.map(e => e.dataset.id)")
        assert again == ids and len(set(ids)) == len(ids)
        wait_until(lambda: at_bottom(page), 3)
        no_blocking_axe(page, "a resolved conversation")
        page.screenshot(path=str(SHOTS / "console-1440-5-reloaded.png"))
        assert errors == []
    finally:
        for user in users:
            user.close()
        page.context.close()
