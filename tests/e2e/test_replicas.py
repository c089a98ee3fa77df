"""Two app replicas on real PostgreSQL and Redis: a user on A and an agent on B talk in real
time, and an article written through A is searchable on B within 2 s.

Replica A is `tier1 run` (app + Rasa + action server, Rasa on the PostgreSQL tracker store and
the Redis lock store); replica B is a second app server (uvicorn, `tier1.app:app_from_env`) with
its own state directory, sharing the database, Redis, Rasa and the action server. Each run
uses a fresh database and a fresh Redis key prefix, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import socketio
import yaml
from sqlalchemy import create_engine, text

from tests.e2e.conftest import ROOT, TIER1, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
SECRETS = {"TIER1_JWT_SECRET": "replica-jwt-secret-0123456789abcdef",
           "TIER1_INTERNAL_TOKEN": "replica-internal-token-0123456789",
           "TIER1_RASA_TOKEN": "replica-rasa-token-0123456789"}


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up (exit {proc.poll()}):\n{log.read_text()[-5000:]}")
        time.sleep(0.5)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).json()["status"] == "ok"
    except (httpx.HTTPError, ValueError, KeyError):
        return False


def _stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    from bot.training import ensure_model

    ensure_model(ROOT, ROOT / "models")
    work = tmp_path_factory.mktemp("replicas")
    db = f"tier1_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    base = yaml.safe_load((ROOT / "config.yml").read_text())
    rasa_port, action_port = free_port(), free_port()
    ports = {"a": free_port(), "b": free_port()}
    configs = {}
    for name, port in ports.items():
        config = yaml.safe_load(yaml.safe_dump(base))
        config["server"].update(
            port=port, rasa_port=rasa_port, action_port=action_port,
            state_dir=str(work / name / "state"), models_dir=str(ROOT / "models"),
            startup_timeout_seconds=240,
        )
        config["database"] = {"url": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"}
        config["redis"] = {"url": REDIS_URL, "key_prefix": f"e2e-{db}"}
        config["backends"] = {"socket_manager": "redis", "presence": "redis", "kb_sync": "poll",
                              "kb_sync_interval_seconds": 0.5, "rasa_lock_store": "redis"}
        config["knowledge_base"]["seed_file"] = str(ROOT / config["knowledge_base"]["seed_file"])
        configs[name] = work / f"{name}.yml"
        configs[name].write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, **SECRETS, "HF_HUB_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false"}
    log_a, log_b = work / "a.log", work / "b.log"
    with log_a.open("w") as out:
        a = subprocess.Popen([TIER1, "--config", str(configs["a"]), "run"], cwd=work, env=env,
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    with log_b.open("w") as out:
        # Started at once, so both replicas migrate the empty database together.
        b = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tier1.app:app_from_env", "--factory",
             "--host", "127.0.0.1", "--port", str(ports["b"]), "--ws", "wsproto", "--no-access-log"],
            cwd=ROOT, env={**env, "TIER1_CONFIG": str(configs["b"])},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: "tier1 is up." in log_a.read_text(), 300, "replica A (tier1 run)", a, log_a)
        url_b = f"http://127.0.0.1:{ports['b']}"
        _wait(lambda: _healthy(url_b), 120, "replica B", b, log_b)
        yield {"a": f"http://127.0.0.1:{ports['a']}", "b": url_b, "config": configs["a"],
               "env": env, "work": work, "logs": [log_a, log_b]}
    finally:
        _stop(b)
        _stop(a)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(f"e2e-{db}*"):
            r.delete(key)


def _agent_token(replicas, url: str, email: str) -> str:
    created = subprocess.run([TIER1, "--config", str(replicas["config"]), "agent", "create",
                              "--email", email, "--password", "agent-password-1"],
                             env=replicas["env"], capture_output=True, text=True, timeout=120,
                             check=False)
    assert created.returncode == 0, created.stderr
    r = httpx.post(f"{url}/api/auth/token", data={"username": email, "password": "agent-password-1"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


async def _until(queue: asyncio.Queue, got: list, done, timeout: float) -> list:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done(got):
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"timed out after {timeout} s; received: {got}")
        try:
            got.append(await asyncio.wait_for(queue.get(), remaining))
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out after {timeout} s; received: {got}") from None
    return got


def test_user_on_a_and_agent_on_b_talk_in_real_time(replicas):
    token = _agent_token(replicas, replicas["b"], "replica-agent@example.com")

    async def scenario() -> None:
        user = socketio.AsyncClient(reconnection=False)
        agent = socketio.AsyncClient(reconnection=False)
        inbox: asyncio.Queue = asyncio.Queue()
        agent_inbox: asyncio.Queue = asyncio.Queue()
        user.on("bot_uttered", inbox.put)
        agent.on("message", agent_inbox.put, namespace="/agent")
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
        user.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        await user.connect(replicas["a"], transports=["websocket"])
        await agent.connect(replicas["b"], namespaces=["/agent"], auth={"token": token},
                            transports=["websocket"])
        try:
            await user.emit("session_request", {"session_id": None})
            conv = await asyncio.wait_for(confirmed, 10)
            ack = await user.call("user_uttered", {"message": "I want to talk to a person",
                                                   "session_id": conv, "client_id": "r1"}, timeout=30)
            assert ack["ok"], ack
            await _until(inbox, [], lambda m: "connect" in _texts(m).lower(), 30)

            async with httpx.AsyncClient(base_url=replicas["b"],
                                         headers={"Authorization": f"Bearer {token}"}) as api:
                r = await api.post(f"/api/conversations/{conv}/claim")
                assert r.status_code == 200, r.text
                watched = await agent.call("watch", {"conversation_id": conv, "after_id": None},
                                           namespace="/agent", timeout=10)
                assert watched["ok"], watched

                # agent on B -> user on A
                started = time.monotonic()
                ack = await agent.call("send", {"conversation_id": conv, "text": "Hello from B",
                                                "client_id": "b1"}, namespace="/agent", timeout=10)
                assert ack["ok"], ack
                got = await _until(inbox, [], lambda m: "Hello from B" in _texts(m), 5)
                assert got[-1]["metadata"]["sender"] == "agent"
                assert time.monotonic() - started < 2

                # user on A -> agent on B
                started = time.monotonic()
                ack = await user.call("user_uttered", {"message": "Thanks, from A",
                                                       "session_id": conv, "client_id": "r2"},
                                      timeout=10)
                assert ack["ok"], ack
                seen = await _until(agent_inbox, [],
                                    lambda m: any(x.get("text") == "Thanks, from A" for x in m), 5)
                assert time.monotonic() - started < 2
                assert next(x for x in seen if x.get("text") == "Thanks, from A")["sender"] == "user"

                # both replicas read the same conversation, each message stored once
                for url in (replicas["a"], replicas["b"]):
                    async with httpx.AsyncClient() as http:
                        detail = (await http.get(f"{url}/api/conversations/{conv}",
                                                 headers={"Authorization": f"Bearer {token}"})).json()
                    bodies = [m["text"] for m in detail["messages"]]
                    assert bodies.count("Thanks, from A") == 1 and bodies.count("Hello from B") == 1
        finally:
            await user.disconnect()
            await agent.disconnect()

    asyncio.run(scenario())


def test_article_written_through_a_is_searchable_on_b_within_2_seconds(replicas):
    token = _agent_token(replicas, replicas["a"], "replica-admin@example.com")
    # the agent was created as an agent; make an admin for writes
    admin = subprocess.run([TIER1, "--config", str(replicas["config"]), "agent", "create",
                            "--email", "replica-root@example.com", "--password", "agent-password-1",
                            "--role", "admin"], env=replicas["env"], capture_output=True, text=True,
                           timeout=120, check=False)
    assert admin.returncode == 0, admin.stderr
    login = httpx.post(f"{replicas['a']}/api/auth/token",
                       data={"username": "replica-root@example.com", "password": "agent-password-1"})
    admin_auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    agent_auth = {"Authorization": f"Bearer {token}"}
    question = "How do I recalibrate the flux capacitor on my hoverboard?"
    r = httpx.post(f"{replicas['a']}/api/kb/articles", headers=admin_auth, json={
        "slug": "hoverboard-flux-capacitor", "title": "Recalibrating the hoverboard flux capacitor",
        "answer": "Hold the left pad for 88 seconds until the light blinks twice.",
        "questions": [question],
    }, timeout=30)
    assert r.status_code == 201, r.text
    written = time.monotonic()
    article_id = r.json()["id"]
    while True:
        hits = httpx.post(f"{replicas['b']}/api/kb/search", headers=agent_auth,
                          json={"text": question}, timeout=5).json()["hits"]
        if hits and hits[0]["article_id"] == article_id:
            break
        assert time.monotonic() - written < 2, f"not searchable on B after 2 s: {hits[:2]}"
        time.sleep(0.1)
