"""Where one turn's time goes, on a running idle stack: the model, the search, the whole turn.

In one run, over the same known questions of the demo knowledge base (one per article in turn,
so they cover every article; the bot answers them):

- **encode**: a plain ``SentenceTransformer.encode([question])`` with the packaged model,
  loaded in this process (default torch threads, ``HF_HUB_OFFLINE=1``): the floor of any
  search;
- **search**: ``POST /api/kb/search`` with the internal token, one question at a time;
- **turns**: one widget user over socket.io (`tier1.bench.user.User`, the protocol of `tier1 bench
  load`: ``session_request`` -> ``session_confirm``, ``user_uttered`` acknowledged) asking every
  question in one conversation. A turn's latency runs from the emit to the first
  ``bot_uttered`` after the stored message; before the next question the turn settles (no bot
  message for ``--settle`` seconds: the answer's "Did this help?" has arrived) and the sends are
  spaced by the per-conversation rate limit (``limits.per_session``). If the bot hands the
  conversation off (it is queued for an agent) the report says at which turn and the user
  starts a new conversation.

One warm-up call of encode and of search is left out of their figures; the first turn is
reported on its own. The table prints three ratios with the performance issue's goals, for
reference only: search p50 / encode p50 (<= 0.5), turn p50 / search p50 (<= 3), mean of turns
36-40 / mean of turns 1-5 (<= 1.2). Exit 0 whatever the figures; 2 when no healthy stack
answers at the URL.

example:
  tier1 run &    # in another terminal; wait for "tier1 is up"
  .venv/bin/python benchmarks/turn_latency.py
  .venv/bin/python benchmarks/turn_latency.py --url http://127.0.0.1:8000 --questions 40 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tier1.bench.options import LoadOptions
from tier1.bench.search import SEARCH_PATH
from tier1.bench.stats import percentile
from tier1.bench.user import Tally, User
from tier1.cli import _settings  # the same settings and secrets as `tier1 run`
from tier1.settings import SettingsError

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
GOALS = {"search_over_encode": 0.5, "turn_over_search": 3.0, "late_over_early": 1.2}
EARLY, LATE = (1, 5), (36, 40)  # turn numbers (1-based, inclusive) of the drift ratio


class StackUnreachable(Exception):
    """No healthy tier1 stack answers at the URL."""


def pick_questions(articles_file: Path, count: int) -> list[str]:
    """``count`` questions, one per article in turn (first questions first, then second ...)."""
    articles = yaml.safe_load(articles_file.read_text(encoding="utf-8"))["articles"]
    columns = [a.get("questions") or [a["title"]] for a in articles]
    out: list[str] = []
    for depth in range(max(len(c) for c in columns)):
        out.extend(c[depth] for c in columns if depth < len(c))
    if len(out) < count:
        raise SystemExit(f"{articles_file} has {len(out)} questions; --questions asks {count}")
    return out[:count]


def check_stack(url: str) -> None:
    try:
        r = httpx.get(f"{url}/health", timeout=10)
        health = r.json()
    except (httpx.HTTPError, ValueError) as e:
        raise StackUnreachable(f"no tier1 stack answers at {url} ({type(e).__name__}: {e}); "
                               "start one with `tier1 run` or pass --url") from e
    if health.get("status") != "ok":
        down = [k for k, v in (health.get("components") or {}).items() if not v.get("ok")]
        raise StackUnreachable(f"the tier1 stack at {url} is not healthy (down: "
                               f"{', '.join(down) or health.get('status')}); restart it with "
                               "`tier1 run`")


def measure_encode(questions: list[str]) -> list[float]:
    from sentence_transformers import SentenceTransformer

    from knowledge_base.embedder import resolve_model_path

    model = SentenceTransformer(str(resolve_model_path(PACKAGED_MODEL)), device="cpu")
    model.encode([questions[0]])  # warm-up
    out = []
    for q in questions:
        started = time.perf_counter()
        model.encode([q])
        out.append(time.perf_counter() - started)
    return out


def measure_search(url: str, token: str, questions: list[str]) -> tuple[list[float], dict[str, int]]:
    """Latencies and the count of each decision."""
    decisions: dict[str, int] = {}
    latencies = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        client.post(SEARCH_PATH, json={"text": questions[0]}).raise_for_status()  # warm-up
        for q in questions:
            started = time.perf_counter()
            r = client.post(SEARCH_PATH, json={"text": q})
            latencies.append(time.perf_counter() - started)
            r.raise_for_status()
            decision = r.json()["decision"]
            decisions[decision] = decisions.get(decision, 0) + 1
    return latencies, decisions


async def _settle(user: User, quiet: float, limit: float = 10.0) -> None:
    """Wait until no bot message arrived for ``quiet`` seconds (at most ``limit``)."""
    give_up = time.monotonic() + limit
    while time.monotonic() < give_up:
        user.arrived.clear()
        try:
            await asyncio.wait_for(user.arrived.wait(), quiet)
        except asyncio.TimeoutError:
            return


async def measure_turns(url: str, questions: list[str], settle: float, spacing: float,
                        reply_timeout: float) -> dict[str, Any]:
    """One user, every question in one conversation (a new one after a handoff)."""
    opts = LoadOptions(bases=(url,), rasa_url=None, users=1, duration=0, mix={"known": 1.0},
                       think=0, settle=0, reply_timeout=reply_timeout, kb_search=False)
    user = User(0, opts, {"known": questions}, Tally())
    turns: list[dict[str, Any]] = []
    handoffs: list[dict[str, Any]] = []
    position = 0  # the turn's number within its conversation
    last_sent = 0.0
    try:
        await user.connect()
        for number, question in enumerate(questions, 1):
            await asyncio.sleep(max(0.0, last_sent + spacing - time.monotonic()))
            last_sent = time.monotonic()
            position += 1
            turn = await user.ask("known", question)
            latency = None
            if turn is not None and turn.replied_at is not None \
                    and turn.replied_at - turn.sent_at <= reply_timeout:
                latency = turn.replied_at - turn.sent_at
            turns.append({"turn": number, "conversation_turn": position, "question": question,
                          "acknowledged": turn is not None, "latency_s": latency})
            await _settle(user, settle)
            if user.handed_off:
                handoffs.append({"turn": number, "question": question,
                                 "conversation": user.conv.id if user.conv else None})
                await user.new_conversation()
                position = 0
    finally:
        with contextlib.suppress(Exception):  # the run is over either way
            await asyncio.wait_for(user.sio.disconnect(), 5)
    return {"turns": turns, "handoffs": handoffs}


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def summarise(encode: list[float], search: list[float], decisions: dict[str, int],
              turns: dict[str, Any]) -> dict[str, Any]:
    latencies = [t["latency_s"] for t in turns["turns"]]
    by_number = {t["turn"]: t["latency_s"] for t in turns["turns"]}
    early = _mean([by_number.get(n) for n in range(EARLY[0], EARLY[1] + 1)])
    late = _mean([by_number.get(n) for n in range(LATE[0], LATE[1] + 1)])
    encode_p50, search_p50 = percentile(encode, 50), percentile(search, 50)
    turn_p50 = percentile([v for v in latencies if v is not None], 50)
    return {
        "questions": len(encode),
        "encode_p50_ms": _ms(encode_p50),
        "search_p50_ms": _ms(search_p50),
        "search_decisions": decisions,
        "turn_p50_ms": _ms(turn_p50),
        "turn_first_ms": _ms(latencies[0] if latencies else None),
        "turns_1_5_mean_ms": _ms(early),
        "turns_36_40_mean_ms": _ms(late),
        "turns_unanswered": sum(v is None for v in latencies),
        "handoffs": turns["handoffs"],
        "turns_36_40_in_conversation": [t["conversation_turn"] for t in turns["turns"]
                                        if LATE[0] <= t["turn"] <= LATE[1]],
        "ratios": {"search_over_encode": _ratio(search_p50, encode_p50),
                   "turn_over_search": _ratio(turn_p50, search_p50),
                   "late_over_early": _ratio(late, early)},
        "goals": GOALS,
        "turn_latencies_ms": [_ms(v) for v in latencies],
    }


def report(result: dict[str, Any], url: str) -> str:
    r = result["ratios"]
    rows = [
        ("encode p50 (in process, plain model)", f"{result['encode_p50_ms']} ms", ""),
        ("POST /api/kb/search p50", f"{result['search_p50_ms']} ms",
         "decisions " + ", ".join(f"{k} {v}" for k, v in sorted(result["search_decisions"].items()))),
        ("turn p50 (socket.io, emit -> first reply)", f"{result['turn_p50_ms']} ms",
         f"unanswered {result['turns_unanswered']}"),
        ("  first turn", f"{result['turn_first_ms']} ms", ""),
        ("  turns 1-5 mean", f"{result['turns_1_5_mean_ms']} ms", ""),
        ("  turns 36-40 mean", f"{result['turns_36_40_mean_ms']} ms", ""),
        ("search p50 / encode p50", str(r["search_over_encode"]),
         f"goal <= {GOALS['search_over_encode']}"),
        ("turn p50 / search p50", str(r["turn_over_search"]), f"goal <= {GOALS['turn_over_search']}"),
        ("turns 36-40 / turns 1-5", str(r["late_over_early"]), f"goal <= {GOALS['late_over_early']}"),
    ]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{result['questions']} questions against {url} (goals are the issue's, for reference)"]
    lines += [f"{name:<{width}}  {value:>10}  {note}".rstrip() for name, value, note in rows]
    for h in result["handoffs"]:
        lines.append(f"HANDOFF at turn {h['turn']} ({h['question']!r}): conversation {h['conversation']} "
                     "was queued for an agent; the following turns ran in a new conversation")
    positions = result["turns_36_40_in_conversation"]
    if result["handoffs"] and positions:
        lines.append(f"so turns 36-40 were turns {positions[0]}-{positions[-1]} of their "
                     "conversation, not the 36th-40th of one: the drift ratio compares shorter "
                     "conversations than it should")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:\n  tier1 run &    # in another terminal\n"
               "  .venv/bin/python benchmarks/turn_latency.py\n"
               "  .venv/bin/python benchmarks/turn_latency.py --url http://127.0.0.1:8000 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(ROOT / "config.yml"),
                   help="config.yml for the URL, the internal token and the rate limit "
                        "(default: the repository's)")
    p.add_argument("--url", default=None, help="the app server (default: server.public_url or "
                   "host:port of the config)")
    p.add_argument("--questions", type=int, default=40,
                   help="questions, and turns of the conversation (default 40; the drift ratio "
                        "needs 40)")
    p.add_argument("--settle", type=float, default=0.5, help="a turn is over when no bot message "
                   "arrived for this many seconds (default 0.5)")
    p.add_argument("--reply-timeout", type=float, default=30,
                   help="a turn without a reply within this many seconds is unanswered (default 30)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = _parser().parse_args(argv)
    try:
        settings, _ = _settings(args.config)
    except SettingsError as e:
        print(f"turn_latency: {e}", file=sys.stderr)
        return 2
    url = (args.url or settings.server.url).rstrip("/")
    limits = settings.limits
    spacing = 60.0 / limits.per_session.per_minute if limits.enabled else 0.0
    seed = settings.knowledge_base.seed_file or Path("knowledge_base/demo/articles.yml")
    questions = pick_questions(settings.path(seed), args.questions)
    try:
        check_stack(url)
    except StackUnreachable as e:
        print(f"turn_latency: {e}", file=sys.stderr)
        return 2
    token = settings.secrets.internal_token.get_secret_value()
    encode = measure_encode(questions)
    try:
        search, decisions = measure_search(url, token, questions)
    except httpx.HTTPError as e:
        print(f"turn_latency: POST {url}{SEARCH_PATH} failed ({type(e).__name__}: {e}); is "
              f"{args.config} the config the stack runs with (its internal token)?", file=sys.stderr)
        return 2
    turns = asyncio.run(measure_turns(url, questions, args.settle, spacing, args.reply_timeout))
    result = summarise(encode, search, decisions, turns)
    result["url"] = url
    print(json.dumps(result, indent=2) if args.json else report(result, url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
