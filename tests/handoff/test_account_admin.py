"""Admins deactivate, reactivate and reset the passwords of agents (issue #8, Users).

A deactivated agent cannot log in, its tokens stop working, it gets no new assignments and
the chats it held go back to the queue through the state machine; a password reset ends the
agent's sessions.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, inspect, text

from handoff import HandoffSettings
from handoff.account_admin import AccountAdmin
from handoff.errors import AgentNotFound, AuthError, Forbidden, InvalidAgent
from handoff.migrations import current_revision, head, migrate
from handoff.presence import InMemoryPresence, PresenceState
from handoff.status import Status
from tests.handoff.conftest import PASSWORD

pytestmark = pytest.mark.unit


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


@pytest.fixture
def settings() -> HandoffSettings:
    return HandoffSettings(max_message_chars=200, assignment="auto", default_agent_capacity=3)


@pytest.fixture
def accounts(service):
    return service.accounts


@pytest.fixture
def account_admin(service, handoff) -> AccountAdmin:
    return AccountAdmin(service, handoff.assigner)


def queue(service, n: int = 1) -> list[str]:
    ids = []
    for _ in range(n):
        conv = service.open_conversation(None, {})
        run(service.request_handoff(conv.id, "low_confidence"))
        ids.append(conv.id)
    return ids


def online(handoff, agent_id: int) -> None:
    presence = handoff.assigner.presence
    run(handoff.assigner.presence_changed(presence.heartbeat(agent_id, PresenceState.ONLINE)))


# -- accounts (synchronous layer) ------------------------------------------------------------


def test_a_deactivated_agent_cannot_log_in_and_its_token_is_refused(
    handoff, accounts, agent, admin
):
    token = accounts.authenticate("ana@example.com", PASSWORD)
    assert run(handoff.auth.agent_for(token)).id == agent.id

    done = accounts.set_deactivated(agent.id, True, by=admin)
    assert not done.is_active and done.deactivated_at is not None
    with pytest.raises(Forbidden, match="deactivated; ask an admin"):
        accounts.authenticate("ana@example.com", PASSWORD)
    with pytest.raises(AuthError, match="deactivated"):
        run(handoff.auth.agent_for(token))
    # A wrong password still says only "wrong email or password" (no account probing).
    with pytest.raises(AuthError, match="Wrong email or password"):
        accounts.authenticate("ana@example.com", "not the password")

    back = accounts.set_deactivated(agent.id, False)
    assert back.is_active
    with pytest.raises(AuthError, match="session ended"):  # the old token stays revoked
        run(handoff.auth.agent_for(token))
    fresh = accounts.authenticate("ana@example.com", PASSWORD)
    assert run(handoff.auth.agent_for(fresh)).id == agent.id


def test_an_admin_cannot_deactivate_themself(accounts, admin):
    with pytest.raises(InvalidAgent, match="your own account"):
        accounts.set_deactivated(admin.id, True, by=admin)
    assert accounts.get(admin.id).is_active
    with pytest.raises(AgentNotFound):
        accounts.set_deactivated(9999, True, by=admin)


def test_password_reset_hashes_revokes_tokens_and_can_generate(handoff, accounts, agent):
    old_token = accounts.authenticate("ana@example.com", PASSWORD)
    with pytest.raises(InvalidAgent, match="too short"):
        accounts.reset_password(agent.id, "short")
    assert run(handoff.auth.agent_for(old_token)).id == agent.id  # a refused reset changes nothing

    _, chosen = accounts.reset_password(agent.id, "a brand new secret")
    assert chosen == "a brand new secret"
    with pytest.raises(AuthError, match="session ended"):
        run(handoff.auth.agent_for(old_token))
    with pytest.raises(AuthError, match="Wrong email or password"):
        accounts.authenticate("ana@example.com", PASSWORD)
    accounts.authenticate("ana@example.com", "a brand new secret")

    _, generated = accounts.reset_password(agent.id)
    assert len(generated) >= 16 and generated != "a brand new secret"
    accounts.authenticate("ana@example.com", generated)
    stored = accounts._store.agent_credentials("ana@example.com")[1]
    assert stored.startswith("$argon2id$") and generated not in stored
    _, again = accounts.reset_password(agent.id)
    assert again != generated  # random each time


# -- conversations -----------------------------------------------------------------------------


def test_deactivation_requeues_held_chats_and_stops_new_assignments(
    handoff, service, account_admin, agent, other_agent, admin
):
    handoff.assigner.presence = InMemoryPresence(3600)
    online(handoff, agent.id)
    held = queue(service, 2)
    assert [service.get_conversation(i).assignee_id for i in held] == [agent.id, agent.id]

    done = run(account_admin.deactivate(agent.id, by=admin))
    assert sorted(done.requeued) == sorted(held) and not done.agent.is_active
    for cid in held:
        conv = service.get_conversation(cid)
        assert conv.status is Status.QUEUED and conv.assignee_id is None
        last = service.store.status_changes(cid)[-1]
        assert (last["to_status"], last["actor"]) == ("queued", admin.actor)
        assert service.history(cid)[-1].text == "Ana left the chat; another agent will join soon."

    # Still "online" in presence (its socket heartbeats until it notices), yet it gets nothing.
    assert handoff.assigner.presence.state(agent.id) is PresenceState.ONLINE
    new = queue(service, 1)
    assert service.get_conversation(new[0]).assignee_id is None
    assert agent.id not in {s.agent.id for s in handoff.assigner.roster()}
    assert agent.id in {s.agent.id for s in handoff.assigner.roster(include_deactivated=True)}

    # Another agent comes online: the requeued chats go to it, never back to the deactivated one.
    online(handoff, other_agent.id)
    holders = {service.get_conversation(i).assignee_id for i in [*held, *new]}
    assert holders == {other_agent.id}

    # Transfers to a deactivated agent are refused.
    with pytest.raises(InvalidAgent, match="No active agent"):
        run(handoff.desk.transfer(held[0], other_agent, agent.id))

    again = run(account_admin.deactivate(agent.id, by=admin))  # idempotent
    assert again.requeued == []


# -- HTTP ----------------------------------------------------------------------------------------


def test_admin_endpoints_deactivate_reactivate_reset(client, handoff, service, agent, admin,
                                                     auth_headers):
    root, ana = auth_headers("root@example.com"), auth_headers("ana@example.com")
    handoff.assigner.presence = InMemoryPresence(3600)
    online(handoff, agent.id)
    [cid] = queue(service, 1)
    assert service.get_conversation(cid).assignee_id == agent.id

    assert client.post(f"/api/agents/{admin.id}/deactivate", headers=ana).status_code == 403
    own = client.post(f"/api/agents/{admin.id}/deactivate", headers=root)
    assert own.status_code == 422 and "your own account" in own.json()["detail"]
    assert client.post("/api/agents/9999/deactivate", headers=root).status_code == 404

    r = client.post(f"/api/agents/{agent.id}/deactivate", headers=root)
    assert r.status_code == 200, r.text
    assert r.json()["agent"]["deactivated"] is True and r.json()["requeued"] == [cid]
    me = client.get("/api/agents/me", headers=ana)
    assert me.status_code == 401 and "deactivated" in me.json()["detail"]
    login = client.post("/api/auth/token", data={"username": "ana@example.com",
                                                   "password": PASSWORD})
    assert login.status_code == 403 and "deactivated" in login.json()["detail"]

    listed = client.get("/api/agents", headers=root).json()
    assert agent.id not in [a["id"] for a in listed]
    everyone = client.get("/api/agents", params={"include_deactivated": True}, headers=root)
    row = next(a for a in everyone.json() if a["id"] == agent.id)
    assert row["deactivated"] is True and row["email"] == "ana@example.com"

    back = client.post(f"/api/agents/{agent.id}/reactivate", headers=root)
    assert back.status_code == 200 and back.json()["deactivated"] is False
    ana = auth_headers("ana@example.com")
    assert client.get("/api/agents/me", headers=ana).status_code == 200
    assert client.get("/api/agents", params={"include_deactivated": True},
                      headers=ana).status_code == 403

    short = client.post(f"/api/agents/{agent.id}/password", json={"password": "short"},
                        headers=root)
    assert short.status_code == 422
    gen = client.post(f"/api/agents/{agent.id}/password", json={}, headers=root)
    assert gen.status_code == 200, gen.text
    password = gen.json()["password"]
    assert password and len(password) >= 16
    assert client.get("/api/agents/me", headers=ana).status_code == 401  # session ended
    ok = client.post("/api/auth/token", data={"username": "ana@example.com",
                                                "password": password})
    assert ok.status_code == 200
    chosen = client.post(f"/api/agents/{agent.id}/password",
                         json={"password": "chosen by the admin"}, headers=root)
    assert chosen.status_code == 200 and chosen.json()["password"] is None


def test_migration_adds_the_columns_to_an_existing_agents_table(tmp_path):
    """A database at ho_0001 (made before deactivation existed) is upgraded in place."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}", future=True)
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE agents (id INTEGER PRIMARY KEY, email VARCHAR(320) UNIQUE NOT NULL, "
            "password_hash VARCHAR(255) NOT NULL, role VARCHAR(16) NOT NULL, "
            "display_name VARCHAR(120) NOT NULL, capacity INTEGER, created_at DATETIME NOT NULL)"
        ))
        conn.execute(text("INSERT INTO agents VALUES (1, 'a@example.com', 'h', 'agent', 'A', "
                          "NULL, '2024-01-01 00:00:00')"))
        conn.execute(text("CREATE TABLE conversations (id VARCHAR(36) PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE handoff_alembic_version (version_num VARCHAR(32) "
                          "PRIMARY KEY)"))
        conn.execute(text("INSERT INTO handoff_alembic_version VALUES ('ho_0001')"))
    assert migrate(engine) == head()
    assert current_revision(engine) == head()
    columns = {c["name"] for c in inspect(engine).get_columns("agents")}
    assert {"deactivated_at", "token_version"} <= columns
    with engine.connect() as conn:
        row = conn.execute(text("SELECT deactivated_at, token_version FROM agents")).one()
    assert tuple(row) == (None, 0)  # existing accounts stay active with valid tokens

