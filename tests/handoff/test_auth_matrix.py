"""Every route of the whole app x every kind of caller: who gets in, who gets 401 or 403.

The app is the real composition root (`tier1.app.create_app`: handoff, knowledge base, admin,
pages), so the KB's and the admin console's routers are walked too. Routes come from the
app itself (including pages outside the OpenAPI schema), so a new endpoint without a row in
`REQUIRED` fails `test_every_route_has_an_expected_role` until someone decides who may call it.

Callers: anonymous, a malformed token, an agent, an admin, the internal token (the action
server), an end user's session token for the conversation in the path, and another user's.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from tests.full_app import INTERNAL, build_app

pytestmark = pytest.mark.unit

# Who may call it:
#   public    anyone (never 401/403)
#   agent     agents and admins
#   admin     admins only (agents get 403)
#   internal  the internal token only
#   reader    the internal token, agents and admins (the KB's reads and search)
#   session   an end user's session token for that conversation (another's gets 403)
#   stream    the same, but the right token opens an endless stream: only refusals are walked
REQUIRED = {
    # pages and docs
    ("GET", "/"): "public",
    ("GET", "/console"): "public",
    ("GET", "/admin"): "public",
    ("GET", "/health"): "public",
    ("GET", "/health/live"): "public",
    ("GET", "/health/ready"): "public",
    ("GET", "/metrics"): "public",
    ("GET", "/widget.js"): "public",
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/docs/oauth2-redirect"): "public",
    ("GET", "/redoc"): "public",
    # handoff: auth, widget, end users' chat API
    ("POST", "/api/auth/token"): "public",
    ("GET", "/api/widget/config"): "public",
    ("POST", "/api/chat/sessions"): "public",
    ("GET", "/api/chat/sessions/{session_id}"): "session",
    ("POST", "/api/chat/sessions/{session_id}/messages"): "session",
    ("GET", "/api/chat/sessions/{session_id}/messages"): "session",
    ("POST", "/api/chat/sessions/{session_id}/typing"): "session",
    ("GET", "/api/chat/sessions/{session_id}/events"): "stream",
    # handoff: agents and admins
    ("GET", "/api/agents/me"): "agent",
    ("POST", "/api/agents/me/heartbeat"): "agent",
    ("GET", "/api/agents"): "agent",
    ("POST", "/api/agents"): "admin",
    ("PATCH", "/api/agents/{agent_id}"): "admin",
    ("POST", "/api/agents/{agent_id}/deactivate"): "admin",
    ("POST", "/api/agents/{agent_id}/reactivate"): "admin",
    ("POST", "/api/agents/{agent_id}/password"): "admin",
    ("GET", "/api/conversations"): "agent",
    ("GET", "/api/conversations/{conversation_id}"): "agent",
    ("GET", "/api/conversations/{conversation_id}/messages"): "agent",
    ("POST", "/api/conversations/{conversation_id}/messages"): "agent",
    ("GET", "/api/conversations/{conversation_id}/audit"): "agent",
    ("POST", "/api/conversations/{conversation_id}/notes"): "agent",
    ("POST", "/api/conversations/{conversation_id}/claim"): "agent",
    ("GET", "/api/conversations/search"): "agent",
    ("GET", "/api/conversations/counts"): "agent",
    ("GET", "/api/conversations/{conversation_id}/previous"): "agent",
    ("POST", "/api/conversations/{conversation_id}/resolve"): "agent",
    ("POST", "/api/conversations/{conversation_id}/handback"): "agent",
    ("POST", "/api/conversations/{conversation_id}/release"): "agent",
    ("POST", "/api/conversations/{conversation_id}/transfer"): "agent",
    ("GET", "/api/canned-responses"): "agent",
    ("POST", "/api/canned-responses"): "admin",
    ("PUT", "/api/canned-responses/{canned_id}"): "admin",
    ("DELETE", "/api/canned-responses/{canned_id}"): "admin",
    ("GET", "/api/tickets"): "agent",
    ("GET", "/api/tickets/{ticket_id}"): "agent",
    ("POST", "/api/tickets/{ticket_id}/close"): "agent",
    ("POST", "/api/internal/handoff"): "internal",
    # knowledge base: reads and search for agents and the action server, writes for admins
    ("POST", "/api/kb/search"): "reader",
    ("GET", "/api/kb/articles"): "reader",
    ("GET", "/api/kb/articles/{article_id}"): "reader",
    ("GET", "/api/kb/articles/{article_id}/revisions"): "reader",
    ("GET", "/api/kb/status"): "reader",
    ("POST", "/api/kb/articles"): "admin",
    ("PUT", "/api/kb/articles/{article_id}"): "admin",
    ("PATCH", "/api/kb/articles/{article_id}"): "admin",
    ("DELETE", "/api/kb/articles/{article_id}"): "admin",
    ("PUT", "/api/kb/articles/{article_id}/draft"): "admin",
    ("DELETE", "/api/kb/articles/{article_id}/draft"): "admin",
    ("POST", "/api/kb/articles/{article_id}/publish"): "admin",
    ("POST", "/api/admin/unanswered/{item_id}/undo"): "admin",
    ("POST", "/api/kb/import"): "admin",
    ("POST", "/api/kb/import/preview"): "admin",
    ("GET", "/api/kb/export"): "admin",
    ("POST", "/api/kb/reindex"): "admin",
    # the admin console's API
    ("GET", "/api/admin/unanswered"): "admin",
    ("POST", "/api/admin/unanswered/{item_id}/attach"): "admin",
    ("POST", "/api/admin/unanswered/{item_id}/draft"): "admin",
    ("POST", "/api/admin/unanswered/{item_id}/dismiss"): "admin",
    ("GET", "/api/admin/analytics"): "admin",
    ("GET", "/api/admin/analytics.csv"): "admin",
}

PASSWORD = "matrix-password-1"
BAD = {"Authorization": "Bearer not-a-token"}


def routes(api) -> set[tuple[str, str]]:
    """Every (method, path) the FastAPI app serves, pages included (HEAD is GET's twin)."""
    return {
        (method, route.path)
        for route in api.routes
        if isinstance(route, (APIRoute, Route))
        for method in route.methods or ()
        if method != "HEAD"
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("matrix"), seed=False)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def callers(app, client) -> dict:
    for email, role in (("agent@example.com", "agent"), ("admin@example.com", "admin")):
        app.handoff.create_agent(email, PASSWORD, role=role)

    def login(email: str) -> dict[str, str]:
        r = client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    mine = client.post("/api/chat/sessions").json()
    other = client.post("/api/chat/sessions").json()
    return {
        "agent": login("agent@example.com"),
        "admin": login("admin@example.com"),
        "internal": INTERNAL,
        "session": {"Authorization": f"Bearer {mine['session_token']}"},
        "session_id": mine["session_id"],
        "other_session": {"Authorization": f"Bearer {other['session_token']}"},
    }


def call(client, method: str, path: str, headers: dict[str, str] | None = None, ident="999999"):
    url = re.sub(r"\{[^}]+\}", ident, path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, url, json=body, headers=headers or {})


def test_every_route_has_an_expected_role(app):
    assert routes(app.fastapi) == set(REQUIRED)


def check(client, callers: dict, method: str, path: str) -> None:
    required = REQUIRED[(method, path)]
    if required == "public":
        for who in (None, BAD, callers["session"]):
            r = call(client, method, path, who)
            assert r.status_code not in (401, 403) or path == "/api/auth/token", (who, r.text)
        return
    for headers in (None, BAD):
        r = call(client, method, path, headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
    if required in ("session", "stream"):
        # Agents', admins' and the internal token are not session tokens.
        for who in ("agent", "admin", "internal"):
            assert call(client, method, path, callers[who]).status_code == 401, who
        r = call(client, method, path, callers["other_session"], ident=callers["session_id"])
        assert r.status_code == 403, (r.status_code, r.text)
        if required == "session":
            r = call(client, method, path, callers["session"], ident=callers["session_id"])
            assert r.status_code not in (401, 403), (r.status_code, r.text)
        return
    # An end user's session token never opens an agent, admin or internal route.
    assert call(client, method, path, callers["session"]).status_code == 401
    allowed = {
        "agent": ("agent", "admin"),
        "admin": ("admin",),
        "internal": ("internal",),
        "reader": ("agent", "admin", "internal"),
    }[required]
    for who in ("agent", "admin", "internal"):
        r = call(client, method, path, callers[who])
        if who in allowed:
            # Past auth: the request itself may still be invalid (404 for the fake id, 422).
            assert r.status_code not in (401, 403), (who, r.status_code, r.text)
        elif who == "agent" and required == "admin":
            assert r.status_code == 403, (who, r.status_code, r.text)
        else:
            assert r.status_code == 401, (who, r.status_code, r.text)


def test_auth_matrix(client, callers):
    # One app for every route (a fresh app per route would cost seconds); each failure is
    # reported with its route.
    failures = []
    for method, path in sorted(REQUIRED):
        try:
            check(client, callers, method, path)
        except AssertionError as e:
            failures.append(f"{method} {path}: {e}")
    assert failures == []


# -- conversation isolation ---------------------------------------------------------------------


def test_only_the_assignee_acts_on_an_assigned_conversation(app, client, callers):
    """Another agent, and an admin too, can read and annotate a conversation an agent holds,
    but not reply, resolve, release, transfer or hand it back; a transfer moves that right."""
    app.handoff.create_agent("bo@example.com", PASSWORD, role="agent")
    bo = {"Authorization": "Bearer " + client.post(
        "/api/auth/token", data={"username": "bo@example.com", "password": PASSWORD}
    ).json()["access_token"]}
    ana, admin = callers["agent"], callers["admin"]
    cid = client.post("/api/chat/sessions").json()["session_id"]
    r = client.post("/api/internal/handoff", headers=INTERNAL,
                    json={"conversation_id": cid, "reason": "request_human"})
    assert r.status_code == 200, r.text
    assert client.post(f"/api/conversations/{cid}/claim", headers=ana).status_code == 200

    def attempts(who: dict[str, str]) -> dict[str, int]:
        base = f"/api/conversations/{cid}"
        return {
            "read": client.get(base, headers=who).status_code,
            "note": client.post(f"{base}/notes", headers=who, json={"text": "fyi"}).status_code,
            "reply": client.post(f"{base}/messages", headers=who, json={"text": "hi"}).status_code,
            "resolve": client.post(f"{base}/resolve", headers=who).status_code,
            "release": client.post(f"{base}/release", headers=who).status_code,
            "transfer": client.post(f"{base}/transfer", headers=who, json={"agent_id": None}
                                    ).status_code,
            "handback": client.post(f"{base}/handback", headers=who).status_code,
        }

    refused = {"read": 200, "note": 201, "reply": 403, "resolve": 403, "release": 403,
               "transfer": 403, "handback": 403}
    assert attempts(bo) == refused
    assert attempts(admin) == refused
    assert app.handoff.service.get_conversation(cid).assignee_id is not None

    bo_id = next(a["id"] for a in client.get("/api/agents", headers=ana).json()
                 if a["display_name"] == "bo")
    r = client.post(f"/api/conversations/{cid}/transfer", headers=ana, json={"agent_id": bo_id})
    assert r.status_code == 200, r.text
    assert client.post(f"/api/conversations/{cid}/messages", headers=ana,
                       json={"text": "still me?"}).status_code == 403
    assert client.post(f"/api/conversations/{cid}/messages", headers=bo,
                       json={"text": "Bo here"}).status_code == 201
    texts = [m.text for m in app.handoff.service.history(cid)]
    assert "Bo here" in texts and "hi" not in texts and "still me?" not in texts


def test_a_session_token_reads_and_streams_only_its_own_conversation(client):
    mine = client.post("/api/chat/sessions").json()
    other = client.post("/api/chat/sessions").json()
    me = {"Authorization": f"Bearer {mine['session_token']}"}
    r = client.post(f"/api/chat/sessions/{mine['session_id']}/messages", headers=me,
                    json={"text": "my secret", "client_id": "s-1"})
    assert r.status_code == 201, r.text
    theirs = {"Authorization": f"Bearer {other['session_token']}"}
    base = f"/api/chat/sessions/{mine['session_id']}"
    assert client.get(f"{base}/messages", headers=theirs).status_code == 403
    assert client.post(f"{base}/messages", headers=theirs, json={"text": "into A"}).status_code == 403
    # EventSource cannot send headers, so the stream also takes ?token=: same refusal.
    assert client.get(f"{base}/events", params={"token": other["session_token"]}).status_code == 403
    own = client.get(f"{base}/messages", headers=me).json()
    assert [m["text"] for m in own if m["sender"] == "user"] == ["my secret"]
