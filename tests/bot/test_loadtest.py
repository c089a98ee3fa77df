"""`tier1 bench load`: its arithmetic (a live run is in tests/e2e/test_load.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.loadtest import _percentile, known_questions, parse_mix, report

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.unit
def test_mix_is_parsed_and_checked():
    assert parse_mix("known=0.7,unknown=0.2,person=0.1") == {"known": 0.7, "unknown": 0.2, "person": 0.1}
    with pytest.raises(ValueError, match="unknown kind 'agent'"):
        parse_mix("known=1,agent=1")
    with pytest.raises(ValueError, match="not all 0"):
        parse_mix("known=0")


@pytest.mark.unit
def test_percentiles_interpolate():
    assert _percentile([], 50) is None
    assert _percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert _percentile([float(i) for i in range(101)], 99) == 99.0


@pytest.mark.unit
def test_known_questions_come_from_the_demo_kb():
    questions = known_questions(ROOT / "knowledge_base/demo/articles.yml")
    assert len(questions) > 50 and "I forgot my password" in questions


@pytest.mark.unit
def test_report_names_every_figure():
    text = report({"users": 5, "duration_s": 10, "messages_sent": 9, "replies": 8, "unanswered": 1,
                   "lost": 0, "duplicated": 0, "errors": 0, "p50_ms": 500, "p95_ms": 900,
                   "p99_ms": 990, "msgs_per_s": 0.8, "baseline_msgs_per_s": 1.0,
                   "baseline_p50_ms": 300, "ratio": 0.8})
    for part in ("unanswered 1", "p95 900", "0.8 replied msgs/s", "ratio 0.8"):
        assert part in text


def _replica(engine, rasa):
    """An app replica: the real gateway on uvicorn in a thread (in-memory Rasa twin)."""
    import socket
    import threading
    import time

    import socketio
    import uvicorn
    from argon2 import PasswordHasher
    from fastapi import FastAPI

    from handoff import HandoffSettings, build_handoff

    handoff = build_handoff(
        HandoffSettings(), engine, jwt_secret="loadtest-jwt-secret-0123456789abcdef",
        internal_token="loadtest-internal-token-0123456789", rasa_url="http://rasa.invalid",
        rasa_token="t", cors_origins=["*"], rasa=rasa,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    handoff.start()
    api = FastAPI()
    api.include_router(handoff.router)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(socketio.ASGIApp(handoff.sio, api), log_level="warning",
                                           timeout_graceful_shutdown=0.5, lifespan="off",
                                           ws="wsproto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.integration
def test_users_of_a_stopped_replica_reconnect_to_the_other_and_miss_nothing(tmp_path):
    """Two replicas on one database; A stops mid-run. Its users rejoin their conversations on
    B with their session tokens and replay what they missed: nothing lost, duplicated or
    unanswered, and the run counts the reconnections."""
    import asyncio

    from sqlalchemy import create_engine

    from bot.loadtest import LoadOptions, question_texts, run_gateway
    from handoff import InMemoryRasa

    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", future=True,
                           connect_args={"check_same_thread": False, "timeout": 30})
    rasa = InMemoryRasa()
    a, thread_a, url_a = _replica(engine, rasa)
    b, thread_b, url_b = _replica(engine, rasa)
    opts = LoadOptions(bases=(url_a, url_b), rasa_url=None, users=4, duration=6,
                       mix={"known": 1.0}, think=0.2, settle=0.1, reply_timeout=10,
                       reconnect_timeout=10, ramp=0.5)

    async def scenario() -> dict:
        load = asyncio.create_task(run_gateway(opts, question_texts(
            ROOT / "knowledge_base/demo/articles.yml"), progress=False, details=True))
        await asyncio.sleep(2.5)
        a.should_exit = True  # replica A goes away mid-run
        return await load

    try:
        result = asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        a.should_exit = b.should_exit = True
        thread_a.join(10)
        thread_b.join(10)
        engine.dispose()
    assert result["users_failed"] == 0, result.get("first_error")
    assert result["reconnects"] >= 2, result  # users 0 and 2 started on A
    assert result["acknowledged"] == len(result["acknowledged_messages"]) >= 8
    assert result["lost"] == result["duplicated"] == result["unanswered"] == 0, result
    assert result["replies"] == result["acknowledged"]
