"""The /api/kb router through FastAPI's TestClient, with a stand-in for the app's auth."""

import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from knowledge_base import create_router
from knowledge_base.errors import KnowledgeBaseError
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit

TOKEN = {"X-Token": "let-me-in"}
ADMIN = {"X-Token": "let-me-in", "X-Admin": "ana"}


def authorize(x_token: str | None = Header(None)) -> None:
    if x_token != "let-me-in":
        raise HTTPException(status_code=401, detail="not authorised")


def authorize_admin(x_admin: str | None = Header(None)) -> str:
    if not x_admin:
        raise HTTPException(status_code=403, detail="admins only")
    return f"admin:{x_admin}"


@pytest.fixture
def client(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    app = FastAPI()
    # What the composition root does once for the whole package.
    app.add_exception_handler(
        KnowledgeBaseError,
        lambda _r, e: JSONResponse({"detail": str(e)}, status_code=status_for(e)),
    )
    app.include_router(create_router(kb, authorize, authorize_admin))
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/kb/search", {"text": "password"}),
        ("get", "/api/kb/articles/1", None),
        ("get", "/api/kb/status", None),
    ],
)
def test_every_route_needs_authorisation(client, method, path, body):
    response = client.request(method, path, json=body)
    assert response.status_code == 401
    assert client.request(method, path, json=body, headers={"X-Token": "wrong"}).status_code == 401


def test_search_returns_the_decision_and_ranked_hits(client):
    response = client.post(
        "/api/kb/search", json={"text": "I forgot my password", "top_k": 2}, headers=TOKEN
    )
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "answer"
    assert body["decided_by"]["rule"] == "confident_answer"
    assert body["decided_by"]["threshold"] == 0.55 and body["decided_by"]["score"] > 0.55
    assert len(body["hits"]) == 2 and body["hits"][0]["slug"] == "reset-password"
    assert set(body["hits"][0]) == {
        "article_id",
        "slug",
        "title",
        "answer",
        "url",
        "score",
        "matched_question",
    }
    assert body["hits"][0]["score"] >= body["hits"][1]["score"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   "},
        {},
        {"text": "x" * 2001},
        {"text": "password", "top_k": 0},
        {"text": "password", "top_k": 21},
        {"text": "password", "extra": True},
    ],
)
def test_invalid_search_bodies_are_422(client, body):
    assert client.post("/api/kb/search", json=body, headers=TOKEN).status_code == 422


def test_get_article_and_not_found(client):
    article_id = client.post(
        "/api/kb/search", json={"text": "shipment status"}, headers=TOKEN
    ).json()["hits"][0]["article_id"]
    body = client.get(f"/api/kb/articles/{article_id}", headers=TOKEN).json()
    assert body["slug"] == "track-order" and body["questions"][0] == "track my parcel delivery"
    missing = client.get("/api/kb/articles/9999", headers=TOKEN)
    assert missing.status_code == 404 and "9999" in missing.json()["detail"]


def test_status_reports_counts_and_versions(client):
    body = client.get("/api/kb/status", headers=TOKEN).json()
    assert body["articles"] == 4 and body["index_size"] == body["questions"] > 4
    assert body["version"] == body["index_version"] == 1 and body["stale"] is False


def test_routes_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/api/kb/search"]["post"]["summary"].startswith("Rank articles")
    assert {"/api/kb/articles/{article_id}", "/api/kb/status"} <= set(paths)


ARTICLE = {
    "slug": "voicemail",
    "title": "How do I set up voicemail?",
    "answer": "Dial **121**.",
    "questions": ["voicemail greeting setup"],
}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/kb/articles", ARTICLE),
        ("put", "/api/kb/articles/1", ARTICLE),
        ("patch", "/api/kb/articles/1", {"status": "draft"}),
        ("delete", "/api/kb/articles/1", None),
        ("put", "/api/kb/articles/1/draft", ARTICLE),
        ("delete", "/api/kb/articles/1/draft", None),
        ("post", "/api/kb/articles/1/publish", None),
        ("post", "/api/kb/reindex", None),
        ("get", "/api/kb/export", None),
    ],
)
def test_writes_and_export_need_an_admin(client, method, path, body):
    assert client.request(method, path, json=body, headers=TOKEN).status_code == 403
    assert client.request(method, path, json=body).status_code == 401


def test_article_crud_round_trip(client):
    created = client.post("/api/kb/articles", json=ARTICLE, headers=ADMIN)
    assert created.status_code == 201
    article = created.json()
    assert article["status"] == "published" and article["questions"] == ARTICLE["questions"]
    url = f"/api/kb/articles/{article['id']}"
    hit = client.post("/api/kb/search", json={"text": "voicemail greeting setup"}, headers=TOKEN)
    assert hit.json()["hits"][0]["article_id"] == article["id"]
    assert client.post("/api/kb/articles", json=ARTICLE, headers=ADMIN).status_code == 409

    replaced = client.put(url, json={**ARTICLE, "title": "Voicemail"}, headers=ADMIN).json()
    assert replaced["title"] == "Voicemail" and replaced["answer"] == "Dial **121**."
    patched = client.patch(url, json={"status": "draft"}, headers=ADMIN).json()
    assert (patched["status"], patched["title"]) == ("draft", "Voicemail")
    hits = client.post("/api/kb/search", json={"text": "voicemail greeting setup"}, headers=TOKEN)
    assert all(h["article_id"] != article["id"] for h in hits.json()["hits"])

    history = client.get(f"{url}/revisions", headers=TOKEN).json()
    assert [r["action"] for r in history] == ["unpublished", "updated", "created"]
    assert [r["version"] for r in history] == [3, 2, 1]
    assert history[0]["actor"] == "admin:ana" and history[0]["previous"]["status"] == "published"

    page = client.get("/api/kb/articles?status=draft&limit=10", headers=TOKEN).json()
    assert page["total"] == 1 and page["items"][0]["slug"] == "voicemail"
    assert client.delete(url, headers=ADMIN).status_code == 204
    assert client.get(url, headers=TOKEN).status_code == 404
    assert client.delete(url, headers=ADMIN).status_code == 404


def test_invalid_articles_are_422_naming_the_field(client):
    bad = client.post("/api/kb/articles", json={**ARTICLE, "slug": "Not A Slug"}, headers=ADMIN)
    assert bad.status_code == 422 and "slug" in bad.json()["detail"]
    assert client.post("/api/kb/articles", json={"title": "x"}, headers=ADMIN).status_code == 422
    assert (
        client.patch("/api/kb/articles/1", json={"status": "gone"}, headers=ADMIN).status_code
        == 422
    )


def test_import_upload_export_and_reindex(client):
    csv = "slug,title,answer,questions\nvoicemail,Voicemail,Dial 121.,record a greeting\n"
    response = client.post(
        "/api/kb/import", files={"file": ("more.csv", csv, "text/csv")}, headers=ADMIN
    )
    assert response.status_code == 200 and response.json()["slugs_created"] == ["voicemail"]
    bad = client.post(
        "/api/kb/import",
        files={"file": ("bad.csv", "slug,title,answer\nx,,y\n", "text/csv")},
        headers=ADMIN,
    )
    assert bad.status_code == 400 and "bad.csv" in bad.json()["detail"]
    assert "line 2" in bad.json()["detail"] and "title" in bad.json()["detail"]
    unsupported = client.post(
        "/api/kb/import",
        files={"file": ("kb.docx", b"x", "application/octet-stream")},
        headers=ADMIN,
    )
    assert unsupported.status_code == 415

    exported = client.get("/api/kb/export?format=csv", headers=ADMIN)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.text.startswith("slug,title,answer") and "voicemail" in exported.text
    again = client.post(
        "/api/kb/import", files={"file": ("articles.csv", exported.content)}, headers=ADMIN
    ).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5)
    assert client.get("/api/kb/export?format=xml", headers=ADMIN).status_code == 422

    status = client.post("/api/kb/reindex", headers=ADMIN).json()
    assert status["index_size"] == status["questions"] and status["stale"] is False


def test_admin_routes_are_documented_with_their_schemas(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/api/kb/articles/{article_id}"]) == {"get", "put", "patch", "delete"}
    assert {"/api/kb/import", "/api/kb/export", "/api/kb/reindex"} <= set(paths)
    assert {"ArticleCreate", "ArticleUpdate", "ArticlePublic"} <= set(spec["components"]["schemas"])
    assert paths["/api/kb/articles"]["post"]["summary"].startswith("Create an article")
