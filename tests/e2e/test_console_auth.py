"""Every endpoint of the real app (from its OpenAPI schema) with no token, the wrong role and
the right role. A new endpoint is checked automatically: it must refuse anonymous callers
unless it is listed in PUBLIC, and its role comes from the rules below."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = [pytest.mark.e2e]

PUBLIC = {("GET", "/health"), ("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/metrics"),
          ("POST", "/api/auth/token"), ("GET", "/api/widget/config"), ("POST", "/api/chat/sessions")}


def required_role(method: str, path: str, summary: str) -> str:
    """Who may call an endpoint, by the app's policy."""
    if path.startswith("/api/internal/"):
        return "internal"
    if path.startswith("/api/chat/sessions/"):
        # An end user's session token; its right use is walked in tests/handoff/test_auth_matrix.
        return "session"
    if path.startswith("/api/kb/"):
        # Agents read and search the KB (the console inserts answers); writes and the
        # whole-KB export need an admin.
        reader = (method == "GET" and path != "/api/kb/export") or (
            method == "POST" and path == "/api/kb/search")
        return "kb_reader" if reader else "admin"
    if "(admin)" in summary or path.startswith("/api/admin/"):
        return "admin"
    return "agent"


def call(url: str, method: str, path: str, headers: dict[str, str] | None = None):
    target = re.sub(r"\{[^}]+\}", "999999", path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return httpx.request(method, url + target, json=body, headers=headers or {}, timeout=30)


def test_every_endpoint_checks_auth_and_role(stack):
    agent = {"Authorization": f"Bearer {stack.agent_token('matrix-agent@example.com')}"}
    created = stack.tier1("agent", "create", "--email", "matrix-admin@example.com",
                          "--password", "agent-password-1", "--role", "admin")
    assert created.returncode == 0, created.stderr
    r = httpx.post(f"{stack.url}/api/auth/token",
                   data={"username": "matrix-admin@example.com", "password": "agent-password-1"})
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    internal = {"Authorization": f"Bearer {stack.env['TIER1_INTERNAL_TOKEN']}"}

    paths = httpx.get(f"{stack.url}/openapi.json").json()["paths"]
    routes = [(m.upper(), p, op.get("summary", "")) for p, ops in paths.items()
              for m, op in ops.items()]
    assert len(routes) >= 20
    failures = []
    for method, path, summary in routes:
        if (method, path) in PUBLIC:
            continue
        role = required_role(method, path, summary)
        wrong = {"agent": [internal], "admin": [agent, internal], "internal": [agent, admin],
                 "kb_reader": [], "internal_or_admin": [agent],
                 "session": [agent, admin, internal]}[role]
        right = {"agent": [agent, admin], "admin": [admin], "internal": [internal],
                 "kb_reader": [agent, admin, internal], "internal_or_admin": [admin, internal],
                 "session": []}[role]
        got = {
            "no token": call(stack.url, method, path).status_code,
            "bad token": call(stack.url, method, path, {"Authorization": "Bearer x"}).status_code,
        }
        if got != {"no token": 401, "bad token": 401}:
            failures.append(f"{method} {path}: {got}")
        for headers in wrong:
            status = call(stack.url, method, path, headers).status_code
            if status not in (401, 403):
                failures.append(f"{method} {path} ({role}) let a wrong role in: {status}")
        for headers in right:
            status = call(stack.url, method, path, headers).status_code
            if status in (401, 403):
                failures.append(f"{method} {path} ({role}) refused the right role: {status}")
    assert failures == [], "\n".join(failures)
