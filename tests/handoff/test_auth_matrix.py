"""Every endpoint of the handoff API, walked with no token, the wrong role and the right one.

The routes come from the OpenAPI schema, so a new endpoint without a row in `REQUIRED` fails
`test_every_route_has_an_expected_role` until someone decides who may call it.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.unit

INTERNAL = {"Authorization": "Bearer test-internal-token-0123456789"}

# (method, path) -> who may call it: public | agent (agents and admins) | admin | internal |
# session (an end user's session token for that conversation) | stream (the same, but the
# right token opens an endless event stream, so only refusals are walked here)
REQUIRED = {
    ("POST", "/api/auth/token"): "public",
    ("GET", "/api/widget/config"): "public",
    ("POST", "/api/chat/sessions"): "public",
    ("GET", "/api/chat/sessions/{session_id}"): "session",
    ("POST", "/api/chat/sessions/{session_id}/messages"): "session",
    ("GET", "/api/chat/sessions/{session_id}/messages"): "session",
    ("POST", "/api/chat/sessions/{session_id}/typing"): "session",
    ("GET", "/api/chat/sessions/{session_id}/events"): "stream",
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
    ("POST", "/api/conversations/{conversation_id}/resolve"): "agent",
    ("POST", "/api/conversations/{conversation_id}/handback"): "agent",
    ("POST", "/api/conversations/{conversation_id}/release"): "agent",
    ("POST", "/api/conversations/{conversation_id}/transfer"): "agent",
    ("GET", "/api/canned-responses"): "agent",
    ("POST", "/api/canned-responses"): "admin",
    ("PUT", "/api/canned-responses/{canned_id}"): "admin",
    ("DELETE", "/api/canned-responses/{canned_id}"): "admin",
    ("POST", "/api/internal/handoff"): "internal",
    ("GET", "/api/tickets"): "agent",
    ("GET", "/api/tickets/{ticket_id}"): "agent",
    ("POST", "/api/tickets/{ticket_id}/close"): "agent",
}


def routes(app) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
    )


def call(client, method: str, path: str, headers: dict[str, str] | None = None, ident="999999"):
    url = re.sub(r"\{[^}]+\}", ident, path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, url, json=body, headers=headers or {})


def test_every_route_has_an_expected_role(app):
    assert set(routes(app)) == set(REQUIRED)


@pytest.fixture
def tokens(client, agent, admin, auth_headers):
    session = client.post("/api/chat/sessions").json()
    other = client.post("/api/chat/sessions").json()
    return {
        "agent": auth_headers("ana@example.com"),
        "admin": auth_headers("root@example.com"),
        "session": ({"Authorization": f"Bearer {session['session_token']}"}, session["session_id"]),
        "other_session": {"Authorization": f"Bearer {other['session_token']}"},
    }


def check(client, tokens, method: str, path: str) -> None:
    required = REQUIRED[(method, path)]
    if required == "public":
        assert call(client, method, path).status_code != 403
        return
    bad = {"Authorization": "Bearer not-a-token"}
    for headers in (None, bad):
        r = call(client, method, path, headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
    if required in ("session", "stream"):
        # Agents' and internal tokens are not session tokens; another user's session is refused.
        for who in (tokens["agent"], tokens["admin"], INTERNAL):
            assert call(client, method, path, who).status_code == 401
        headers, session_id = tokens["session"]
        r = call(client, method, path, tokens["other_session"], ident=session_id)
        assert r.status_code == 403, (r.status_code, r.text)
        if required == "session":
            r = call(client, method, path, headers, ident=session_id)
            assert r.status_code not in (401, 403), (r.status_code, r.text)
        return
    if required == "agent":
        # The internal token is not an agent.
        assert call(client, method, path, INTERNAL).status_code == 401
        right = [tokens["agent"], tokens["admin"]]
    elif required == "admin":
        assert call(client, method, path, tokens["agent"]).status_code == 403
        assert call(client, method, path, INTERNAL).status_code == 401
        right = [tokens["admin"]]
    else:  # internal
        for who in ("agent", "admin"):
            assert call(client, method, path, tokens[who]).status_code == 401
        right = [INTERNAL]
    for headers in right:
        r = call(client, method, path, headers)
        # Past auth: the request itself may still be invalid (404 for the fake id, 422 body).
        assert r.status_code not in (401, 403), (r.status_code, r.text)


def test_auth_matrix(client, tokens):
    # One app for every route (a fresh app per route would cost seconds); each failure is
    # reported with its route.
    failures = []
    for method, path in sorted(REQUIRED):
        try:
            check(client, tokens, method, path)
        except AssertionError as e:
            failures.append(f"{method} {path}: {e}")
    assert failures == []
