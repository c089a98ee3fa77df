"""Drafts of articles: saved beside the live version, never searched, published on demand,
merged with live changes made meanwhile; the routes and their OpenAPI documentation."""

from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from knowledge_base import ArticleStatus, create_router
from knowledge_base.errors import (
    ArticleConflict,
    ArticleNotFound,
    InvalidArticle,
    KnowledgeBaseError,
)
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit

NEW = {
    "slug": "voicemail",
    "title": "How do I set up voicemail?",
    "answer": "Dial 121 and follow the prompts.",
    "questions": ["voicemail greeting setup", "record my voicemail message"],
    "tags": ["calls"],
}
EDIT = {**NEW, "answer": "Dial 222 and say 'greeting'.", "questions": ["voicemail pin forgotten"]}


@pytest.fixture
def kb(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    return kb


def top(kb, text):
    return kb.search(text).hits[0]


def test_a_draft_of_a_live_article_changes_neither_search_nor_the_live_version(kb):
    article = kb.create_article(NEW, actor="agent:1", actor_name="Ana")
    version = kb.status()["version"]
    kb.embedder.reset()

    saved = kb.save_draft(article.id, EDIT, actor="agent:2", actor_name="Bo")
    assert kb.status()["version"] == version and kb.embedder.encoded == []  # nothing indexed

    assert (saved.answer, saved.questions) == (NEW["answer"], NEW["questions"])  # live as it was
    assert saved.status is ArticleStatus.PUBLISHED and saved.updated_at == article.updated_at
    draft = saved.to_dict()["draft"]
    assert draft["answer"] == EDIT["answer"] and draft["questions"] == EDIT["questions"]
    assert draft["changed"] == ["answer", "questions"]
    assert (draft["saved_by"], draft["saved_by_name"]) == ("agent:2", "Bo")
    assert top(kb, "record my voicemail message").matched_question == "record my voicemail message"
    assert top(kb, "voicemail pin forgotten").matched_question != "voicemail pin forgotten"
    assert len(kb.article_revisions(article.id)) == 1  # a draft save is not a version
    assert kb.get_article(article.id).draft is not None  # kept in SQL


def test_publishing_the_draft_makes_it_live_and_records_a_version(kb):
    article = kb.create_article(NEW, actor="agent:1", actor_name="Ana")
    kb.save_draft(article.id, EDIT, actor="agent:2", actor_name="Bo")

    published = kb.publish(article.id, actor="agent:3", actor_name="Cy")

    assert published.draft is None and published.answer == EDIT["answer"]
    assert top(kb, "voicemail pin forgotten").matched_question == "voicemail pin forgotten"
    assert all(
        h.matched_question != "record my voicemail message"
        for h in kb.search("record my voicemail message").hits
    )
    latest, first = kb.article_revisions(article.id)
    assert (latest.version, latest.action, latest.actor, latest.actor_name) == (
        2, "published", "agent:3", "Cy"
    )
    assert latest.changed == ["answer", "questions"] and latest.previous["answer"] == NEW["answer"]
    assert (first.version, first.action, first.actor_name) == (1, "created", "Ana")
    again = kb.publish(article.id, actor="agent:3")
    assert again.to_dict() == published.to_dict() and len(kb.article_revisions(article.id)) == 2


def test_discarding_a_draft_keeps_the_live_version(kb):
    article = kb.create_article(NEW, actor="a")
    kb.save_draft(article.id, EDIT, actor="a")
    discarded = kb.discard_draft(article.id)
    assert discarded.draft is None and discarded.to_dict() == kb.get_article(article.id).to_dict()
    assert discarded.answer == NEW["answer"] and discarded.updated_at == article.updated_at
    assert kb.publish(article.id, actor="a").answer == NEW["answer"]


def test_a_draft_equal_to_the_live_version_is_no_draft(kb):
    article = kb.create_article(NEW, actor="a")
    kb.save_draft(article.id, EDIT, actor="a")
    assert kb.save_draft(article.id, NEW, actor="a").draft is None


def test_publishing_keeps_live_changes_made_since_the_draft_was_started(kb):
    """The inbox attaches a phrasing to the live article while a draft is open."""
    article = kb.create_article(NEW, actor="a")
    kb.save_draft(
        article.id,
        {**NEW, "title": "Voicemail", "questions": ["voicemail greeting setup", "voicemail pin"]},
        actor="a",
    )
    kb.update_article(
        article.id,
        {"questions": [*NEW["questions"], "set up my answering machine"], "tags": ["phone"]},
        actor="agent:9",
        partial=True,
    )
    draft = kb.get_article(article.id).to_dict()["draft"]
    assert draft["live_changed"] == ["tags", "questions"]

    published = kb.publish(article.id, actor="a")

    assert published.title == "Voicemail"  # the draft's change
    assert published.tags == ["phone"]  # the live change, untouched by the draft
    # The live list without what the draft removed, plus what the draft added.
    assert published.questions == [
        "voicemail greeting setup",
        "set up my answering machine",
        "voicemail pin",
    ]
    assert top(kb, "set up my answering machine").article_id == article.id


def test_publishing_a_draft_article_takes_it_live(kb):
    article = kb.create_article({**NEW, "status": "draft"}, actor="a")
    assert all(h.article_id != article.id for h in kb.search("voicemail greeting setup").hits)
    published = kb.publish(article.id, actor="a")
    assert published.status is ArticleStatus.PUBLISHED
    assert top(kb, "voicemail greeting setup").article_id == article.id
    assert kb.article_revisions(article.id)[0].action == "published"


def test_invalid_or_conflicting_drafts_are_refused_and_change_nothing(kb):
    article = kb.create_article(NEW, actor="a")
    with pytest.raises(InvalidArticle) as e:
        kb.save_draft(article.id, {**EDIT, "slug": "Voice Mail", "title": ""}, actor="a")
    assert {p.field for p in e.value.problems} == {"slug", "title"}
    assert "not a valid slug" in str(e.value) and "'voice-mail'" in str(e.value)
    with pytest.raises(ArticleConflict):
        kb.save_draft(article.id, {**EDIT, "slug": "refunds"}, actor="a")
    with pytest.raises(ArticleNotFound):
        kb.save_draft(999, EDIT, actor="a")
    assert kb.get_article(article.id).draft is None


def test_a_draft_may_rename_the_slug_checked_again_at_publish(kb):
    article = kb.create_article(NEW, actor="a")
    kb.save_draft(article.id, {**NEW, "slug": "voicemail-setup"}, actor="a")
    assert kb.get_article(article.id).slug == "voicemail"
    kb.create_article({**NEW, "slug": "voicemail-setup", "questions": []}, actor="b")
    with pytest.raises(ArticleConflict):
        kb.publish(article.id, actor="a")
    assert kb.get_article(article.id).draft is not None  # kept: rename it and publish again


def test_list_search_matches_answers_and_questions_not_only_titles(kb):
    kb.create_article(NEW, actor="a")
    assert [a.slug for a in kb.list_articles(text="DIAL 121")[0]] == ["voicemail"]
    assert [a.slug for a in kb.list_articles(text="greeting setup")[0]] == ["voicemail"]
    assert [a.slug for a in kb.list_articles(text="courier tracking")[0]] == ["track-order"]
    assert kb.list_articles(text="100%")[1] == 0  # % is literal, not a wildcard
    assert kb.list_articles(text="_")[1] == 0


# -- HTTP ----------------------------------------------------------------------------------

ADMIN = {"X-Admin": "ana"}
PEOPLE = {"ana": SimpleNamespace(actor="agent:3", display_name="Ana Lima", email="ana@x.test")}


@pytest.fixture
def client(kb):
    def authorize() -> None:
        return None

    def authorize_admin(x_admin: str | None = Header(None)):
        if x_admin not in PEOPLE:
            raise HTTPException(status_code=403, detail="admins only")
        return PEOPLE[x_admin]

    app = FastAPI()
    app.add_exception_handler(
        KnowledgeBaseError,
        lambda _r, e: JSONResponse({"detail": str(e)}, status_code=status_for(e)),
    )
    app.include_router(create_router(kb, authorize, authorize_admin))
    with TestClient(app) as c:
        yield c


def test_draft_routes_save_show_publish_and_discard(client):
    article = client.post("/api/kb/articles", json=NEW, headers=ADMIN).json()
    url = f"/api/kb/articles/{article['id']}"
    saved = client.put(f"{url}/draft", json=EDIT, headers=ADMIN)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["answer"] == NEW["answer"] and body["draft"]["answer"] == EDIT["answer"]
    assert body["draft"]["saved_by_name"] == "Ana Lima"
    assert client.get(url).json()["draft"]["changed"] == ["answer", "questions"]
    hit = client.post("/api/kb/search", json={"text": "record my voicemail message"}).json()
    assert hit["hits"][0]["matched_question"] == "record my voicemail message"

    published = client.post(f"{url}/publish", headers=ADMIN).json()
    assert published["draft"] is None and published["answer"] == EDIT["answer"]
    history = client.get(f"{url}/revisions").json()
    assert [(r["version"], r["action"], r["actor"], r["actor_name"]) for r in history] == [
        (2, "published", "agent:3", "Ana Lima"),
        (1, "created", "agent:3", "Ana Lima"),
    ]

    client.put(f"{url}/draft", json=NEW, headers=ADMIN)
    discarded = client.delete(f"{url}/draft", headers=ADMIN)
    assert discarded.status_code == 200 and discarded.json()["draft"] is None
    assert client.get(url).json()["answer"] == EDIT["answer"]


def test_draft_routes_refuse_bad_input_and_non_admins(client):
    article = client.post("/api/kb/articles", json=NEW, headers=ADMIN).json()
    url = f"/api/kb/articles/{article['id']}"
    bad = client.put(f"{url}/draft", json={**EDIT, "slug": "Bad Slug!"}, headers=ADMIN)
    assert bad.status_code == 422
    assert "not a valid slug" in bad.json()["detail"] and "required" not in bad.json()["detail"]
    with_status = client.put(f"{url}/draft", json={**EDIT, "status": "draft"}, headers=ADMIN)
    assert with_status.status_code == 422  # a draft has no status: publish sets it
    assert client.put(f"{url}/draft", json=EDIT).status_code == 403
    assert client.post(f"{url}/publish").status_code == 403
    assert client.delete(f"{url}/draft").status_code == 403
    assert client.post("/api/kb/articles/999/publish", headers=ADMIN).status_code == 404


def test_draft_routes_are_documented_like_their_neighbours(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    draft = paths["/api/kb/articles/{article_id}/draft"]
    publish = paths["/api/kb/articles/{article_id}/publish"]["post"]
    assert set(draft) == {"put", "delete"}
    for operation in (draft["put"], draft["delete"], publish):
        assert operation["summary"]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": "#/components/schemas/ArticlePublic"}
    assert "live version keeps answering" in draft["put"]["summary"]
    schemas = spec["components"]["schemas"]
    assert {"ArticleDraftWrite", "DraftPublic"} <= set(schemas)
    assert "status" not in schemas["ArticleDraftWrite"]["properties"]
    assert {"version", "actor_name"} <= set(schemas["RevisionPublic"]["properties"])
