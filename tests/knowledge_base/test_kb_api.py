"""The /api/kb router through FastAPI's TestClient, with a stand-in for the app's auth."""

import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from knowledge_base import create_router
from knowledge_base.errors import KnowledgeBaseError

pytestmark = pytest.mark.unit

TOKEN = {"X-Token": "let-me-in"}


def authorize(x_token: str | None = Header(None)) -> None:
    if x_token != "let-me-in":
        raise HTTPException(status_code=401, detail="not authorised")


@pytest.fixture
def client(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    app = FastAPI()
    # What the composition root does once for the whole package.
    app.add_exception_handler(
        KnowledgeBaseError,
        lambda _r, e: JSONResponse({"detail": str(e)}, status_code=e.http_status),
    )
    app.include_router(create_router(kb, authorize))
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
