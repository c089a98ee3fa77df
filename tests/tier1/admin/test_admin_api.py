"""The /api/admin router: auth, inbox, attach, dismiss, draft, analytics (hashing embedder)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Header
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event

from handoff.analytics import Analytics
from handoff.errors import Forbidden, HandoffError
from knowledge_base import KnowledgeBase
from knowledge_base.embedder import HashingEmbedder
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.settings import KnowledgeBaseSettings
from tests.handoff.analytics_seed import EXPECTED, seed
from tests.tier1.admin.test_learning import ARTICLES
from tier1.admin.api import create_router
from tier1.admin.learning import LearningError, LearningLoop
from tier1.http_errors import error_response as _error_response

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": "Bearer admin"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("admin")
    engine = create_engine(f"sqlite:///{path / 't.db'}", future=True)

    @event.listens_for(engine, "connect")
    def _fast(conn, _record):
        conn.execute("PRAGMA synchronous=OFF")

    kb = KnowledgeBase(
        KnowledgeBaseSettings(embedder={"type": "hashing", "dimensions": 384},
                              index={"type": "memory"}, seed_file=None),
        engine, path / "kb.index", embedder=HashingEmbedder(),
    )
    kb.start()
    ids = tuple(kb.create_article(a, actor="test").id for a in ARTICLES)
    seed(engine, article_ids=ids)
    learning = LearningLoop(engine, kb)
    learning.create_tables()

    async def require_admin(authorization: str = Header("")):  # the handoff auth's stand-in
        if authorization != "Bearer admin":
            raise Forbidden("This needs an admin account.")
        return type("A", (), {"actor": "agent:1", "display_name": "Ana Lima",
                              "email": "ana@example.com"})()

    app = FastAPI()
    for exc in (LearningError, HandoffError, KnowledgeBaseError):
        app.add_exception_handler(exc, lambda _r, e: _error_response(e))
    app.include_router(create_router(learning, Analytics(engine), require_admin))
    with TestClient(app) as c:
        c.kb, c.ids = kb, ids
        yield c
    engine.dispose()


def test_every_route_needs_an_admin(client):
    for method, url in [("get", "/api/admin/unanswered"), ("get", "/api/admin/analytics"),
                        ("post", "/api/admin/unanswered/u1/dismiss"),
                        ("get", "/api/admin/analytics.csv")]:
        assert getattr(client, method)(url).status_code == 403, url


def test_inbox_lists_items_with_id_count_examples_and_suggestion(client):
    items = client.get("/api/admin/unanswered", headers=ADMIN).json()
    bitcoin = next(i for i in items if "can I pay with bitcoin" in i["examples"])
    assert bitcoin["count"] == 2 and bitcoin["suggested_article_id"] == client.ids[1]
    assert bitcoin["kinds"] == {"low_confidence": 2}
    assert {"id", "count", "examples", "suggested_article_id"} <= set(bitcoin)


def test_attach_then_search_finds_the_phrasing_and_the_item_is_gone(client):
    items = client.get("/api/admin/unanswered", headers=ADMIN).json()
    parcel = next(i for i in items if i["examples"] == ["where is my parcel"])
    r = client.post(f"/api/admin/unanswered/{parcel['id']}/attach",
                    json={"article_id": client.ids[0]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == ["where is my parcel"]
    hit = client.kb.search("where is my parcel").hits[0]
    assert (hit.article_id, hit.matched_question) == (client.ids[0], "where is my parcel")
    again = client.post(f"/api/admin/unanswered/{parcel['id']}/attach",
                        json={"article_id": client.ids[0]}, headers=ADMIN)
    assert again.status_code == 404 and "Reload the inbox" in again.json()["detail"]


def test_attach_to_a_missing_article_is_a_404_and_keeps_the_item(client):
    items = client.get("/api/admin/unanswered", headers=ADMIN).json()
    r = client.post(f"/api/admin/unanswered/{items[0]['id']}/attach", json={"article_id": 9999},
                    headers=ADMIN)
    assert r.status_code == 404
    assert items[0]["id"] in {i["id"] for i in client.get("/api/admin/unanswered",
                                                         headers=ADMIN).json()}


def test_dismiss(client):
    items = client.get("/api/admin/unanswered", headers=ADMIN).json()
    target = next(i for i in items if i["examples"] == ["is there a student discount"])
    r = client.post(f"/api/admin/unanswered/{target['id']}/dismiss", headers=ADMIN)
    assert r.json() == {"item_id": target["id"], "dismissed": 1}
    left = client.get("/api/admin/unanswered", headers=ADMIN).json()
    assert target["id"] not in {i["id"] for i in left}


def test_analytics_over_a_date_range_and_as_csv(client):
    r = client.get("/api/admin/analytics", params={"start": "2024-03-01", "end": "2024-03-07"},
                   headers=ADMIN)
    data = r.json()
    assert {k: data[k] for k in EXPECTED} == EXPECTED
    csv = client.get("/api/admin/analytics.csv",
                     params={"start": "2024-03-01", "end": "2024-03-07"}, headers=ADMIN)
    assert csv.headers["content-type"].startswith("text/csv")
    assert "summary,conversations,7" in csv.text
    bad = client.get("/api/admin/analytics", params={"start": "2024-03-07", "end": "2024-03-01"},
                     headers=ADMIN)
    assert bad.status_code == 422


def test_attach_names_the_admin_and_undo_takes_it_back(client):
    items = client.get("/api/admin/unanswered", headers=ADMIN).json()
    bitcoin = next(i for i in items if "can I pay with bitcoin" in i["examples"])
    payments = client.ids[1]
    before = client.kb.get_article(payments).questions
    r = client.post(f"/api/admin/unanswered/{bitcoin['id']}/attach",
                    json={"article_id": payments}, headers=ADMIN)
    assert r.status_code == 200, r.text
    latest = client.kb.article_revisions(payments)[0]
    assert (latest.actor, latest.actor_name) == ("agent:1", "Ana Lima")

    undone = client.post(f"/api/admin/unanswered/{bitcoin['id']}/undo", headers=ADMIN)
    assert undone.status_code == 200, undone.text
    assert undone.json()["reopened"] == 2 and undone.json()["article"]["questions"] == before
    assert bitcoin["id"] in {i["id"] for i in client.get("/api/admin/unanswered",
                                                        headers=ADMIN).json()}
    again = client.post(f"/api/admin/unanswered/{bitcoin['id']}/undo", headers=ADMIN)
    assert again.status_code == 409 and "Nothing to undo" in again.json()["detail"]
    assert client.post(f"/api/admin/unanswered/{bitcoin['id']}/undo").status_code == 403


def test_draft_with_an_invalid_slug_says_why_and_keeps_the_item(client):
    items = client.get("/api/admin/unanswered", headers=ADMIN).json()
    item = items[-1]
    bad = client.post(f"/api/admin/unanswered/{item['id']}/draft",
                      json={"slug": "Gift Cards!", "title": "Gift cards", "answer": "Yes."},
                      headers=ADMIN)
    assert bad.status_code == 422
    assert "not a valid slug" in bad.json()["detail"] and "'gift-cards'" in bad.json()["detail"]
    assert item["id"] in {i["id"] for i in client.get("/api/admin/unanswered",
                                                     headers=ADMIN).json()}
    ok = client.post(f"/api/admin/unanswered/{item['id']}/draft",
                     json={"slug": "gift-cards", "title": "Gift cards", "answer": "Yes.",
                           "questions": [item["examples"][0]]}, headers=ADMIN)
    assert ok.status_code == 201, ok.text
    article = ok.json()["article"]
    assert (article["status"], article["questions"]) == ("draft", [item["examples"][0]])
    assert client.kb.article_revisions(article["id"])[0].actor_name == "Ana Lima"


def test_inbox_routes_are_documented_with_response_models(client):
    paths = client.get("/openapi.json").json()["paths"]
    for action, model in [("attach", "AttachResult"), ("dismiss", "DismissResult"),
                          ("undo", "UndoResult")]:
        operation = paths[f"/api/admin/unanswered/{{item_id}}/{action}"]["post"]
        assert operation["summary"], action
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}
