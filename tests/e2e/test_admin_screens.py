"""The admin console's issue-15 points in headless Chromium, against the whole app served in a
thread (tests/e2e/admin_app.py: real routes, database and auth, hashing embedder, no Rasa).

Each test is one point of the issue: drafts of live articles, readable versions, the import
preview's counts and slug message, search over answers and questions, the inbox's times,
transcript links, undo and draft dialog, toasts, analytics presets, loading/empty/error
states, and the layout at 1440x900 and 1024x768 with axe-core finding no serious or critical
violation in the states it looks at. The bot's real answers after publishing are checked
against the full stack in test_admin_console.py. Screenshots: artifacts/screenshots/admin-*.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.axe import serious_violations
from tests.e2e.admin_app import EMAIL, NAME, PASSWORD, serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
SIZES = {"desktop": (1440, 900), "small": (1024, 768)}


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("admin-app")) as app:
        yield app


def open_console(browser, admin, size: str = "desktop", before_login=None):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    if before_login is not None:
        before_login(page)
    page.errors, page.popups = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # A browser pop-up (prompt, confirm, alert) is a failure: the console has its own dialogs.
    page.on("dialog", lambda d: (page.popups.append(d.type), d.dismiss()))
    page.goto(f"{admin.url}/admin")
    page.fill("input[name=username]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button")
    expect(page.locator("#app")).to_be_visible()
    return page


@pytest.fixture
def page(browser, admin):
    page = open_console(browser, admin)
    yield page
    assert page.errors == [] and page.popups == []
    page.close()


def api(admin, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{admin.url}{path}", headers=admin.headers(), timeout=30,
                         **kwargs)


def article(admin, slug: str) -> dict:
    items = api(admin, "GET", "/api/kb/articles", params={"q": slug, "limit": 50}).json()["items"]
    return next(a for a in items if a["slug"] == slug)


def bot_answer(admin, question: str) -> str:
    """What the knowledge base gives the bot for ``question`` (the best hit's answer)."""
    return api(admin, "POST", "/api/kb/search", json={"text": question}).json()["hits"][0]["answer"]


def no_axe_problems(page, state: str) -> None:
    found = serious_violations(page)
    assert found == [], f"{state}: {found}"


def open_article(page, article_id: int) -> None:
    page.click("#tabs button[data-tab=articles]")
    page.locator(f'#article-rows tr[data-id="{article_id}"] button.linklike').click()
    expect(page.locator("#editor")).to_be_visible()


def test_saving_a_live_article_keeps_the_live_version_until_publish(admin, page):
    live = article(admin, "reset-password")
    edited = "Open Settings, tap Password and follow the link we email you."
    open_article(page, live["id"])
    expect(page.locator("#editor-banner")).to_contain_text("Live.")
    expect(page.locator("#publish")).to_be_disabled()  # nothing to publish yet
    page.fill("#f-answer", edited)
    expect(page.locator("#save-state")).to_have_text("Unsaved changes")
    page.click("#save-draft")

    expect(page.locator("#flash")).to_contain_text("The bot still answers with the published")
    banner = page.locator("#editor-banner")
    expect(banner).to_contain_text("You are editing a draft")
    expect(banner).to_contain_text(f"by {NAME}")
    expect(banner).to_contain_text("Changes: answer")
    expect(page.locator("#editor-draft-chip")).to_be_visible()
    expect(page.locator("#editor-status")).to_have_text("Published")
    row = page.locator(f'#article-rows tr[data-id="{live["id"]}"]')
    expect(row).to_contain_text("Unpublished changes")
    assert bot_answer(admin, "I forgot my password") == live["answer"]  # live keeps answering
    stored = api(admin, "GET", f"/api/kb/articles/{live['id']}").json()
    assert (stored["answer"], stored["draft"]["answer"]) == (live["answer"], edited)

    page.click("#compare-live")
    expect(page.locator("#draft-diff tr[data-field=answer] ins").first).to_be_visible()
    expect(page.locator('#revisions li[data-revision="draft"]')).to_contain_text("not live")
    no_axe_problems(page, "editor with a draft")
    page.screenshot(path=str(SHOTS / "admin-draft-editor.png"))

    page.click("#publish")
    expect(page.locator("#flash")).to_contain_text("Published")
    expect(banner).to_contain_text("Live.")
    expect(page.locator("#editor-draft-chip")).to_be_hidden()
    assert bot_answer(admin, "I forgot my password") == edited
    newest = page.locator("#revisions li.revision").first
    expect(newest).to_contain_text(f"v2 · published · just now by {NAME}")
    expect(newest.locator(".chip")).to_have_text("live")
    expect(page.locator("#revisions li.revision").last).to_contain_text("v1 · created")

    page.fill("#f-answer", "A second thought.")
    page.click("#save-draft")
    page.click("#discard-draft")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Discard the draft?")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("Draft discarded")
    expect(page.locator("#f-answer")).to_have_value(edited)
    assert api(admin, "GET", f"/api/kb/articles/{live['id']}").json()["draft"] is None


def test_versions_have_readable_labels_and_restore_into_the_draft(admin, page):
    live = article(admin, "order-tracking")
    body = {k: live[k] for k in ("slug", "title", "answer", "questions", "url", "tags", "locale")}
    api(admin, "PUT", f"/api/kb/articles/{live['id']}/draft",
        json={**body, "answer": "Track it under Orders."})
    api(admin, "POST", f"/api/kb/articles/{live['id']}/publish")
    open_article(page, live["id"])
    versions = page.locator("#revisions li.revision")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text(f"v2 · published · just now by {NAME}")
    expect(versions.last).to_contain_text("v1 · created · just now by seed")
    assert "agent:" not in page.locator("#revisions").inner_text()
    labels = page.locator("#compare select[name=from] option").all_inner_texts()
    assert labels == ["v1 · created · just now by seed", f"v2 · published · just now by {NAME}"]

    versions.last.locator("button.restore").click()
    expect(page.locator("#flash")).to_contain_text("v1 restored into the draft")
    expect(page.locator("#f-answer")).to_have_value(live["answer"])
    expect(page.locator("#editor-draft-chip")).to_be_visible()
    assert bot_answer(admin, "How do I track my order?") == "Track it under Orders."


BAD_IMPORT = (
    "slug,title,answer,questions\n"
    "gift-vouchers,Gift vouchers,We sell them in every shop.,do you sell vouchers\n"
    "Bad Slug!,,An answer,\n"  # two problems: an invalid slug, no title
    ",No slug,An answer,\n"  # one problem: no slug
)


def test_import_preview_counts_what_it_lists_and_explains_a_bad_slug(admin, page, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_IMPORT)
    page.click("#tabs button[data-tab=import]")
    page.set_input_files("#import-form input[type=file]", str(bad))
    listed = page.locator("#preview-table td.error li")
    expect(listed).to_have_count(3)
    expect(page.locator("#import-preview .summary")).to_have_text(
        "3 problems in 2 articles: nothing can be imported until they are fixed. "
        "Nothing was written.")
    invalid = page.locator("#preview-table tr[data-action=error]", has_text="Bad Slug!")
    expect(invalid).to_contain_text("line 3, slug: 'Bad Slug!' is not a valid slug: use lowercase")
    expect(invalid).to_contain_text("e.g. 'bad-slug'")
    assert "required" not in invalid.locator("li", has_text="slug").inner_text()
    missing = page.locator("#preview-table tr[data-action=error]").nth(1)
    expect(missing).to_contain_text("line 4, slug: required")
    expect(page.locator("#import-confirm")).to_be_disabled()
    expect(page.locator("#import-confirm")).to_have_text("Import 1 article")
    no_axe_problems(page, "import preview")
    page.screenshot(path=str(SHOTS / "admin-import-preview.png"), full_page=True)


def test_article_search_matches_answers_and_questions(admin, page):
    account = article(admin, "create-account")
    page.click("#tabs button[data-tab=articles]")
    search = page.locator("#article-filter input[name=q]")
    search.fill("six-digit code")  # only in the answer
    rows = page.locator("#article-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(account["id"]))
    expect(rows.first.locator(".match")).to_contain_text("Answer:")
    expect(rows.first.locator(".match mark")).to_have_text("six-digit code")
    search.fill("register online")  # only in a question
    expect(rows.first.locator(".match")).to_have_text("Question: I want to register online")
    search.fill("zebra crossing quantum")
    expect(rows).to_have_count(0)
    expect(page.locator("#article-state")).to_contain_text("No article matches.")
    page.click("#article-state button")  # clear filters
    expect(rows.first).to_be_visible()


def test_inbox_shows_when_links_the_transcripts_and_undoes_attach_and_dismiss(admin, page):
    card = page.locator(".card", has_text="Do you sell gift cards?")
    expect(card).to_be_visible()
    expect(card.locator(".card__meta")).to_contain_text("Last asked 3 h ago")
    link = card.locator("a.transcript")
    expect(link).to_have_attribute("href", "/console#gift-1")
    expect(link).to_have_attribute("target", "_blank")
    payments = article(admin, "payment-methods")
    card.locator("select").select_option(str(payments["id"]))
    card.locator("button.attach").click()
    toast = page.locator("#flash .toast")
    expect(toast).to_contain_text("Added 1 phrasing to")
    expect(card).to_have_count(0)
    assert "Do you sell gift cards?" in article(admin, "payment-methods")["questions"]

    toast.locator("button.toast__action").click()
    expect(page.locator("#flash")).to_contain_text("Undone.")
    expect(page.locator(".card", has_text="Do you sell gift cards?")).to_be_visible()
    assert article(admin, "payment-methods")["questions"] == payments["questions"]

    dog = page.locator(".card", has_text="Can I bring my dog to the shop?")
    dog.locator("button.dismiss").click()
    expect(dog).to_have_count(0)
    page.locator("#flash .toast__action").click()
    expect(page.locator(".card", has_text="Can I bring my dog to the shop?")).to_be_visible()
    no_axe_problems(page, "unanswered inbox")
    page.screenshot(path=str(SHOTS / "admin-inbox.png"), full_page=True)


def test_draft_new_article_is_a_dialog_that_explains_a_bad_slug(admin, page):
    card = page.locator(".card", has_text="How many moons does Jupiter have?")
    card.locator("button.draft").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=title]")).to_have_value("How many moons does Jupiter have?")
    expect(dialog.locator("input[name=slug]")).to_have_value("how-many-moons-does-jupiter-have")
    dialog.locator("input[name=title]").fill("Jupiter's moons")
    expect(dialog.locator("input[name=slug]")).to_have_value("jupiter-s-moons")  # follows
    dialog.locator("input[name=slug]").fill("Jupiter Moons!")
    dialog.locator("textarea[name=answer]").fill("Jupiter has 95 known moons.")
    no_axe_problems(page, "draft dialog")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator("[role=alert]")).to_contain_text("is not a valid slug")
    expect(dialog.locator("[role=alert]")).to_contain_text("jupiter-moons")
    dialog.locator("input[name=slug]").fill("jupiter-moons")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator("#flash")).to_contain_text("Drafted")
    page.locator("#flash .toast__action").click()  # "Open it"
    expect(page.locator("#editor-title")).to_have_text("Jupiter's moons")
    expect(page.locator("#editor-status")).to_have_text("Draft")
    expect(page.locator("#f-questions")).to_have_value("How many moons does Jupiter have?")
    assert page.popups == []


def test_success_messages_clear_and_are_announced_errors_stay(admin, page):
    flash, alerts = page.locator("#flash"), page.locator("#alerts")
    assert (flash.get_attribute("role"), flash.get_attribute("aria-live")) == ("status", "polite")
    assert alerts.get_attribute("role") == "alert"
    page.click("#tabs button[data-tab=articles]")
    page.click("#new-article")
    page.fill("#f-title", "Opening hours")
    expect(page.locator("#f-slug")).to_have_value("opening-hours")  # made from the title
    page.fill("#f-answer", "Every day from 9 to 18.")
    page.click("#save-draft")
    expect(flash.locator(".toast")).to_contain_text("Saved")
    expect(flash.locator(".toast")).to_have_count(0, timeout=8000)  # cleared by itself

    page.click("#new-article")
    page.fill("#f-title", "Reset it")
    page.fill("#f-slug", "reset-password")  # taken
    page.fill("#f-answer", "x")
    page.click("#save-draft")
    error = alerts.locator(".toast--error")
    expect(error).to_contain_text("reset-password")
    time.sleep(6)
    expect(error).to_be_visible()  # an error waits to be read
    error.locator("button").click()
    expect(error).to_have_count(0)


def test_analytics_has_date_presets(admin, page):
    def days_asked(request) -> int:
        query = dict(p.split("=") for p in request.url.split("?", 1)[1].split("&"))
        return (date.fromisoformat(query["end"]) - date.fromisoformat(query["start"])).days + 1

    def analytics(request) -> bool:
        return "/api/admin/analytics?" in request.url

    with page.expect_request(analytics) as first:
        page.click("#tabs button[data-tab=analytics]")
    assert days_asked(first.value) == 30  # the default
    expect(page.locator('#presets button[data-days="30"]')).to_have_attribute("aria-pressed", "true")
    for days in (7, 90):
        with page.expect_request(analytics) as asked:
            page.click(f'#presets button[data-days="{days}"]')
        assert days_asked(asked.value) == days
        expect(page.locator(f'#presets button[data-days="{days}"]')).to_have_attribute(
            "aria-pressed", "true")
        expect(page.locator("#range-label")).to_contain_text("(UTC)")
    page.click('#presets button[data-days="custom"]')
    page.fill("#range input[name=start]", "2024-03-01")
    page.fill("#range input[name=end]", "2024-03-07")
    page.click("#range button[type=submit]")
    expect(page.locator('[data-figure="Conversations"] .figure__value')).to_have_text("7")
    expect(page.locator("#range-label")).to_have_text("Mar 1, 2024 – Mar 7, 2024 (UTC)")
    no_axe_problems(page, "analytics")
    page.screenshot(path=str(SHOTS / "admin-analytics.png"), full_page=True)


def test_loading_error_and_retry_states(admin, browser):
    held = []
    page = open_console(browser, admin, before_login=lambda p: p.route(
        "**/api/admin/unanswered", lambda route: held.append(route)))
    expect(page.locator("#inbox .state--loading")).to_have_text("Loading unanswered questions…")
    expect(page.locator("#inbox")).to_have_attribute("aria-busy", "true")
    held[-1].fulfill(status=500, json={"detail": "the database is unreachable"})
    page.unroute("**/api/admin/unanswered")
    error = page.locator("#inbox .state--error")
    expect(error).to_contain_text("Could not load the unanswered questions.")
    expect(error).to_contain_text("the database is unreachable")
    error.locator("button").click()  # Try again
    expect(page.locator("#inbox .card").first).to_be_visible()
    expect(page.locator("#inbox")).not_to_have_attribute("aria-busy", "true")
    assert page.errors == [] and page.popups == []
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_layout_fits_has_one_primary_action_and_passes_axe(admin, browser, size, tmp_path):
    page = open_console(browser, admin, size)
    width = SIZES[size][0]

    def fits(view: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, view
        logout = page.locator("#logout").bounding_box()
        assert logout["x"] + logout["width"] <= width, view
        no_axe_problems(page, f"{view} at {size}")
        page.screenshot(path=str(SHOTS / f"admin-{size}-{view}.png"))

    def primaries() -> int:
        return page.locator("main button.primary:visible").count()

    expect(page.locator("#inbox .card").first).to_be_visible()
    fits("inbox")
    assert primaries() <= 1

    page.click("#tabs button[data-tab=articles]")
    expect(page.locator("#article-rows tr").first).to_be_visible()
    table, panel = (page.locator(s).bounding_box() for s in (".articles__table", "[data-panel=articles]"))
    assert table["width"] > 0.9 * (panel["width"] - 40)  # no half-empty page beside it
    assert primaries() == 1
    fits("articles")

    live = article(admin, "mobile-data")
    body = {k: live[k] for k in ("slug", "title", "questions", "url", "tags", "locale")}
    api(admin, "PUT", f"/api/kb/articles/{live['id']}/draft",
        json={**body, "answer": live["answer"] + " Restart the phone first."})
    page.locator(f'#article-rows tr[data-id="{live["id"]}"] button.linklike').click()
    expect(page.locator("#editor-draft-chip")).to_be_visible()
    listed, editor = (page.locator(s).bounding_box() for s in (".articles__list", "#editor"))
    assert editor["x"] >= listed["x"] + listed["width"] - 1  # side by side
    assert editor["width"] > listed["width"]
    assert primaries() == 1 and page.locator("#publish.primary").is_visible()
    fits("editor-draft")
    api(admin, "DELETE", f"/api/kb/articles/{live['id']}/draft")

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_IMPORT)
    page.click("#tabs button[data-tab=import]")
    page.set_input_files("#import-form input[type=file]", str(bad))
    expect(page.locator("#preview-table")).to_be_visible()
    assert primaries() == 1
    fits("import")

    page.click("#tabs button[data-tab=analytics]")
    expect(page.locator('[data-figure="Conversations"]')).to_be_visible()
    assert primaries() == 0
    fits("analytics")
    assert page.errors == [] and page.popups == []
    page.close()
