"""The admin console in headless Chromium against the real stack (tier1 run).

1. An import with an error row: the preview lists the row's error with its line and field, the
   import button stays disabled and nothing is written; a clean file imports after the preview.
2. Edit -> publish: a new article saved as a draft is not used by the bot; once published the
   chat answers with its text. A later edit of the live article is saved as its draft: the chat
   keeps the published text until "Publish changes". The edit shows as a word-level diff; an
   older version is restored into the draft, and the draft is discarded.
3. A question the bot hands off today shows up in the unanswered inbox; one click attaches it
   to an article, and the same question in the live chat is answered within 1 second of the
   attach response.
4. The dashboard shows the figures and Chart.js charts of a seeded, hand-counted data set.
5. Users: deactivate (its token stops working), reactivate, reset a password (the console's
   own dialogs: a browser pop-up fails the test).
Every request the page makes goes to the app itself (no CDN). The other issue-15 points run
faster without Rasa in test_admin_screens.py.
Screenshots go to artifacts/screenshots/admin-*.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import create_engine

from tests.axe import serious_violations
from tests.handoff.analytics_seed import seed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
# Its own off-topic question: attaching it changes the shared KB for the rest of the session.
QUESTION = "How many moons does Jupiter have?"
EMAIL, PASSWORD = "console-admin@example.com", "agent-password-1"
GIFT_QUESTION = "Do you sell gift cards?"
GIFT_ANSWER = "Lumen gift cards come in 10, 25 and 50 euro values at every Lumen shop."
FIX_SECONDS = 1.0  # issue #8: after the fix the same question is answered within 1 second


@pytest.fixture(scope="module")
def page(stack, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    created = stack.tier1("agent", "create", "--email", EMAIL, "--password", PASSWORD,
                          "--role", "admin")
    assert created.returncode == 0, created.stderr
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    requested: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requested.append(r.url))
    popups: list[str] = []  # prompt(), confirm(), alert(): the console has its own dialogs
    page.on("dialog", lambda d: (popups.append(d.type), d.dismiss()))
    page.goto(f"{stack.url}/admin")
    page.fill("input[name=username]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button")
    expect(page.locator("#app")).to_be_visible(timeout=15_000)
    yield page
    assert errors == [] and popups == []
    # No CDN: every script, style and API call went to the app (blob: is the CSV download).
    outside = [u for u in requested if not u.startswith((stack.url, "blob:", "data:"))]
    assert outside == []
    assert any(u.endswith("/admin/static/vendor/chart.umd.min.js") for u in requested)


def admin_headers(stack) -> dict[str, str]:
    r = httpx.post(f"{stack.url}/api/auth/token", data={"username": EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Chat:
    """A REST chat session (as a native app would use it)."""

    def __init__(self, stack) -> None:
        s = httpx.post(f"{stack.url}/api/chat/sessions", json={}, timeout=30)
        assert s.status_code == 201, s.text
        self.url = f"{stack.url}/api/chat/sessions/{s.json()['session_id']}/messages"
        self.headers = {"Authorization": f"Bearer {s.json()['session_token']}"}
        self.sent = 0

    def bot_messages(self) -> list[dict]:
        got = httpx.get(self.url, headers=self.headers, timeout=10).json()
        return [m for m in got if m.get("sender") == "bot"]

    def ask(self, text: str, poll: float = 0.3, settle: float = 2.0) -> tuple[list[dict], float]:
        """Send one message; the bot's new messages and the seconds until the first arrived."""
        seen = len(self.bot_messages())
        self.sent += 1
        started = time.monotonic()
        r = httpx.post(self.url, json={"text": text, "client_id": f"q{self.sent}"},
                       headers=self.headers, timeout=30)
        assert r.status_code == 201, r.text
        while time.monotonic() - started < 30:
            bot = self.bot_messages()
            if len(bot) > seen:
                first = time.monotonic() - started
                time.sleep(settle)  # the rest of the turn (feedback question, handoff notice)
                return self.bot_messages()[seen:], first
            time.sleep(poll)
        pytest.fail("the bot did not reply within 30 s")


def ask(stack, text: str) -> list[dict]:
    return Chat(stack).ask(text)[0]


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def article_count(stack) -> tuple[int, int]:
    status = httpx.get(f"{stack.url}/api/kb/status", headers=admin_headers(stack)).json()
    return status["articles"], status["version"]


def test_import_with_an_error_row_shows_it_and_writes_nothing(stack, page, tmp_path):
    before = article_count(stack)
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"version": 1, "articles": [
        {"slug": "fine-article", "title": "Fine", "answer": "ok", "questions": ["fine?"]},
        {"slug": "Bad Slug!", "title": "", "answer": "x"}]}, sort_keys=False))
    line = bad.read_text().splitlines().index("- slug: Bad Slug!") + 1
    page.click("#tabs button[data-tab=import]")
    page.set_input_files("#import-form input[type=file]", str(bad))
    error_row = page.locator("#preview-table tr[data-action=error]")
    expect(error_row).to_have_count(1)
    expect(error_row).to_contain_text(f"line {line}, slug: ")
    expect(error_row).to_contain_text(f"line {line + 1}, title: ")
    expect(page.locator("#preview-table tr[data-action=create]")).to_contain_text("fine-article")
    expect(page.locator("#import-preview .summary")).to_have_text(
        "2 problems in 1 article: nothing can be imported until they are fixed. "
        "Nothing was written.")  # as many as listed
    expect(error_row.locator("li")).to_have_count(2)
    expect(error_row).to_contain_text("'Bad Slug!' is not a valid slug")
    expect(page.locator("#import-confirm")).to_be_disabled()
    expect(page.locator("#import-confirm")).to_have_text("Import 1 article")
    page.screenshot(path=str(SHOTS / "admin-1-import-error.png"))
    assert article_count(stack) == before  # the preview wrote nothing

    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump({"version": 1, "articles": [
        {"slug": "e2e-loyalty-card", "title": "Do you have a loyalty card?",
         "answer": "Not yet.", "questions": ["is there a loyalty programme"]}]}))
    page.set_input_files("#import-form input[type=file]", str(good))
    expect(page.locator("#import-confirm")).to_be_enabled()
    expect(page.locator("#preview-table tr[data-action=create]")).to_have_count(1)
    assert article_count(stack) == before
    page.click("#import-confirm")
    expect(page.locator("#import-result")).to_contain_text("Imported: 1 created")
    assert article_count(stack)[0] == before[0] + 1


def test_edit_then_publish_and_the_chat_answers_with_the_new_text(stack, page):
    page.click("#tabs button[data-tab=articles]")
    page.click("#new-article")
    form = page.locator("#article-form")
    form.locator("input[name=title]").fill("Do you sell gift cards?")
    form.locator("input[name=slug]").fill("gift-cards")
    form.locator("textarea[name=answer]").fill(GIFT_ANSWER)
    form.locator("textarea[name=questions]").fill("Can I buy a Lumen gift card?\n"
                                                  "gift card for a friend")
    page.click("#save-draft")
    expect(page.locator("#flash")).to_contain_text("(draft)")
    assert "gift cards come in" not in texts(ask(stack, GIFT_QUESTION))  # a draft is not used

    page.click("#publish")
    expect(page.locator("#editor-status")).to_have_text("Published")
    answered = texts(ask(stack, GIFT_QUESTION))
    assert GIFT_ANSWER in answered, answered
    page.screenshot(path=str(SHOTS / "admin-2-published.png"))

    # Edit the live article: a draft; the chat keeps the published text until it is published.
    edited = GIFT_ANSWER.replace("10, 25 and 50", "20 and 40")
    form.locator("textarea[name=answer]").fill(edited)
    page.click("#save-draft")
    expect(page.locator("#flash")).to_contain_text("Draft saved")
    expect(page.locator("#editor-banner")).to_contain_text("You are editing a draft")
    answered = texts(ask(stack, GIFT_QUESTION))
    assert GIFT_ANSWER in answered and "20 and 40" not in answered, answered
    page.click("#publish")
    expect(page.locator("#flash")).to_contain_text("Published")
    answered = texts(ask(stack, GIFT_QUESTION))
    assert edited in answered, answered

    versions = page.locator("#revisions li.revision")
    expect(versions).to_have_count(3)  # v1 created, v2 published, v3 published (the edit)
    newest = versions.first
    expect(newest).to_contain_text("v3 · published · just now by console-admin")
    newest.locator("button.show-diff").click()
    answer_row = newest.locator("table.diff tr[data-field=answer]")
    expect(answer_row.locator("ins").first).to_be_visible()
    removed = " ".join(answer_row.locator("td.diff__old del").all_inner_texts())
    added = " ".join(answer_row.locator("td.diff__new ins").all_inner_texts())
    assert {"10,", "25", "50"} <= set(removed.split()) and "gift" not in removed, removed
    assert {"20", "40"} <= set(added.split()) and "gift" not in added, added
    expect(newest.locator("table.diff tr[data-field=title]")).to_have_count(0)  # unchanged
    page.screenshot(path=str(SHOTS / "admin-3-revision-diff.png"))
    page.locator("#compare button").click()  # the two newest versions, side by side
    expect(page.locator("#diff-view tr[data-field=answer] ins").first).to_have_text("20")

    page.locator('#revisions li[data-version="2"] button.restore').click()
    expect(page.locator("#flash")).to_contain_text("v2 restored into the draft")
    expect(form.locator("textarea[name=answer]")).to_have_value(GIFT_ANSWER)
    assert serious_violations(page) == []
    page.click("#discard-draft")
    page.locator("dialog[open] button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("Draft discarded")
    expect(form.locator("textarea[name=answer]")).to_have_value(edited)


def test_an_unanswered_question_is_fixed_from_the_inbox_within_a_second(stack, page):
    replies = ask(stack, QUESTION)
    assert any("not sure" in (m.get("text") or "").lower() for m in replies), replies
    page.click("#tabs button[data-tab=inbox]")
    card = page.locator(".card", has_text=QUESTION)
    expect(card).to_be_visible(timeout=15_000)
    support = httpx.get(f"{stack.url}/api/kb/articles", params={"q": "contact-support"},
                        headers=admin_headers(stack)).json()["items"][0]
    card.locator("select").select_option(str(support["id"]))
    expect(card.locator("a.transcript").first).to_have_attribute("href", re.compile(r"^/console#"))
    expect(card.locator(".card__meta")).to_contain_text("Last asked just now")
    page.screenshot(path=str(SHOTS / "admin-4-inbox.png"))
    assert serious_violations(page) == []
    chat = Chat(stack)  # the user's next chat is open before the fix; only the turn is timed
    with page.expect_response(lambda r: r.url.endswith("/attach")) as attach:
        card.locator("button.attach").click()
    assert attach.value.status == 200
    attached = time.monotonic()
    replies, _ = chat.ask(QUESTION, poll=0.02, settle=0)
    answered_after = time.monotonic() - attached
    assert "open 24/7" in texts(replies), replies
    print(f"attach response -> the bot's answer in the live chat: {answered_after:.3f} s")
    # From the attach response to the bot's answer in the live chat (Rasa + action server +
    # KB search). Measured on a shared 2-core machine; see the report for the numbers.
    assert answered_after < FIX_SECONDS, answered_after
    expect(page.locator("#flash")).to_contain_text("the bot answers them now")
    expect(page.locator(".card", has_text=QUESTION)).to_have_count(0)


def test_the_dashboard_shows_the_seeded_figures(stack, page):
    url = yaml.safe_load(stack.config.read_text())["database"]["url"]
    engine = create_engine(url, future=True)
    seed(engine, article_ids=(1, 2))
    engine.dispose()
    page.click("#tabs button[data-tab=analytics]")
    page.click('#presets button[data-days="custom"]')
    page.fill("#range input[name=start]", "2024-03-01")
    page.fill("#range input[name=end]", "2024-03-07")
    page.click("#range button[type=submit]")
    expect(page.locator('[data-figure="Conversations"] .figure__value')).to_have_text("7")
    expect(page.locator('[data-figure="Automated resolution"] .figure__value')).to_have_text("28.6%")
    expect(page.locator('[data-figure="Handoff rate"] .figure__value')).to_have_text("57.1%")
    expect(page.locator('[data-figure="Median first reply"] .figure__value')).to_have_text("120 s")
    reasons = page.evaluate("""() => {
        const c = Chart.getChart("chart-reasons");
        return {labels: c.data.labels, data: c.data.datasets[0].data, drawn: c.canvas.width > 0};
    }""")
    assert dict(zip(reasons["labels"], reasons["data"])) == {
        "low confidence": 2, "negative feedback": 1, "user request": 1}
    assert reasons["drawn"]
    daily = page.evaluate("""() => {
        const c = Chart.getChart("chart-daily");
        return c.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0));
    }""")
    assert sum(daily) == 7 and daily[1] == 4  # 7 conversations, 4 of them handed off
    page.screenshot(path=str(SHOTS / "admin-5-dashboard.png"), full_page=True)


def test_users_deactivate_reactivate_and_reset_a_password(stack, page):
    token = stack.agent_token("deactivate-me@example.com")
    me = httpx.get(f"{stack.url}/api/agents/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    page.click("#tabs button[data-tab=users]")
    row = page.locator('#users tr[data-agent="deactivate-me@example.com"]')
    expect(row).to_be_visible()
    expect(page.locator(f'#users tr[data-agent="{EMAIL}"] button.deactivate')).to_have_count(0)
    row.locator("button.deactivate").click()
    page.locator("dialog[open] button[type=submit]").click()  # "Deactivate" in the dialog
    expect(page.locator("#flash")).to_contain_text("is deactivated")
    expect(row.locator(".user-status")).to_have_text("deactivated")
    me = httpx.get(f"{stack.url}/api/agents/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401 and "deactivated" in me.json()["detail"]
    login = httpx.post(f"{stack.url}/api/auth/token",
                       data={"username": "deactivate-me@example.com",
                             "password": "agent-password-1"})
    assert login.status_code == 403

    row.locator("button.reactivate").click()
    expect(row.locator(".user-status")).not_to_have_text("deactivated")
    row.locator("button.reset-password").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("input[type=password]")).to_be_focused()
    dialog.locator("button[type=submit]").click()  # left empty: a password is generated
    expect(page.locator("#new-password")).to_contain_text("shown once")
    generated = page.locator("#new-password").inner_text().split(": ", 1)[1].split(" ")[0]
    page.screenshot(path=str(SHOTS / "admin-6-users.png"))
    login = httpx.post(f"{stack.url}/api/auth/token",
                       data={"username": "deactivate-me@example.com", "password": generated})
    assert login.status_code == 200, login.text
