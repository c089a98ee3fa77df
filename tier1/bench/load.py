"""`tier1 bench load`: N simulated widget users over socket.io against a running stack.

Each user opens a conversation, asks a question, waits for the first reply (the latency),
lets the turn settle, thinks, and asks again. The question's kind is drawn from the mix:
``known`` (a demo-KB question: the bot answers), ``unknown`` (off-topic: the bot hands off)
and ``person`` (an explicit request for a human). A handoff leaves the conversation with
the agents, so the user then starts a new conversation on the same socket.

A user behaves like the widget when its connection drops (a replica killed, a restart): it
reconnects - to the next of the ``bases`` (app replicas) - rejoins its conversation with its
session token, replays what it missed with ``history {after_id}`` and resends an
unacknowledged message with the same ``client_id`` (the server stores it once).

Counted per user message: **acknowledged** (the server's ack said stored), **replied** (a
bot/agent/system message later in the conversation arrived, live or replayed, within
``reply_timeout`` of sending; an apology or "connecting you to a person" is a reply),
**with agents** (no reply, but the conversation was handed off: the widget showed the queue)
or **unanswered**; an unanswered message whose reply is in the stored history at the end counts
also as **late**. A message sent after the widget already showed the queue is not waited on
(no bot reply follows; a person answers it): it counts as with agents at once, never as late.
At the end of each conversation its stored history is compared with what arrived: an
acknowledged user message missing from the history, or a stored bot/agent/system message that
never arrived, is **lost**; a user message stored twice, or a message delivered twice live, is
**duplicated**.

**Throughput** (``msgs_per_s``) is the replies that arrived within the load window (the
``duration`` from the start, the users' ramp included) divided by its length. Replies after
it (to messages sent just before its end) still count as replies, not in the rate; and the
time after it, while users wait up to ``reply_timeout`` for outstanding replies, is not in the
divisor: one message that gets no reply would otherwise stretch it by up to the whole bound.
``elapsed_s`` is the phase's wall time, that wait included. The kb-search and baseline phases
count their answers the same way (`tier1.bench.stats.in_window`), so the ratios compare like
with like.

Then, in this order so that no two phases overlap:

1. **kb search** (`tier1.bench.search`, skip with ``kb_search=False``): ``POST /api/kb/search``
   alone with the internal token, the same number of clients, texts and duration, closed loop
   (no think time): the knowledge base's own ceiling. ``ratio_to_kb_search`` is the end-to-end
   msgs/s divided by it (the goal is >= 0.25). It runs right after the socket phase so the two
   figures of that ratio are measured next to each other.
2. **baseline** (`tier1.bench.baseline`): Rasa's REST webhook with the same model, users, texts and
   duration, no gateway: what Rasa alone sustains on this machine; ``ratio`` is the end-to-end
   msgs/s divided by it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import yaml

from tier1.bench import baseline, search
from tier1.bench.options import LoadOptions
from tier1.bench.stats import in_window, ms, percentile, progress_bar
from tier1.bench.user import Tally, User, UserGaveUp

UNKNOWN_QUESTIONS = [
    "Which football team won the world cup in 1966?",
    "What is the boiling point of mercury?",
    "Can you recommend a good lasagne recipe?",
    "Who painted the ceiling of the Sistine Chapel?",
    "How far is the moon from the earth?",
    "What is the capital city of Mongolia?",
]
PERSON_REQUESTS = ["I want to talk to a person", "Can I speak to a human please?",
                   "connect me to an agent"]
KINDS = ("known", "unknown", "person")
KB_SEARCH_RATIO_GOAL = 0.25  # end-to-end msgs/s over kb-search msgs/s, from the performance issue


def parse_mix(text: str) -> dict[str, float]:
    """``known=0.7,unknown=0.2,person=0.1`` -> weights (any positive numbers; normalised)."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            raise ValueError(f"unknown kind {name!r} in --mix; use {', '.join(KINDS)}")
        mix[name] = float(value)
    if sum(mix.values()) <= 0 or any(v < 0 for v in mix.values()):
        raise ValueError("--mix weights must be >= 0 and not all 0")
    return mix


def known_questions(articles_file: Path) -> list[str]:
    """Every question of the articles file (the titles if no article has questions)."""
    data = yaml.safe_load(articles_file.read_text(encoding="utf-8"))
    return [q for a in data["articles"] for q in a.get("questions", [])] or [
        a["title"] for a in data["articles"]]


async def run_gateway(opts: LoadOptions, texts: dict[str, list[str]], progress: bool,
                      details: bool = False) -> dict:
    """The socket.io load; ``details`` adds every acknowledged message and conversation id."""
    tally = Tally()
    users = [User(n, opts, texts, tally) for n in range(opts.users)]
    started = time.monotonic()
    deadline = started + opts.duration
    bar = asyncio.create_task(progress_bar("socket.io users", tally, opts.duration, progress))
    results = await asyncio.gather(*(u.run(deadline) for u in users), return_exceptions=True)
    finished = time.monotonic()
    bar.cancel()
    failed = [r for r in results if isinstance(r, BaseException)]
    tally.errors += len(failed)
    out = gateway_figures(tally, opts, started, finished)
    out["users_failed"] = len(failed)
    if failed:
        out["first_error"] = f"{type(failed[0]).__name__}: {failed[0]}"
    if details:
        out["acknowledged_messages"] = tally.acknowledged
        out["conversations"] = tally.conversations
    return out


def gateway_figures(tally: Tally, opts: LoadOptions, started: float, finished: float) -> dict:
    """The socket phase's figures from its tally; the load window began at ``started``.

    ``msgs_per_s`` counts the replies that arrived within the window (``opts.duration``),
    per second of it; ``elapsed_s`` runs to ``finished``, when the last user was done.
    """
    replies_in_window = in_window(tally.reply_times, started, opts.duration)
    return {
        "users": opts.users,
        "bases": list(opts.bases),
        "duration_s": opts.duration,
        "elapsed_s": round(finished - started, 2),
        "reply_timeout_s": opts.reply_timeout,
        "messages_sent": tally.sent,
        "acknowledged": tally.acked,
        "unacknowledged": tally.unacked,
        "replies": tally.replies,
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "unanswered": tally.unanswered,
        "with_agents": tally.with_agents,
        "late": tally.late,
        "errors": tally.errors,
        "refusals": dict(tally.refusals),
        "reconnects": tally.reconnects,
        "p50_ms": ms(percentile(tally.latencies, 50)),
        "p95_ms": ms(percentile(tally.latencies, 95)),
        "p99_ms": ms(percentile(tally.latencies, 99)),
        "max_ms": ms(max(tally.latencies, default=None)),
        "replies_in_window": replies_in_window,
        "msgs_per_s": round(replies_in_window / opts.duration, 2),
    }


def question_texts(articles_file: Path) -> dict[str, list[str]]:
    """The texts each kind of simulated user sends: known, unknown, person."""
    return {"known": known_questions(articles_file), "unknown": UNKNOWN_QUESTIONS,
            "person": PERSON_REQUESTS}


async def run_load(opts: LoadOptions, articles_file: Path, progress: bool = True) -> dict:
    """Run the gateway load, then the kb-search phase and the baseline; one result dict.

    The kb-search phase runs if ``kb_search``, the baseline if ``rasa_url``.
    """
    import httpx

    texts = question_texts(articles_file)
    result = await run_gateway(opts, texts, progress)
    result["kb_search_msgs_per_s"] = None
    if opts.kb_search and not opts.internal_token:
        result["kb_search_error"] = "no internal token (TIER1_INTERNAL_TOKEN) to search with"
    elif opts.kb_search:
        try:
            result.update(await search.run_kb_search(opts, texts, opts.internal_token, progress))
        except httpx.HTTPError as e:
            result["kb_search_error"] = f"{type(e).__name__}: {e}"
    kb = result.get("kb_search_msgs_per_s")
    result["ratio_to_kb_search"] = round(result["msgs_per_s"] / kb, 3) if kb else None
    result["baseline_msgs_per_s"] = None
    if opts.rasa_url:
        try:
            result.update(await baseline.run_baseline(opts, texts, progress))
        except httpx.HTTPError as e:
            result["baseline_error"] = f"{type(e).__name__}: {e}"
    base = result.get("baseline_msgs_per_s")
    result["ratio"] = round(result["msgs_per_s"] / base, 3) if base else None
    return result


def report(result: dict) -> str:
    """A human-readable summary."""
    lines = [
        (f"users {result['users']}  duration {result['duration_s']} s  "
         f"(a reply later than {result.get('reply_timeout_s', '?')} s counts as unanswered)"),
        (f"messages sent {result['messages_sent']}  acknowledged {result.get('acknowledged', '?')}  "
         f"replies {result['replies']}  unanswered {result['unanswered']} "
         f"(late {result.get('late', 0)})  with agents {result.get('with_agents', 0)}  "
         f"lost {result['lost']}  "
         f"duplicated {result['duplicated']}  errors {result['errors']}  "
         f"reconnects {result.get('reconnects', 0)}"),
        f"latency p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  p99 {result['p99_ms']} ms",
        _throughput_line(result),
    ]
    lines.extend(_kb_search_lines(result))
    if result.get("baseline_msgs_per_s") is not None:
        lines.append(f"baseline (Rasa REST webhook) {result['baseline_msgs_per_s']} msgs/s, "
                     f"p50 {result['baseline_p50_ms']} ms  ->  ratio {result['ratio']}")
    elif result.get("baseline_error"):
        lines.append(f"baseline not measured: {result['baseline_error']}")
    for reason, count in (result.get("refusals") or {}).items():
        lines.append(f"  refused by the server {count} x: {reason}")
    if result.get("first_error"):
        lines.append(f"first user error: {result['first_error']}")
    return "\n".join(lines)


def _throughput_line(result: dict) -> str:
    line = f"throughput {result['msgs_per_s']} replied msgs/s"
    if result.get("replies_in_window") is None:
        return line
    return (f"{line} ({result['replies_in_window']} replies within the {result['duration_s']} s "
            f"of load; all users done after {result.get('elapsed_s', '?')} s)")


def _kb_search_lines(result: dict) -> list[str]:
    if result.get("kb_search_msgs_per_s") is None:
        error = result.get("kb_search_error")
        return [f"kb search not measured: {error}"] if error else []
    lines = [
        (f"kb search alone (POST /api/kb/search, {result.get('kb_search_users', '?')} closed-loop "
         f"clients) {result['kb_search_msgs_per_s']} msgs/s, p50 {result['kb_search_p50_ms']} ms  "
         f"p95 {result['kb_search_p95_ms']} ms  (sent {result.get('kb_search_sent', '?')}, "
         f"rate limited {result.get('kb_search_rate_limited', 0)}, "
         f"failed {result.get('kb_search_failed', 0)})"),
        (f"end-to-end / kb search: ratio_to_kb_search {result['ratio_to_kb_search']} "
         f"(goal >= {KB_SEARCH_RATIO_GOAL})"),
    ]
    if result.get("kb_search_rate_limited"):
        lines.append("  warning: the app refused searches with HTTP 429 "
                     f"({result.get('kb_search_first_refusal', 'limits.per_token / per_ip')}): "
                     "the kb-search figure measures the rate limit, not the search, and the "
                     "action server (same token) was refused too while it ran")
    if result.get("kb_search_first_error"):
        lines.append(f"  first kb search error: {result['kb_search_first_error']}")
    return lines


__all__ = ["KB_SEARCH_RATIO_GOAL", "LoadOptions", "UserGaveUp", "gateway_figures", "known_questions",
           "parse_mix", "question_texts", "report", "run_gateway", "run_load"]
