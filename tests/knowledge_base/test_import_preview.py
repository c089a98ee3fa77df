"""POST /api/kb/import/preview: per-row actions and errors for an upload, nothing written."""

import pytest

from tests.knowledge_base.test_kb_api import ADMIN, TOKEN, client  # noqa: F401 - the fixture

pytestmark = pytest.mark.unit

GOOD_AND_BAD = (
    "slug,title,answer,questions\n"
    "voicemail,Voicemail,Dial 121.,record a greeting\n"  # line 2: new
    "refunds,How do refunds work?,Changed answer.,\n"  # line 3: exists, differs
    "Bad Slug,,An answer,\n"  # line 4: slug and title wrong
    "voicemail,Again,Twice,\n"  # line 5: repeats line 2's slug
)


def state(client):  # noqa: F811
    articles = client.get("/api/kb/articles?limit=500", headers=TOKEN).json()
    status = client.get("/api/kb/status", headers=TOKEN).json()
    return articles, status["version"], status["questions"]


def test_preview_with_an_error_row_lists_every_row_and_writes_nothing(client):  # noqa: F811
    before = state(client)
    r = client.post(
        "/api/kb/import/preview",
        files={"file": ("mixed.csv", GOOD_AND_BAD, "text/csv")},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["importable"] is False
    assert (body["create"], body["update"], body["unchanged"]) == (1, 1, 0)
    by_action = {}
    for row in body["rows"]:
        by_action.setdefault(row["action"], []).append(row)
    assert [(r["row"], r["slug"]) for r in by_action["create"]] == [(1, "voicemail")]
    assert [(r["row"], r["slug"]) for r in by_action["update"]] == [(2, "refunds")]
    errors = by_action["error"]
    assert len(errors) == 2 and body["errors"] == 2
    # Counted as listed: slug and title of row 3, the repeated slug of row 4.
    assert body["problems"] == sum(len(e["errors"]) for e in errors) == 3
    bad = next(e for e in errors if e["row"] == 3)
    assert bad["line"] == 4
    assert {(p["line"], p["field"]) for p in bad["errors"]} == {(4, "slug"), (4, "title")}
    dup = next(e for e in errors if e is not bad)
    assert dup["slug"] == "voicemail" and dup["errors"][0]["line"] == 5
    assert "duplicate slug" in dup["errors"][0]["message"]
    slug = next(p for p in bad["errors"] if p["field"] == "slug")["message"]
    assert slug.startswith("'Bad Slug' is not a valid slug") and "'bad-slug'" in slug
    assert state(client) == before  # nothing written: same articles, version, questions


def test_a_clean_file_previews_as_importable_then_imports_the_same(client):  # noqa: F811
    exported = client.get("/api/kb/export?format=csv", headers=ADMIN).content
    header = exported.decode().splitlines()[0]
    assert header == "slug,title,answer,url,tags,locale,status,questions"
    edited = exported.decode() + "voicemail,Voicemail,Dial 121.,,,en,published,record a greeting\n"
    files = {"file": ("articles.csv", edited, "text/csv")}
    preview = client.post("/api/kb/import/preview", files=files, headers=ADMIN).json()
    assert preview["importable"] is True and preview["errors"] == preview["problems"] == 0
    assert (preview["create"], preview["update"], preview["unchanged"]) == (1, 0, 4)
    done = client.post("/api/kb/import", files=files, headers=ADMIN).json()
    assert (done["created"], done["updated"], done["unchanged"]) == (1, 0, 4)


def test_file_level_problems_and_access(client):  # noqa: F811
    r = client.post(
        "/api/kb/import/preview",
        files={"file": ("broken.yml", "articles: [unclosed", "application/yaml")},
        headers=ADMIN,
    )
    assert r.status_code == 200
    assert r.json()["importable"] is False and r.json()["rows"] == []
    assert "not valid YAML" in r.json()["file_errors"][0]["message"]
    unsupported = client.post(
        "/api/kb/import/preview", files={"file": ("kb.docx", b"x")}, headers=ADMIN
    )
    assert unsupported.status_code == 415
    as_agent = client.post(
        "/api/kb/import/preview", files={"file": ("a.csv", GOOD_AND_BAD)}, headers=TOKEN
    )
    assert as_agent.status_code == 403
