"""The end-user widget in headless Chromium against the real stack (app, Rasa, action server).

Desktop (1280x800): the one script tag pasted into a plain page served from another port
chats, shows an article answer (safe Markdown, source link, and the bot's "Did this help?"
as the one feedback prompt under it), keeps its history over a reload, and loses or doubles
nothing when the socket is cut mid-conversation. Phone (390x844): the demo page at / (the
same embed) fills the screen, waits in the queue with a live position while the header
says whether the team is online, gets an agent (named in the header), and renders hostile
text from the user, the bot (a KB article) and the agent as inert text. Screenshots go to
artifacts/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=1</script>"
ANSWERED = "How do I reset my password?"


@pytest.fixture(scope="module")
def other_site(stack, tmp_path_factory):
    """A plain HTML page on another port with nothing but the one script tag."""
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text(
        "<!doctype html><html><head><meta name='viewport' content='width=device-width'>"
        "<style>body{font-family:Georgia;color:red} button{all:unset}</style></head>"
        f"<body><h1>Some shop</h1><script src=\"{stack.url}/widget.js\" async></script>"
        "</body></html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def conversation(page, stack) -> list[dict]:
    """What the server stored, read through the REST API with the page's own session token."""
    sid = page.evaluate("localStorage.getItem('tier1.session_id')")
    token = page.evaluate("localStorage.getItem('tier1.session_token')")
    r = httpx.get(f"{stack.url}/api/chat/sessions/{sid}/messages",
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def shown_ids(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all(
        "#log [data-id]", "els => els.map(e => e.dataset.id)")]


def send(page, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")


def test_embedded_on_another_site_desktop(stack, browser, other_site):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(other_site)

    # A launcher; the panel opens on click, as a panel (not full screen) on a desktop.
    expect(page.locator("#launcher")).to_be_visible(timeout=15_000)
    expect(page.locator("#panel")).to_be_hidden()
    page.click("#launcher")
    expect(page.locator('#panel[data-connection="online"]')).to_be_visible(timeout=15_000)
    box = page.locator("#panel").bounding_box()
    assert 300 < box["width"] < 500 and box["height"] < 800
    expect(page.locator("#input")).to_be_focused()
    expect(page.locator(".welcome")).to_be_visible()

    # An article answer: Markdown, the source link, the bot's "Did this help?" as thumbs under
    # it (one prompt, no Yes/No quick replies besides); the user's own HTML stays text.
    send(page, ANSWERED)
    answer = page.locator(".msg--bot", has=page.locator(".msg__source")).first
    expect(answer).to_be_visible(timeout=30_000)
    href = answer.locator(".msg__source a").get_attribute("href")
    assert re.match(r"^https?://", href)
    assert answer.locator(".msg__source a").get_attribute("rel") == "noopener noreferrer"
    prompt = answer.locator(".feedback")
    expect(prompt.locator(".feedback__question")).to_have_text("Did this help?", timeout=15_000)
    expect(page.locator(".feedback")).to_have_count(1)
    expect(page.locator(".replies")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "widget-desktop-1-answer.png"))
    # Counted before the tap: the bot's reply can arrive before the thanks is checked.
    bot_count = page.locator(".msg--bot").count()
    prompt.get_by_role("button", name="Helpful", exact=True).click()
    expect(prompt.locator(".feedback__status")).to_have_text("Thanks for the feedback.")
    expect(page.locator(".msg--bot")).to_have_count(bot_count + 1, timeout=15_000)  # the reply
    send(page, f"{XSS_SCRIPT} and {XSS_IMG}")
    expect(page.locator(".msg--user .msg__bubble").last).to_have_text(
        f"{XSS_SCRIPT} and {XSS_IMG}", timeout=10_000)
    expect(page.locator(".msg--user .msg__meta").last).to_have_text("Sent", timeout=15_000)

    # Cut the socket right after sending (the acknowledgement may never arrive), and send
    # another while disconnected: both reach the server once, and are shown once.
    page.evaluate("""() => {
        const w = window.Tier1Widget.instance;
        w.send("first while cutting");
        w.socket.io.engine.close();
    }""")
    page.evaluate("window.Tier1Widget.instance.socket.disconnect()")
    expect(page.locator("#offline")).to_be_visible(timeout=5_000)
    send(page, "second while offline")
    assert len(page.evaluate("JSON.parse(localStorage.getItem('tier1.outbox') || '[]')")) >= 1
    page.screenshot(path=str(SHOTS / "widget-desktop-2-offline.png"))
    page.evaluate("window.Tier1Widget.instance.socket.connect()")
    expect(page.locator("#offline")).to_be_hidden(timeout=15_000)
    # The question, the hostile text and the two above (the thumb is shown on its prompt).
    expect(page.locator(".msg--user.msg--sent")).to_have_count(4, timeout=20_000)
    page.wait_for_function("localStorage.getItem('tier1.outbox') === null", timeout=10_000)
    page.wait_for_timeout(3000)  # let the bot's replies to both arrive
    stored = conversation(page, stack)
    user_texts = [m["text"] for m in stored if m["sender"] == "user"]
    assert user_texts.count("first while cutting") == 1, user_texts
    assert user_texts.count("second while offline") == 1, user_texts
    ids = shown_ids(page)
    # Every stored message on screen, once. (Live, a message typed before the bot's previous
    # reply arrived is shown where it was typed; after a reload the order is the server's.)
    assert len(ids) == len(set(ids)) and set(ids) == {m["id"] for m in stored}
    ids = [m["id"] for m in stored]

    # A reload restores the conversation from the session token, nothing doubled.
    page.reload()
    expect(page.locator('#panel[data-connection="online"]')).to_be_visible(timeout=15_000)
    expect(page.locator("#log [data-id]")).to_have_count(len(ids), timeout=15_000)
    assert shown_ids(page) == ids
    assert page.locator("#log img").count() == 0
    assert page.evaluate("window.__xss") is None
    thumb = page.locator(".feedback").first.get_by_role("button", name="Helpful", exact=True)
    expect(thumb).to_have_attribute("aria-pressed", "true")  # the answer, from history
    expect(page.locator("#log button:enabled")).to_have_count(0)
    # The host page's CSS (red Georgia, unset buttons) did not leak into the widget.
    assert page.locator("#send").evaluate("e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
    page.screenshot(path=str(SHOTS / "widget-desktop-3-reloaded.png"))
    page.focus("#input")
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    expect(page.locator("#launcher")).to_be_focused()
    assert errors == []
    context.close()


def test_phone_queue_agent_and_hostile_content(stack, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    internal = {"Authorization": f"Bearer {stack.env['TIER1_INTERNAL_TOKEN']}"}
    agent = {"Authorization": f"Bearer {stack.agent_token('widget-ana@example.com')}"}
    created = stack.tier1("agent", "create", "--email", "widget-admin@example.com",
                          "--password", "agent-password-1", "--role", "admin")
    assert created.returncode == 0, created.stderr
    login = httpx.post(f"{stack.url}/api/auth/token", data={
        "username": "widget-admin@example.com", "password": "agent-password-1"})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    # A KB article whose answer carries markup and a javascript: link (admin-written).
    r = httpx.post(f"{stack.url}/api/kb/articles", headers=admin, json={
        "slug": "quokka-warranty", "title": "Quokka warranty for zebra striped cases",
        "answer": f"Our **quokka** warranty {XSS_SCRIPT} {XSS_IMG}\n\n- covers stripes\n"
                  "- [details](javascript:window.__xss=1)",
        "questions": ["quokka warranty zebra striped case",
                      "does the quokka warranty cover zebra striped cases"],
        "url": "https://help.example.com/quokka"})
    assert r.status_code == 201, r.text
    # Someone is already waiting.
    ahead = httpx.post(f"{stack.url}/api/chat/sessions").json()
    r = httpx.post(f"{stack.url}/api/internal/handoff", headers=internal,
                   json={"conversation_id": ahead["session_id"], "reason": "request_human"})
    assert r.status_code == 200, r.text

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{stack.url}/")  # the demo page: the same embed, opened at once
    expect(page.locator('#panel[data-connection="online"]')).to_be_visible(timeout=15_000)
    box = page.locator("#panel").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    expect(page.locator("#launcher")).to_be_hidden()

    send(page, "does the quokka warranty cover zebra striped cases")
    answer = page.locator(".msg--bot", has=page.locator(".msg__source")).last
    expect(answer).to_contain_text("covers stripes", timeout=30_000)
    expect(answer.locator("li")).to_have_count(2)
    # Rasa's REST channel splits an answer at blank lines: the first part is its own message.
    first_part = page.locator(".msg--bot", has_text="Our quokka warranty").last
    expect(first_part.locator("strong")).to_have_text("quokka")
    expect(first_part.locator(".msg__bubble")).to_contain_text(f"{XSS_SCRIPT} {XSS_IMG}")
    for part in (answer, first_part):
        assert part.locator("img, script").count() == 0
    assert answer.locator(".msg__bubble a").count() == 0  # the javascript: link is plain text
    page.screenshot(path=str(SHOTS / "widget-phone-1-markdown-answer.png"))

    # "Talk to a person": queued behind the one already waiting, position updated live.
    roster = httpx.get(f"{stack.url}/api/agents", headers=agent).json()
    anyone_online = any(a["presence"] == "online" for a in roster)
    page.click("#human")
    queue = page.locator("#queue")
    expect(queue).to_be_visible(timeout=30_000)
    position = int(queue.get_attribute("data-position"))
    assert position >= 2
    status = page.locator("#status")
    if not anyone_online:  # no false estimate while nobody could take the chat
        expect(queue).to_contain_text("No one from the team is online right now")
        expect(status).to_have_text("Our team is away")  # the header says the same
    expect(page.locator("#human")).to_be_hidden()
    page.screenshot(path=str(SHOTS / "widget-phone-2-queued.png"))
    # the agent comes online and takes the chat ahead: the next push carries a real estimate
    r = httpx.post(f"{stack.url}/api/agents/me/heartbeat", headers=agent, json={"state": "online"})
    assert r.status_code == 200, r.text
    r = httpx.post(f"{stack.url}/api/conversations/{ahead['session_id']}/claim", headers=agent)
    assert r.status_code == 200, r.text
    expect(queue).to_have_attribute("data-position", str(position - 1), timeout=10_000)
    expect(queue).to_contain_text(re.compile(r"Estimated wait: about \d+ min"), timeout=10_000)
    expect(status).to_have_text("Our team is online")

    # The agent takes it: joined notice, hostile text inert, the position banner gone.
    sid = page.evaluate("localStorage.getItem('tier1.session_id')")
    assert httpx.post(f"{stack.url}/api/conversations/{sid}/claim", headers=agent).status_code == 200
    expect(page.locator(".msg--system").last).to_contain_text("joined", timeout=10_000)
    expect(queue).to_be_hidden(timeout=10_000)
    expect(page.locator("#title")).to_have_text("widget-ana")  # who the user talks to now
    r = httpx.post(f"{stack.url}/api/conversations/{sid}/messages", headers=agent,
                   json={"text": f"Hi! {XSS_IMG} {XSS_SCRIPT} see [this](https://example.com/a)"})
    assert r.status_code == 201, r.text
    reply = page.locator(".msg--agent").last
    expect(reply.locator(".msg__bubble")).to_contain_text(XSS_IMG, timeout=10_000)
    assert reply.locator("img, script").count() == 0
    link = reply.locator("a")
    expect(link).to_have_attribute("href", "https://example.com/a")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    send(page, XSS_IMG)
    expect(page.locator(".msg--user .msg__bubble").last).to_have_text(XSS_IMG)
    page.screenshot(path=str(SHOTS / "widget-phone-3-agent.png"))

    # Resolve: the CSAT prompt, rated with the keyboard.
    assert httpx.post(f"{stack.url}/api/conversations/{sid}/resolve",
                      headers=agent).status_code == 200
    stars = page.locator(".replies--csat .replies__button")
    expect(stars).to_have_count(5, timeout=10_000)
    stars.nth(4).focus()
    page.keyboard.press("Enter")
    expect(page.locator(".msg--bot").last).to_contain_text("Thank you", timeout=10_000)
    page.screenshot(path=str(SHOTS / "widget-phone-4-rated.png"))
    assert page.evaluate("window.__xss") is None
    assert page.locator("#log img").count() == 0
    assert errors == []
    context.close()
