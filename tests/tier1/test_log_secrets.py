"""No secret, password or token in any log record of the app (in-process, every logger at DEBUG).

The e2e twin (tests/e2e/test_abuse.py) scans the log files of the three real processes; this
one runs in the fast suite and also sees DEBUG records, so a regression shows up early.
"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.full_app import INTERNAL, SECRETS, build_app

pytestmark = pytest.mark.unit

PASSWORD = "log-secret-password-1"


def test_a_full_round_logs_no_secret_password_or_token(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates here
    app = build_app(tmp_path, seed=False)
    with TestClient(app) as client:
        app.handoff.create_agent("ana@example.com", PASSWORD, role="admin")
        login = client.post("/api/auth/token",
                            data={"username": "ana@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        ana = {"Authorization": f"Bearer {token}"}
        wrong = client.post("/api/auth/token",
                            data={"username": "ana@example.com", "password": "wrong-" + PASSWORD})
        assert wrong.status_code == 401
        session = client.post("/api/chat/sessions").json()
        user = {"Authorization": f"Bearer {session['session_token']}"}
        cid = session["session_id"]
        r = client.post(f"/api/chat/sessions/{cid}/messages", headers=user,
                        json={"text": "I need a person", "client_id": "m-1"})
        assert r.status_code == 201, r.text
        r = client.post("/api/internal/handoff", headers=INTERNAL,
                        json={"conversation_id": cid, "reason": "request_human"})
        assert r.status_code == 200, r.text
        assert client.post(f"/api/conversations/{cid}/claim", headers=ana).status_code == 200
        r = client.post(f"/api/conversations/{cid}/messages", headers=ana, json={"text": "hello"})
        assert r.status_code == 201, r.text
        r = client.post("/api/kb/articles", headers=ana,
                        json={"slug": "log-scan", "title": "Log scan", "answer": "Nothing."})
        assert r.status_code == 201, r.text
        assert client.get("/api/agents/me",
                          headers={"Authorization": "Bearer rejected-token-123456"}
                          ).status_code == 401
        r = client.post("/api/agents/1/password", headers=ana, json={"password": "new-" + PASSWORD})
        assert r.status_code == 200, r.text

    secrets = {**SECRETS, "password": PASSWORD, "wrong_password": "wrong-" + PASSWORD,
               "new_password": "new-" + PASSWORD, "agent_token": token,
               "session_token": session["session_token"], "rejected": "rejected-token-123456"}
    lines = [caplog.handler.format(r) for r in caplog.records]
    assert len(lines) > 5  # the round did log (startup, requests, the handoff)
    leaks = [(name, line) for line in lines for name, value in secrets.items() if value in line]
    assert leaks == []
