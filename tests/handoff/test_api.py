"""The HTTP contract, through FastAPI's TestClient with the in-memory Rasa."""

from __future__ import annotations

import asyncio

import pytest

from handoff import events

pytestmark = pytest.mark.unit

INTERNAL = {"Authorization": "Bearer test-internal-token-0123456789"}


@pytest.fixture
def queued_id(client, service) -> str:
    conv = service.open_conversation(None, {"plan": "pro"})
    asyncio.run(service.receive_user_message(conv.id, "I need a human", "k1"))
    r = client.post(
        "/api/internal/handoff",
        json={"conversation_id": conv.id, "reason": "request_human", "context": {"hits": []}},
        headers=INTERNAL,
    )
    assert r.status_code == 200 and r.json() == {"status": "queued", "offline": False}, r.text
    return conv.id


def test_login_with_form_or_json(client, agent):
    form = client.post(
        "/api/auth/token", data={"username": "ana@example.com", "password": "correct horse battery"}
    )
    as_json = client.post(
        "/api/auth/token", json={"username": "ana@example.com", "password": "correct horse battery"}
    )
    for r in (form, as_json):
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "bearer" and r.json()["access_token"].count(".") == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"username": "ana@example.com", "password": "wrong password"}},
        {"json": {"username": "nobody@example.com", "password": "correct horse battery"}},
        {"json": {"username": "ana@example.com"}},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
    ],
)
def test_bad_logins_are_401(client, agent, kwargs):
    r = client.post("/api/auth/token", **kwargs)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_agent_endpoints_need_a_valid_token(client, agent, auth_headers):
    no_token = client.get("/api/conversations")
    bad_token = client.get("/api/conversations", headers={"Authorization": "Bearer nope"})
    for r in (no_token, bad_token):
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert "POST /api/auth/token" in r.json()["detail"]
    me = client.get("/api/agents/me", headers=auth_headers("ana@example.com"))
    assert me.status_code == 200
    assert me.json()["email"] == "ana@example.com" and me.json()["display_name"] == "Ana"
    assert "password_hash" not in me.json()


def test_admin_only_and_internal_only_endpoints(client, agent, admin, auth_headers):
    new = {"email": "cy@example.com", "password": "long enough", "display_name": "Cy"}
    as_agent = client.post("/api/agents", json=new, headers=auth_headers("ana@example.com"))
    assert as_agent.status_code == 403
    as_admin = client.post("/api/agents", json=new, headers=auth_headers("root@example.com"))
    assert as_admin.status_code == 201 and as_admin.json()["role"] == "agent"
    again = client.post("/api/agents", json=new, headers=auth_headers("root@example.com"))
    assert again.status_code == 409
    # An agent's token is not the internal token.
    hook = {"conversation_id": "x", "reason": "r"}
    r = client.post("/api/internal/handoff", json=hook, headers=auth_headers("ana@example.com"))
    assert r.status_code == 401
    assert client.post("/api/internal/handoff", json=hook).status_code == 401


def test_claim_reply_resolve_flow(
    client, service, rasa, agent, other_agent, auth_headers, queued_id
):
    ana, bo = auth_headers("ana@example.com"), auth_headers("bo@example.com")
    delivered = []
    service.bus.subscribe(events.MESSAGE_CREATED, lambda e: delivered.append(e.data))

    listed = client.get("/api/conversations", params={"status": "queued"}, headers=ana).json()
    assert [(c["id"], c["status"], c["reason"], c["assignee"]) for c in listed] == [
        (queued_id, "queued", "request_human", None)
    ]
    assert listed[0]["queued_at"] and listed[0]["last_message"]

    claimed = client.post(f"/api/conversations/{queued_id}/claim", headers=ana)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["status"] == "assigned"
    assert claimed.json()["assignee"] == {"id": agent.id, "display_name": "Ana"}
    assert client.post(f"/api/conversations/{queued_id}/claim", headers=bo).status_code == 409

    assert (
        client.post(
            f"/api/conversations/{queued_id}/messages", json={"text": "hi"}, headers=bo
        ).status_code
        == 403
    )
    reply = client.post(
        f"/api/conversations/{queued_id}/messages", json={"text": "Hi, Ana here"}, headers=ana
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["sender"] == "agent" and reply.json()["agent_name"] == "Ana"
    assert delivered[-1]["text"] == "Hi, Ana here"

    # The user writes while an agent holds the chat: stored, the bot stays silent.
    asyncio.run(service.receive_user_message(queued_id, "thanks!", "k2"))
    sent_before = len(rasa.sent)

    detail = client.get(f"/api/conversations/{queued_id}", headers=ana).json()
    assert [(m["sender"], m["text"]) for m in detail["messages"]] == [
        ("user", "I need a human"),
        ("bot", "echo: I need a human"),
        ("system", "Ana joined the chat"),
        ("agent", "Hi, Ana here"),
        ("user", "thanks!"),
    ]
    assert detail["context"] == {"hits": []} and detail["user_metadata"] == {"plan": "pro"}

    assert client.post(f"/api/conversations/{queued_id}/resolve", headers=bo).status_code == 403
    resolved = client.post(f"/api/conversations/{queued_id}/resolve", headers=ana)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert len(rasa.sent) == sent_before
    again = client.post(f"/api/conversations/{queued_id}/resolve", headers=ana)
    assert again.status_code == 409


def test_handback_flow(client, rasa, agent, auth_headers, queued_id, settings):
    ana = auth_headers("ana@example.com")
    client.post(f"/api/conversations/{queued_id}/claim", headers=ana)
    back = client.post(f"/api/conversations/{queued_id}/handback", headers=ana)
    assert back.status_code == 200 and back.json()["status"] == "bot"
    assert back.json()["assignee"] is None
    assert rasa.resumed == [queued_id]
    detail = client.get(f"/api/conversations/{queued_id}", headers=ana).json()
    assert detail["messages"][-1]["text"] == settings.handback_message


def test_handback_with_rasa_down_is_503(client, rasa, agent, auth_headers, queued_id):
    ana = auth_headers("ana@example.com")
    client.post(f"/api/conversations/{queued_id}/claim", headers=ana)
    rasa.available = False
    r = client.post(f"/api/conversations/{queued_id}/handback", headers=ana)
    assert r.status_code == 503 and "Rasa" in r.json()["detail"]


def test_release_returns_it_to_the_queue(client, agent, auth_headers, queued_id):
    ana = auth_headers("ana@example.com")
    client.post(f"/api/conversations/{queued_id}/claim", headers=ana)
    released = client.post(f"/api/conversations/{queued_id}/release", headers=ana)
    assert released.status_code == 200 and released.json()["status"] == "queued"


def test_unknown_ids_bad_text_and_bad_filters(client, agent, auth_headers, queued_id):
    ana = auth_headers("ana@example.com")
    for method, path in [
        ("get", "/api/conversations/nope"),
        ("post", "/api/conversations/nope/claim"),
        ("post", "/api/conversations/nope/resolve"),
        ("post", "/api/conversations/nope/handback"),
    ]:
        r = getattr(client, method)(path, headers=ana)
        assert r.status_code == 404, (path, r.text)
    r = client.post(
        "/api/internal/handoff", json={"conversation_id": "nope", "reason": "x"}, headers=INTERNAL
    )
    assert r.status_code == 404
    client.post(f"/api/conversations/{queued_id}/claim", headers=ana)
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 201}, {}):
        r = client.post(f"/api/conversations/{queued_id}/messages", json=body, headers=ana)
        assert r.status_code == 422, body
    assert client.get("/api/conversations?status=lost", headers=ana).status_code == 422


def test_internal_handoff_is_idempotent(client, queued_id):
    r = client.post(
        "/api/internal/handoff",
        json={"conversation_id": queued_id, "reason": "low_confidence"},
        headers=INTERNAL,
    )
    assert r.status_code == 200 and r.json() == {"status": "queued", "offline": False}


def test_openapi_has_summaries_and_an_authorize_button(app):
    schema = app.openapi()
    assert (
        schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"][
            "tokenUrl"
        ]
        == "/api/auth/token"
    )
    claim = schema["paths"]["/api/conversations/{conversation_id}/claim"]["post"]
    assert claim["summary"].startswith("Claim")
    login = schema["paths"]["/api/auth/token"]["post"]["requestBody"]["content"]
    assert set(login) == {"application/x-www-form-urlencoded", "application/json"}


def test_console_views_counts_and_search(client, service, desk, agent, other_agent, auth_headers,
                                         queued_id):
    ana, bo = auth_headers("ana@example.com"), auth_headers("bo@example.com")
    other = service.open_conversation(None, {"name": "Zoe", "email": "zoe@example.com"})
    asyncio.run(service.receive_user_message(other.id, "my invoice is wrong", "z1"))
    asyncio.run(service.request_handoff(other.id, "low_confidence", {}))
    client.post(f"/api/conversations/{other.id}/claim", headers=bo)

    counts = client.get("/api/conversations/counts", headers=ana)
    assert counts.status_code == 200
    assert counts.json() == {"mine": 0, "unassigned": 1, "open": 2, "resolved": 0}
    assert client.get("/api/conversations/counts", headers=bo).json()["mine"] == 1

    def view(name, headers=ana, **params):
        r = client.get("/api/conversations/search", params={"view": name, **params},
                       headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    [queued] = view("unassigned")
    assert queued["id"] == queued_id and queued["wait_seconds"] >= 0
    assert queued["first_question"] == queued["last_user_message"] == "I need a human"
    assert view("mine") == [] and [c["id"] for c in view("mine", bo)] == [other.id]
    [zoe] = view("open", q="INVOICE")
    assert (zoe["user_name"], zoe["user_email"], zoe["match"]) == (
        "Zoe", "zoe@example.com", "my invoice is wrong")
    assert zoe["assignee"] == {"id": other_agent.id, "display_name": "Bo"}
    assert zoe["wait_seconds"] is None
    assert [c["id"] for c in view("all", q=queued_id[:10])] == [queued_id]
    assert view("resolved") == []

    # Bad input is a 422, and the fixed paths are not taken for conversation ids.
    for params in ({"view": "everything"}, {"q": "x" * 201}, {"limit": 0}):
        assert client.get("/api/conversations/search", params=params,
                          headers=ana).status_code == 422
    assert client.get("/api/conversations/search", headers=ana).status_code == 200


def test_a_users_previous_conversations(client, service, desk, agent, auth_headers, queued_id):
    ana = auth_headers("ana@example.com")
    first = service.open_conversation(None, {"email": "sam@example.com"})
    asyncio.run(service.receive_user_message(first.id, "where is my parcel?", "s1"))
    second = service.open_conversation(None, {"email": "SAM@example.com", "name": "Sam"})
    r = client.get(f"/api/conversations/{second.id}/previous", headers=ana)
    assert r.status_code == 200
    assert [(c["id"], c["first_question"]) for c in r.json()] == [
        (first.id, "where is my parcel?")]
    # The plan alone identifies nobody.
    assert client.get(f"/api/conversations/{queued_id}/previous", headers=ana).json() == []
    assert client.get("/api/conversations/nope/previous", headers=ana).status_code == 404


def test_console_endpoints_are_documented(app):
    paths = app.openapi()["paths"]
    for path in ("/api/conversations/search", "/api/conversations/counts",
                 "/api/conversations/{conversation_id}/previous"):
        op = paths[path]["get"]
        assert op["summary"] and "200" in op["responses"], path
        assert "$ref" in str(op["responses"]["200"]), path
