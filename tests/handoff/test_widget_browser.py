"""The demo widget in headless Chromium against a live gateway (in-memory Rasa twin).

Each point of issue 15's widget list at a desktop (1440x900) and a phone (390x844, touch):
one feedback prompt per answer, old questions going inactive, a header that says whether the
team is online (live, as agents come and go) and a connection banner only when it is bad,
agent identity, timestamps, receipts, the typing indicator, the launcher as a close button,
labelled rating options, and axe with no serious or critical violation. Screenshots go to
artifacts/screenshots/widget-<device>-*.png. Phone-only behaviour: test_widget_phone.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.axe import serious_violations
from tests.handoff import widget_page
from tests.handoff.widget_page import WidgetPage

# The shared fixtures: the served widget, Chromium, and a page at each device size.
site, browser, widget = widget_page.site, widget_page.browser, widget_page.widget

pytestmark = [pytest.mark.integration, pytest.mark.slow]

THANKS = "Thanks for the feedback."


def sent_to_bot(site, session_id: str) -> list[str]:
    return [text for cid, text, _ in site.rasa.sent if cid == session_id]


def shown_ids(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all(
        "#log [data-id]", "els => els.map(e => e.dataset.id)")]


def history(page) -> list[dict]:
    """What the socket says the conversation holds, in rasa-webchat's bot_uttered shape."""
    return page.evaluate("""async () => {
        const w = window.Tier1Widget.instance;
        return await w.socket.timeout(5000).emitWithAck(
            "history", { session_id: w.session().session_id, after_id: null });
    }""")


def test_widget_chats_shows_quick_replies_agents_and_replays_history(site, browser):
    w = WidgetPage(browser, site, "phone")
    page = w.page
    w.send("hello there")
    page.wait_for_selector("text=echo: hello there", timeout=10_000)
    expect(page.locator(".msg--user .msg__meta")).to_have_text("Sent", timeout=10_000)

    w.send("menu")
    page.wait_for_selector(".replies__button", timeout=10_000)
    # Bot text is shown as text, never parsed as HTML.
    assert page.locator(".msg--bot b").count() == 0
    expect(page.locator(".msg--bot .msg__bubble").last).to_have_text("Pick a topic <b>now</b>")
    page.click("text=Shipping")
    page.wait_for_selector("text=echo: /shipping", timeout=10_000)
    expect(page.locator(".msg--user .msg__bubble").last).to_have_text("Shipping")

    session_id = w.session_id
    ana = site.agent("ana@example.com", "Ana")
    site.hand_off(session_id)
    site.claim(session_id, ana)
    site.reply(session_id, ana, "Hi, Ana here <img src=x onerror=alert(1)>")
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
    assert w.session_id == session_id
    w.close()


def test_widget_works_under_a_path_prefix(site, browser):
    page = browser.new_page()
    failed: list[str] = []
    paths: list[str] = []
    page.on("request", lambda r: paths.append(r.url[len(site.url) :]))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.goto(site.url + "/support/")
    page.wait_for_selector('#panel[data-connection="online"]', timeout=10_000)
    page.fill("#input", "prefixed")
    page.press("#input", "Enter")
    page.wait_for_selector("text=echo: prefixed", timeout=10_000)
    assert failed == []
    # Every request (page, assets, socket.io polling and websocket) stayed under the prefix.
    assert any(p.startswith("/support/socket.io/") for p in paths)
    assert all(p.startswith("/support/") for p in paths), paths
    page.close()


def test_one_feedback_prompt_per_answer_and_old_questions_go_inactive(site, widget):
    page = widget.page
    widget.send("How do I reset my password?")
    answer = page.locator(".msg--bot", has=page.locator(".msg__source"))
    expect(answer).to_have_count(1, timeout=10_000)
    prompt = answer.locator(".feedback")
    expect(prompt).to_have_count(1)
    # The bot's "Did this help?" quick replies ARE the thumbs under the answer: one prompt.
    expect(prompt.locator(".feedback__question")).to_have_text("Did this help?")
    expect(page.locator(".feedback")).to_have_count(1)
    expect(page.locator(".replies")).to_have_count(0)
    expect(page.get_by_role("button", name="Yes")).to_have_count(0)
    # ...while the wire still carries them as quick replies, all rasa-webchat users get.
    wire = [m for m in history(page) if m.get("text") == "Did this help?"]
    assert [r["payload"] for r in wire[0]["quick_replies"]] == [
        "/feedback_helpful", "/feedback_not_helpful"]
    up = prompt.get_by_role("button", name="Helpful", exact=True)
    down = prompt.get_by_role("button", name="Not helpful")
    expect(up).to_be_enabled()
    widget.shot("1-answer-feedback")

    up.click()
    expect(prompt.locator(".feedback__status")).to_have_text(THANKS)
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(up).to_be_disabled()
    expect(down).to_be_disabled()
    expect(page.locator(".msg--bot").last).to_have_text("Glad that helped!", timeout=10_000)
    sid = widget.session_id
    assert sent_to_bot(site, sid)[-1] == "/feedback_helpful"  # the quick reply's payload
    expect(page.locator(".msg--user")).to_have_count(1)  # the answer sits on the prompt

    # A second answer has a prompt of its own; anything newer retires an unanswered one,
    # as it does a quick reply nobody tapped.
    widget.send("and the password for the app?")
    expect(page.locator(".feedback")).to_have_count(2, timeout=10_000)
    second = page.locator(".feedback").nth(1)
    expect(second.locator("button:enabled")).to_have_count(2)
    widget.send("menu")
    expect(page.locator(".replies__button")).to_have_count(2, timeout=10_000)
    expect(second.locator("button:disabled")).to_have_count(2)
    expect(page.locator(".replies__button:enabled")).to_have_count(2)
    widget.send("something else")
    expect(page.locator(".msg--bot").last).to_have_text("echo: something else", timeout=10_000)
    expect(page.locator(".replies__button:disabled")).to_have_count(2)
    expect(page.locator("#log button:enabled")).to_have_count(0)
    widget.shot("2-old-questions-inactive")

    # The same after a reload, from history: the answer shown on its prompt, never as
    # "/feedback_helpful"; every stored message on screen once.
    page.reload()
    expect(page.locator(".feedback")).to_have_count(2, timeout=10_000)
    first = page.locator(".feedback").first
    expect(first.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true")
    expect(first.locator(".feedback__status")).to_have_text(THANKS)
    expect(page.locator("#log button:enabled")).to_have_count(0)
    expect(page.locator(".msg--user")).to_have_count(4)  # the typed ones, no thumb
    assert "/feedback" not in page.locator("#log").inner_text()
    ids = shown_ids(page)
    assert len(ids) == len(set(ids))
    assert set(ids) == {m["metadata"]["message_id"] for m in history(page)}

    # "No" works the same way: the same payload the bot's quick reply carries.
    widget.send("password, once more")
    third = page.locator(".feedback").nth(2)
    third.get_by_role("button", name="Not helpful").click()
    expect(page.locator(".msg--bot").last).to_contain_text("Sorry that didn't help",
                                                          timeout=10_000)
    assert sent_to_bot(site, sid)[-1] == "/feedback_not_helpful"


def test_the_header_says_whether_the_team_is_online_live(site, browser, widget):
    page = widget.page
    status = page.locator("#status")
    queue = page.locator("#queue")
    expect(status).to_have_attribute("data-team", "away")
    expect(status).to_have_text("Our team is away")
    expect(page.locator("#offline")).to_be_hidden()  # connected: nothing about the socket
    header = page.locator(".chat__header").inner_text().replace("Our team is", "")
    assert not re.search(r"\bonline\b", header, re.IGNORECASE)  # no "● Online" for the socket

    site.hand_off(widget.session_id)
    expect(queue).to_contain_text("No one from the team is online", timeout=10_000)
    expect(status).to_have_text("Our team is away")
    widget.shot("3-queued-nobody-online")

    cleo = site.agent("cleo@example.com", "Cleo")
    with site.console(cleo):
        # Within seconds of an agent opening the console, not at the next queue change.
        expect(status).to_have_attribute("data-team", "online", timeout=5_000)
        expect(status).to_have_text("Our team is online")
        expect(queue).to_contain_text(re.compile(r"Estimated wait: about \d+ min"), timeout=5_000)
        expect(queue).not_to_contain_text("No one")
        widget.shot("4-queued-team-online")
        # A page opened now is told at once, in the session's acknowledgement.
        late = WidgetPage(browser, site, widget.device)
        expect(late.page.locator("#status")).to_have_text("Our team is online")
        late.close()
    expect(status).to_have_attribute("data-team", "away", timeout=5_000)
    expect(queue).to_contain_text("No one from the team is online", timeout=5_000)

    # The connection shows only when it is bad, and once.
    page.evaluate("window.Tier1Widget.instance.socket.disconnect()")
    expect(page.locator("#offline")).to_be_visible()
    expect(page.get_by_text("You're offline")).to_have_count(1)
    expect(status).to_have_text("Our team is away")
    widget.shot("5-offline")
    page.evaluate("window.Tier1Widget.instance.socket.connect()")
    expect(page.locator("#offline")).to_be_hidden(timeout=10_000)


def test_agent_identity_timestamps_receipts_and_typing(site, widget):
    page = widget.page
    widget.send("first question")
    expect(page.locator(".msg--bot").last).to_have_text("echo: first question", timeout=10_000)
    widget.send("second question")
    expect(page.locator(".msg--bot").last).to_have_text("echo: second question", timeout=10_000)
    metas = page.locator(".msg--user .msg__meta")
    expect(metas.nth(1)).to_have_text("Sent")
    expect(metas.nth(0)).to_be_hidden()  # "Sent" only under the newest
    # One time group so far, "Now", with the full date on hover (and on every bubble).
    divider = page.locator(".divider time")
    expect(divider).to_have_count(1)
    expect(divider).to_have_text("Now")
    assert re.match(r"^\d{4}-\d\d-\d\dT", divider.get_attribute("datetime"))
    assert re.search(r"\d{4}", divider.get_attribute("title"))
    assert page.locator(".msg--user .msg__bubble").first.get_attribute("title")
    labels = page.evaluate("""() => {
        const t = window.Tier1Widget.time, now = Date.now();
        // Noon of the previous calendar day: "26 hours ago" is two days back before 02:00.
        const noon = new Date(now);
        noon.setDate(noon.getDate() - 1);
        noon.setHours(12, 0, 0, 0);
        return [t(now - 150000, now), t(noon.getTime(), now)];
    }""")
    assert labels[0] == "2 minutes ago" and labels[1].startswith("Yesterday ")

    sid = widget.session_id
    bea = site.agent("bea@example.com", "Bea Costa")
    site.hand_off(sid)
    site.claim(sid, bea)
    # The header now says who the user talks to.
    expect(page.locator("#title")).to_have_text("Bea Costa", timeout=10_000)
    expect(page.locator(".chat__header .chat__avatar")).to_have_text("BC")
    expect(page.locator("#status")).to_have_text("Support team")
    with site.console(bea) as console:
        console.call("typing", {"conversation_id": sid, "typing": True}, namespace="/agent")
        typing = page.locator("#typing")
        expect(typing).to_be_visible()
        expect(typing.locator(".typing__dots i")).to_have_count(3)
        assert typing.locator(".typing__dots i").first.evaluate(
            "e => getComputedStyle(e).animationName") == "t1-typing"
        expect(typing.locator(".typing__avatar")).to_have_text("BC")
        expect(page.locator("#typing-live")).to_have_text("Bea Costa is typing…")
        widget.shot("6-agent-typing")
        site.reply(sid, bea, "Hi, Bea here.")
        expect(typing).to_be_hidden(timeout=10_000)
        site.reply(sid, bea, "How can I help?")
    replies = page.locator(".msg--agent")
    expect(replies).to_have_count(2, timeout=10_000)
    expect(replies.first.locator(".msg__avatar")).to_have_text("BC")
    expect(replies.first.locator(".msg__name")).to_have_text("Bea Costa")
    expect(replies.nth(1)).to_have_class(re.compile(r"\bmsg--cont\b"))
    expect(replies.nth(1).locator(".msg__name, .msg__avatar")).to_have_count(0)

    widget.send("x" * 2001)  # refused (too long): the bubble says why, the rest stay quiet
    failed = page.locator(".msg--user.msg--failed .msg__meta")
    expect(failed).to_contain_text("2000", timeout=10_000)
    expect(page.locator("#notice")).to_be_hidden()  # said once, under the message
    widget.send("thanks!")
    expect(metas.last).to_have_text("Sent", timeout=10_000)
    expect(failed).to_be_visible()
    expect(page.locator(".msg--user.msg--sent .msg__meta:visible")).to_have_count(1)
    widget.shot("7-agent")

    page.reload()  # the agent is still shown: the history says who joined
    expect(page.locator("#title")).to_have_text("Bea Costa", timeout=10_000)
    expect(page.locator(".msg--user.msg--sent .msg__meta:visible")).to_have_count(1)


def test_rating_options_are_labelled_and_keep_their_payloads(site, widget):
    page = widget.page
    widget.send("hello")
    expect(page.locator(".msg--bot").last).to_have_text("echo: hello", timeout=10_000)
    sid = widget.session_id
    dan = site.agent("dan@example.com", "Dan")
    site.hand_off(sid)
    site.claim(sid, dan)
    site.resolve(sid, dan)
    options = page.locator(".replies--csat .replies__button")
    expect(options).to_have_count(5, timeout=10_000)
    expect(page.locator("#queue")).to_be_hidden()
    expect(page.locator(".csat__word")).to_have_text(
        ["Very poor", "Poor", "Okay", "Good", "Excellent"])
    for value, word in enumerate(["Very poor", "Poor", "Okay", "Good", "Excellent"], start=1):
        expect(page.get_by_role("button", name=f"{value} {word}", exact=True)).to_have_count(1)
    widget.shot("8-rating")
    page.get_by_role("button", name="5 Excellent").click()
    expect(page.locator(".msg--bot").last).to_contain_text("Thank you", timeout=10_000)
    expect(page.locator(".msg--user .msg__bubble").last).to_have_text("5 \u2013 Excellent")
    expect(options.filter(has_text="Excellent")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".replies--csat button:enabled")).to_have_count(0)
    # The payload is what rasa-webchat's tap sends too, and it is recorded as the rating.
    stored = site.handoff.service.history(sid)
    assert [m.text for m in stored if m.sender == "user"][-1] == '/csat{"rating":5}'
    assert [r["rating"] for r in site.handoff.service.csat.ratings(sid)] == [5]


def test_the_launcher_turns_into_a_close_button(site, widget):
    page = widget.page
    launcher = page.locator("#launcher")
    if widget.device == "phone":
        expect(launcher).to_be_hidden()  # the chat fills the screen; its header closes it
        page.locator("#close").click()
    else:
        expect(launcher).to_have_attribute("aria-label", "Close chat")
        expect(launcher).to_have_attribute("aria-expanded", "true")
        widget.shot("9-launcher-open")
        launcher.click()
    expect(page.locator("#panel")).to_be_hidden()
    expect(launcher).to_be_visible()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-label", "Open support chat")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(page.locator("#panel")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")


def test_axe_finds_nothing_serious_closed_answered_queued_and_rating(site, widget):
    page = widget.page
    found: dict[str, list] = {}
    page.locator("#close").click()
    expect(page.locator("#panel")).to_be_hidden()
    found["closed"] = serious_violations(page)
    page.locator("#launcher").click()
    widget.send("How do I reset my password?")
    expect(page.locator(".feedback")).to_have_count(1, timeout=10_000)
    found["answer"] = serious_violations(page)
    sid = widget.session_id
    site.hand_off(sid)
    expect(page.locator("#queue")).to_be_visible(timeout=10_000)
    found["queued"] = serious_violations(page)
    eve = site.agent("eve@example.com", "Eve")
    site.claim(sid, eve)
    site.reply(sid, eve, "Hello from Eve")
    site.resolve(sid, eve)
    expect(page.locator(".replies--csat .replies__button")).to_have_count(5, timeout=10_000)
    found["rating"] = serious_violations(page)
    widget.shot("10-axe-rating")
    assert found == {"closed": [], "answer": [], "queued": [], "rating": []}, found

