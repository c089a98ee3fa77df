"""`tier1 bench load`: its arithmetic, the kb-search phase against an `httpx.MockTransport`,
the CLI wiring (a live run is in tests/e2e/test_load.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tier1.bench.load import LoadOptions, gateway_figures, known_questions, parse_mix, report
from tier1.bench.stats import in_window, percentile
from tier1.bench.user import Tally, User, _Conversation, _Turn

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.unit
def test_mix_is_parsed_and_checked():
    assert parse_mix("known=0.7,unknown=0.2,person=0.1") == {"known": 0.7, "unknown": 0.2, "person": 0.1}
    with pytest.raises(ValueError, match="unknown kind 'agent'"):
        parse_mix("known=1,agent=1")
    with pytest.raises(ValueError, match="not all 0"):
        parse_mix("known=0")


@pytest.mark.unit
def test_percentiles_interpolate():
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(i) for i in range(101)], 99) == 99.0


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


def _options(**overrides) -> LoadOptions:
    values = {"bases": ("http://app.test",), "rasa_url": None, "users": 3, "duration": 0.5,
              "mix": {"known": 0.5, "unknown": 0.5}, "internal_token": "the-internal-token"}
    return LoadOptions(**{**values, **overrides})


TEXTS = {"known": ["I forgot my password", "How do I cancel?"], "unknown": ["Capital of Mongolia?"],
         "person": ["a human please"]}


@pytest.mark.unit
def test_kb_search_is_closed_loop_from_one_client_per_user_and_counts_the_answers():
    """Each client sends its next search when the previous answered: never more than ``users``
    in flight, all of them busy; every answered search counts, in msgs/s over the phase."""
    import asyncio

    import httpx

    from tier1.bench.search import run_kb_search

    seen: list[tuple[str, str, str]] = []
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        seen.append((str(request.url), request.headers["authorization"],
                     json.loads(request.content)["text"]))
        return httpx.Response(200, json={"decision": "answer", "hits": []})

    result = asyncio.run(run_kb_search(_options(), TEXTS, "the-internal-token", progress=False,
                                       transport=httpx.MockTransport(handler)))
    assert peak == 3  # the three clients at once, and no more
    assert result["kb_search_sent"] == result["kb_search_answered"] == len(seen) > 3 * 20
    assert result["kb_search_rate_limited"] == result["kb_search_failed"] == 0
    # The answers within the phase's duration, per second of it; after it, at most the one
    # search each client had in flight is answered.
    in_window_ = result["kb_search_answered_in_window"]
    assert in_window_ <= len(seen) <= in_window_ + 3
    assert result["kb_search_duration_s"] == 0.5
    assert result["kb_search_msgs_per_s"] == round(in_window_ / 0.5, 2)
    assert 10 <= result["kb_search_p50_ms"] <= result["kb_search_p95_ms"] < 500
    assert {url for url, _, _ in seen} == {"http://app.test/api/kb/search"}
    assert {auth for _, auth, _ in seen} == {"Bearer the-internal-token"}
    assert {text for _, _, text in seen} <= {*TEXTS["known"], *TEXTS["unknown"]}  # the mix's kinds
    assert "kb_search_first_error" not in result


@pytest.mark.unit
def test_kb_search_counts_refusals_apart_and_waits_out_retry_after():
    """A 429 is neither an answer nor a failure; the client waits its Retry-After (here past
    the end of the phase), so each sends once."""
    import asyncio

    import httpx

    from tier1.bench.search import run_kb_search

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "30"},
                              json={"detail": "Too many requests from this access token"})

    result = asyncio.run(run_kb_search(_options(), TEXTS, "t", progress=False,
                                       transport=httpx.MockTransport(handler)))
    assert result["kb_search_sent"] == result["kb_search_rate_limited"] == 3
    assert result["kb_search_answered"] == 0 and result["kb_search_msgs_per_s"] == 0
    assert result["kb_search_p50_ms"] is None
    assert result["kb_search_duration_s"] < 5  # the wait ends with the phase
    assert result["kb_search_first_refusal"] == "Too many requests from this access token"


@pytest.mark.unit
def test_kb_search_stops_a_client_on_a_wrong_token_and_says_why():
    import asyncio

    import httpx

    from tier1.bench.search import run_kb_search

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "bad token"})

    result = asyncio.run(run_kb_search(_options(), TEXTS, "wrong", progress=False,
                                       transport=httpx.MockTransport(handler)))
    assert result["kb_search_sent"] == result["kb_search_failed"] == 3
    assert result["kb_search_first_error"].startswith("HTTP 401")


def _phases(monkeypatch, kb_transport=None) -> list[str]:
    """Replace the socket phase and the baseline by fixed figures; record the phases' order.
    The kb-search phase stays real, on ``kb_transport``."""
    import httpx

    import tier1.bench.baseline
    import tier1.bench.load
    import tier1.bench.search

    calls: list[str] = []
    real_kb_search = tier1.bench.search.run_kb_search

    async def gateway(opts, texts, progress, details=False):
        calls.append("socket")
        return {"users": opts.users, "duration_s": opts.duration, "messages_sent": 4,
                "replies": 3, "unanswered": 1, "lost": 0, "duplicated": 0, "errors": 0,
                "p50_ms": 900.0, "p95_ms": 1200.0, "p99_ms": 1300.0,
                "msgs_per_s": 3 / opts.duration}

    async def kb_search(opts, texts, token, progress):
        calls.append("kb")
        return await real_kb_search(opts, texts, token, progress,
                                    transport=kb_transport or httpx.MockTransport(
                                        lambda r: httpx.Response(200, json={"decision": "answer"})))

    async def baseline(opts, texts, progress):
        calls.append("baseline")
        return {"baseline_msgs_per_s": 5.0, "baseline_p50_ms": 100.0}

    monkeypatch.setattr(tier1.bench.load, "run_gateway", gateway)
    monkeypatch.setattr(tier1.bench.search, "run_kb_search", kb_search)
    monkeypatch.setattr(tier1.bench.baseline, "run_baseline", baseline)
    return calls


@pytest.mark.unit
def test_run_load_runs_kb_search_after_the_socket_phase_and_divides_by_it(monkeypatch):
    import asyncio

    import httpx

    from tier1.bench.load import run_load

    answered = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        answered += 1
        return httpx.Response(200, json={"decision": "answer"})

    calls = _phases(monkeypatch, httpx.MockTransport(handler))
    opts = _options(rasa_url="http://rasa.test", users=2, duration=0.3)
    result = asyncio.run(run_load(opts, ROOT / "knowledge_base/demo/articles.yml", progress=False))
    assert calls == ["socket", "kb", "baseline"]
    assert result["kb_search_answered"] == answered > 0
    kb_rate = result["kb_search_msgs_per_s"]
    assert kb_rate == round(result["kb_search_answered_in_window"] / opts.duration, 2)
    assert result["ratio_to_kb_search"] == round(result["msgs_per_s"] / kb_rate, 3)
    assert result["ratio"] == round(10 / 5.0, 3)  # the baseline's ratio is unchanged
    assert f"ratio_to_kb_search {result['ratio_to_kb_search']} (goal >= 0.25)" in report(result)


@pytest.mark.unit
def test_run_load_without_kb_search_skips_the_phase(monkeypatch):
    import asyncio

    from tier1.bench.load import run_load

    calls = _phases(monkeypatch)
    result = asyncio.run(run_load(_options(kb_search=False), ROOT / "knowledge_base/demo/articles.yml",
                                  progress=False))
    assert calls == ["socket"]
    assert result["kb_search_msgs_per_s"] is None and result["ratio_to_kb_search"] is None
    assert "kb search" not in report(result)


@pytest.mark.unit
def test_run_load_without_a_token_says_the_kb_search_was_not_measured(monkeypatch):
    import asyncio

    from tier1.bench.load import run_load

    calls = _phases(monkeypatch)
    result = asyncio.run(run_load(_options(internal_token=None),
                                  ROOT / "knowledge_base/demo/articles.yml", progress=False))
    assert calls == ["socket"] and result["ratio_to_kb_search"] is None
    assert "kb search not measured: no internal token" in report(result)


@pytest.mark.unit
def test_report_shows_the_kb_search_figures_and_warns_when_rate_limited():
    base = {"users": 5, "duration_s": 10, "messages_sent": 9, "replies": 8, "unanswered": 1,
            "lost": 0, "duplicated": 0, "errors": 0, "p50_ms": 500, "p95_ms": 900,
            "p99_ms": 990, "msgs_per_s": 0.8, "kb_search_users": 5, "kb_search_msgs_per_s": 40.0,
            "kb_search_p50_ms": 120.0, "kb_search_p95_ms": 250.0, "kb_search_sent": 401,
            "kb_search_rate_limited": 0, "kb_search_failed": 0, "ratio_to_kb_search": 0.02}
    text = report(base)
    for part in ("kb search alone (POST /api/kb/search, 5 closed-loop clients) 40.0 msgs/s",
                 "p50 120.0 ms", "p95 250.0 ms", "ratio_to_kb_search 0.02 (goal >= 0.25)"):
        assert part in text
    assert "HTTP 429" not in text
    limited = report({**base, "kb_search_rate_limited": 7,
                      "kb_search_first_refusal": "Too many requests from this access token"})
    assert "HTTP 429 (Too many requests from this access token)" in limited


@pytest.mark.unit
def test_cli_passes_the_apps_internal_token_and_no_kb_search(monkeypatch, tmp_path, capsys):
    """The token comes from the environment/secrets as for the app; --no-kb-search turns the
    phase off; --json prints the phase's figures."""
    import tier1.bench.load
    from tier1.cli import main

    cfg = tmp_path / "config.yml"
    cfg.write_text(f"server:\n  port: 8123\n  state_dir: {tmp_path / 'state'}\n")
    for name in ("TIER1_INTERNAL_TOKEN", "TIER1_JWT_SECRET", "TIER1_RASA_TOKEN"):
        monkeypatch.setenv(name, f"{name.lower()}-0123456789abcdef0123456789abcdef")
    seen: list[LoadOptions] = []

    async def run_load(opts, articles_file, progress=True):
        seen.append(opts)
        return {"lost": 0, "duplicated": 0, "kb_search_msgs_per_s": 12.5 if opts.kb_search else None}

    monkeypatch.setattr(tier1.bench.load, "run_load", run_load)
    args = ["--config", str(cfg), "bench", "load", "--users", "2", "--duration", "1", "--json"]
    assert main(args) == 0
    assert main([*args, "--no-kb-search"]) == 0
    on, off = seen
    assert on.kb_search and not off.kb_search
    assert on.internal_token == "tier1_internal_token-0123456789abcdef0123456789abcdef"
    assert on.bases == ("http://127.0.0.1:8123",)
    assert "internal_token" not in repr(on)  # never printed with the options
    first, second = capsys.readouterr().out.splitlines()
    assert json.loads(first)["kb_search_msgs_per_s"] == 12.5
    assert json.loads(second)["kb_search_msgs_per_s"] is None


@pytest.mark.unit
def test_help_shows_the_saturation_and_human_pace_examples(capsys):
    from tier1.cli import _parser

    with pytest.raises(SystemExit):
        _parser().parse_args(["bench", "load", "--help"])
    out = capsys.readouterr().out
    assert "tier1 bench load --users 200 --duration 60\n" in out
    assert "tier1 bench load --users 200 --duration 60 --think 10 --no-baseline" in out
    assert "--no-kb-search" in out


def _replica(engine, rasa, rate_limiter=None):
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
        rasa_token="t", cors_origins=["*"], rasa=rasa, rate_limiter=rate_limiter,
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

    from handoff import InMemoryRasa
    from tier1.bench.load import LoadOptions, question_texts, run_gateway

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


def test_every_user_has_its_own_simulated_address():
    from tier1.bench.user import client_address

    addresses = [client_address(n) for n in range(70000)]
    assert len(set(addresses)) == len(addresses)
    assert addresses[0] == "10.0.0.1" and addresses[255] == "10.0.1.0"


@pytest.mark.integration
def test_users_are_limited_per_address_like_real_users_not_as_one_address(tmp_path):
    """``limits.per_ip`` counts each user's own address (X-Forwarded-For from loopback, as
    uvicorn trusts by default): a budget that one user fits in holds for each of four users,
    where one shared address would have been refused. Refusals would be counted by reason."""
    import asyncio

    from sqlalchemy import create_engine

    from handoff import InMemoryRasa
    from handoff.ratelimit import LimitSettings, RateLimiter, RateSettings
    from tier1.bench.load import LoadOptions, question_texts, run_gateway

    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", future=True,
                           connect_args={"check_same_thread": False, "timeout": 30})
    # 12 socket events in a burst, then 1 a minute: one user's run needs about 8.
    limiter = RateLimiter(LimitSettings(per_ip=RateSettings(per_minute=1, burst=12)))
    server, thread, url = _replica(engine, InMemoryRasa(), rate_limiter=limiter)
    opts = LoadOptions(bases=(url,), rasa_url=None, users=4, duration=1.5,
                       mix={"known": 1.0}, think=0.3, settle=0.1, reply_timeout=10,
                       reconnect_timeout=10, ramp=0.2)
    try:
        result = asyncio.run(asyncio.wait_for(run_gateway(opts, question_texts(
            ROOT / "knowledge_base/demo/articles.yml"), progress=False), 60))
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()
    assert result["refusals"] == {} and result["errors"] == 0, result
    assert result["acknowledged"] == result["messages_sent"] >= 8, result
    assert result["replies"] == result["acknowledged"]


def test_unique_texts_make_every_message_different_but_keep_the_question():
    import random

    from tier1.bench.texts import pick_text

    rng = random.Random(1)
    texts = ["Where is my parcel?", "I forgot my password"]
    picked = [pick_text(texts, rng, unique=True) for _ in range(200)]
    assert len(set(picked)) == 200
    assert all(p.split(" (ref ")[0] in texts for p in picked)
    assert {pick_text(texts, random.Random(2), unique=False) for _ in range(50)} <= set(texts)


@pytest.mark.unit
def test_in_window_counts_the_completions_from_the_start_to_the_end_of_the_window():
    done_at = [99.9, 100.0, 130.0, 160.0, 160.01, 190.0]
    assert in_window(done_at, started=100.0, window=60.0) == 3  # both ends included
    assert in_window([], started=0.0, window=1.0) == 0


def _run_with_a_tail(replies: int, tail: list[float], with_agents: int) -> dict:
    """A 60 s run from t=1000: ``replies`` spread over the window, then ``tail`` replies (times
    after the window); its last user was done 84 s after the start (a 30 s reply bound waited
    out by a message to a conversation with agents)."""
    tally = Tally(sent=replies + len(tail) + with_agents, acked=replies + len(tail) + with_agents,
                  replies=replies + len(tail), with_agents=with_agents)
    tally.reply_times = [1000.0 + 60.0 * (i + 1) / replies for i in range(replies)]
    tally.reply_times += tail
    tally.latencies = [2.0] * tally.replies
    opts = _options(duration=60.0)
    return gateway_figures(tally, opts, started=1000.0, finished=1084.0)


@pytest.mark.unit
def test_throughput_is_the_replies_of_the_load_window_not_of_the_wait_after_it():
    """BENCHMARKS.md's saturated run: 3,322 replies over 60 s of load, one message to a
    conversation with agents that kept its user 30 s more. The wait is not in the divisor."""
    result = _run_with_a_tail(3322, tail=[1061.5, 1063.0], with_agents=1)
    assert result["msgs_per_s"] == round(3322 / 60, 2) == 55.37
    assert result["replies"] == 3324 and result["replies_in_window"] == 3322
    assert result["duration_s"] == 60.0 and result["elapsed_s"] == 84.0
    assert result["with_agents"] == 1 and result["unanswered"] == result["lost"] == 0
    assert "55.37 replied msgs/s (3322 replies within the 60.0 s of load; all users done after " \
           "84.0 s)" in report(result)
    # the tail does not change the rate: without it, the same figure
    assert _run_with_a_tail(3322, tail=[], with_agents=0)["msgs_per_s"] == 55.37


@pytest.mark.unit
def test_the_baseline_counts_its_replies_within_the_window_too():
    import asyncio

    import httpx

    from tier1.bench.baseline import run_baseline

    posted = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal posted
        posted += 1
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "hello"}])

    opts = _options(rasa_url="http://rasa.test", think=0.0, settle=0.0, ramp=0.0, duration=0.3)
    result = asyncio.run(run_baseline(opts, TEXTS, progress=False,
                                      transport=httpx.MockTransport(handler)))
    assert result["baseline_replies"] == posted > 0 and result["baseline_unanswered"] == 0
    in_window_ = result["baseline_replies_in_window"]
    assert in_window_ <= posted <= in_window_ + opts.users
    assert result["baseline_msgs_per_s"] == round(in_window_ / 0.3, 2)


class _FakeSocket:
    """Acknowledges every message as stored with id 5; ``then`` runs after each ack."""

    def __init__(self, history=None, then=None):
        self.history, self.then = history or [], then

    async def call(self, event, data, timeout):
        if event == "history":
            return self.history
        if self.then is not None:
            asyncio.get_running_loop().call_soon(self.then)
        return {"ok": True, "message_id": 5}


class _NoWaiting:
    def clear(self):
        pass

    def set(self):
        pass

    async def wait(self):
        raise AssertionError("waited for a bot reply")


def _user(socket, **opts) -> User:
    user = User(0, _options(settle=0.0, **opts), TEXTS, Tally())
    user.sio, user.connected = socket, True
    user.conv = _Conversation("c1", "token")
    return user


@pytest.mark.unit
def test_a_message_to_a_conversation_known_to_be_with_agents_is_not_waited_on():
    user = _user(_FakeSocket())
    user.handed_off = True  # a queue_position came before the message was sent
    user.arrived = _NoWaiting()
    turn = asyncio.run(user.ask("known", "where is my parcel?"))
    assert turn.message_id == 5 and turn.replied_at is None and not turn.waited
    tally = user.tally
    assert (tally.sent, tally.acked, tally.with_agents) == (1, 1, 1)
    assert tally.replies == tally.unanswered == 0 and tally.reply_times == []


@pytest.mark.unit
def test_a_message_to_a_conversation_with_the_bot_waits_for_its_reply():
    holder: list[User] = []

    def bot_replies():
        asyncio.ensure_future(holder[0]._on_bot({"metadata": {"message_id": 6}}))

    user = _user(_FakeSocket(then=bot_replies))
    holder.append(user)
    turn = asyncio.run(user.ask("known", "where is my parcel?"))
    assert turn.waited and turn.replied_at is not None
    assert user.tally.replies == 1 and user.tally.with_agents == 0
    assert user.tally.reply_times == [turn.replied_at]


@pytest.mark.parametrize("waited, late", [(True, 1), (False, 0)])
@pytest.mark.unit
def test_a_message_not_waited_on_is_never_late_and_the_check_still_counts_losses(waited, late):
    history = [{"metadata": {"sender": "user", "client_id": "u0-1", "message_id": 5}},
               {"metadata": {"sender": "agent", "message_id": 7}}]
    user = _user(_FakeSocket(history=history))
    user.conv.turns = [_Turn("u0-1", "known", 0.0, message_id=5, waited=waited),
                       _Turn("u0-2", "known", 0.0, message_id=6, waited=waited)]
    user.conv.live = [7, 7]
    asyncio.run(user.check())
    tally = user.tally
    assert tally.late == late * 2
    assert tally.lost == 1  # u0-2 was never stored, waited on or not
    assert tally.duplicated == 1  # message 7 arrived twice
