"""`tier1 bench load`: N simulated widget users over socket.io against a running stack.

Each user opens a conversation, asks a question, waits for the first reply (the latency),
lets the turn settle, thinks, and asks again. The question's kind is drawn from the mix:
``known`` (a demo-KB question: the bot answers), ``unknown`` (off-topic: the bot hands off)
and ``person`` (an explicit request for a human). A handoff leaves the conversation with
the agents, so the user then starts a new conversation on the same socket.

Counted per user message: replied (a ``bot_uttered`` arrived within ``reply_timeout``) or
unanswered. At the end each conversation's stored history (the ``history`` event) is
compared with what arrived live: an acknowledged user message missing from the history, or
a stored bot/agent/system message that never arrived, is **lost**; a user message stored
twice, or a message delivered twice, is **duplicated**.

The baseline is Rasa's REST webhook with the same model, the same users, texts and duration,
no gateway: what Rasa alone sustains on this machine. Its custom actions still run (the
action server asks the knowledge base), as they must for the same model to answer.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

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


@dataclass(frozen=True)
class LoadOptions:
    base: str
    rasa_url: str | None
    users: int = 50
    duration: float = 30.0
    mix: dict[str, float] = field(default_factory=lambda: {"known": 0.7, "unknown": 0.2,
                                                            "person": 0.1})
    think: float = 1.0  # seconds between a reply and the next question
    settle: float = 0.3  # a turn's messages arrive together; wait this long after the first
    reply_timeout: float = 30.0
    seed: int = 7


@dataclass
class _Turn:
    client_id: str
    kind: str
    sent_at: float
    replied_at: float | None = None


@dataclass
class _Tally:
    sent: int = 0
    replies: int = 0
    unanswered: int = 0
    lost: int = 0
    duplicated: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


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
    data = yaml.safe_load(articles_file.read_text(encoding="utf-8"))
    return [q for a in data["articles"] for q in a.get("questions", [])] or [
        a["title"] for a in data["articles"]]


class _User:
    """One simulated widget user (a socket.io client)."""

    def __init__(self, n: int, opts: LoadOptions, texts: dict[str, list[str]], tally: _Tally):
        import socketio

        self.n, self.opts, self.texts, self.tally = n, opts, texts, tally
        self.rng = random.Random(opts.seed * 1000 + n)
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("bot_uttered", self._on_bot)
        self.sio.on("queue_position", self._on_queue)
        self.handed_off = False
        self.arrived = asyncio.Event()
        self.live: dict[str, list[int]] = {}  # conversation -> message ids received live
        self.turns: dict[str, list[_Turn]] = {}
        self.conversation = ""
        self.count = 0

    async def _on_bot(self, data: Any) -> None:
        meta = (data or {}).get("metadata") or {}
        if meta.get("message_id") is not None:
            self.live.setdefault(self.conversation, []).append(meta["message_id"])
        turns = self.turns.get(self.conversation)
        if turns and turns[-1].replied_at is None:
            turns[-1].replied_at = time.monotonic()
        self.arrived.set()

    async def _on_queue(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("status") in ("queued", "assigned"):
            self.handed_off = True

    async def new_conversation(self) -> None:
        self.handed_off = False
        ack = await self.sio.call("session_request", {"session_id": None}, timeout=30)
        self.conversation = ack["session_id"]
        self.turns[self.conversation] = []

    async def run(self, deadline: float) -> None:
        await self.sio.connect(self.opts.base, transports=["websocket"], wait_timeout=30)
        await self.new_conversation()
        kinds, weights = zip(*self.opts.mix.items())
        while time.monotonic() < deadline:
            kind = self.rng.choices(kinds, weights)[0]
            await self.ask(kind)
            if kind != "known" or self.handed_off:  # with the agents now: start afresh
                await self.check(self.conversation)
                await self.new_conversation()
            await asyncio.sleep(self.opts.think * (0.5 + self.rng.random()))
        await self.check(self.conversation)
        await self.sio.disconnect()

    async def ask(self, kind: str) -> None:
        self.count += 1
        turn = _Turn(f"u{self.n}-{self.count}", kind, time.monotonic())
        self.turns[self.conversation].append(turn)
        self.arrived.clear()
        self.tally.sent += 1
        ack = await self.sio.call("user_uttered", {
            "message": self.rng.choice(self.texts[kind]), "session_id": self.conversation,
            "client_id": turn.client_id}, timeout=self.opts.reply_timeout)
        if not (isinstance(ack, dict) and ack.get("ok")):
            self.tally.errors += 1
            return
        try:
            await asyncio.wait_for(self._replied(turn), self.opts.reply_timeout)
        except asyncio.TimeoutError:
            self.tally.unanswered += 1
            return
        self.tally.replies += 1
        self.tally.latencies.append(turn.replied_at - turn.sent_at)  # type: ignore[operator]
        await asyncio.sleep(self.opts.settle)

    async def _replied(self, turn: _Turn) -> None:
        while turn.replied_at is None:
            await self.arrived.wait()
            self.arrived.clear()

    async def check(self, conversation: str) -> None:
        """Compare the stored history with what was sent and received live."""
        await asyncio.sleep(self.opts.settle)
        history = await self.sio.call("history", {"session_id": conversation, "after_id": None},
                                      timeout=30)
        if not isinstance(history, list):
            self.tally.errors += 1
            return
        stored_user: dict[str, int] = {}
        stored_out: set[int] = set()
        for m in history:
            meta = m.get("metadata") or {}
            if meta.get("sender") == "user":
                cid = meta.get("client_id")
                stored_user[cid] = stored_user.get(cid, 0) + 1
            else:
                stored_out.add(meta.get("message_id"))
        for turn in self.turns.get(conversation, []):
            copies = stored_user.get(turn.client_id, 0)
            self.tally.lost += copies == 0
            self.tally.duplicated += max(0, copies - 1)
        live = self.live.get(conversation, [])
        self.tally.duplicated += len(live) - len(set(live))
        self.tally.lost += len(stored_out - set(live))


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _progress(label: str, tally: _Tally, seconds: float, enabled: bool) -> None:
    if not enabled:
        return
    from tqdm import tqdm

    with tqdm(total=int(seconds), desc=label, unit="s", leave=False) as bar:
        for _ in range(int(seconds)):
            await asyncio.sleep(1)
            bar.update(1)
            bar.set_postfix(sent=tally.sent, replies=tally.replies)


async def run_gateway(opts: LoadOptions, texts: dict[str, list[str]], progress: bool) -> dict:
    tally = _Tally()
    users = [_User(n, opts, texts, tally) for n in range(opts.users)]
    started = time.monotonic()
    deadline = started + opts.duration
    bar = asyncio.create_task(_progress("socket.io users", tally, opts.duration, progress))
    results = await asyncio.gather(*(u.run(deadline) for u in users), return_exceptions=True)
    elapsed = max(time.monotonic() - started, opts.duration)
    bar.cancel()
    failed = [r for r in results if isinstance(r, BaseException)]
    tally.errors += len(failed)
    out = {
        "users": opts.users,
        "duration_s": round(elapsed, 2),
        "messages_sent": tally.sent,
        "replies": tally.replies,
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "unanswered": tally.unanswered,
        "errors": tally.errors,
        "p50_ms": _ms(_percentile(tally.latencies, 50)),
        "p95_ms": _ms(_percentile(tally.latencies, 95)),
        "p99_ms": _ms(_percentile(tally.latencies, 99)),
        "msgs_per_s": round(tally.replies / elapsed, 2),
    }
    if failed:
        out["first_error"] = f"{type(failed[0]).__name__}: {failed[0]}"
    return out


async def run_baseline(opts: LoadOptions, texts: dict[str, list[str]], progress: bool) -> dict:
    """The same users and texts straight to Rasa's REST webhook (no gateway)."""
    tally = _Tally()
    deadline = time.monotonic() + opts.duration
    url = f"{opts.rasa_url.rstrip('/')}/webhooks/rest/webhook"  # type: ignore[union-attr]
    limits = httpx.Limits(max_connections=opts.users, max_keepalive_connections=opts.users)

    async def user(n: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(opts.seed * 1000 + n)
        kinds, weights = zip(*opts.mix.items())
        sender = f"bench-{uuid.uuid4().hex}"
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            tally.sent += 1
            started = time.monotonic()
            try:
                r = await client.post(url, json={"sender": sender, "message": rng.choice(texts[kind])})
                ok = r.status_code == 200 and bool(r.json())
            except (httpx.HTTPError, ValueError):
                ok = False
            if ok:
                tally.replies += 1
                tally.latencies.append(time.monotonic() - started)
            else:
                tally.unanswered += 1
            if kind != "known":
                sender = f"bench-{uuid.uuid4().hex}"
            await asyncio.sleep(opts.settle + opts.think * (0.5 + rng.random()))

    started = time.monotonic()
    bar = asyncio.create_task(_progress("REST baseline", tally, opts.duration, progress))
    async with httpx.AsyncClient(timeout=opts.reply_timeout, limits=limits) as client:
        await asyncio.gather(*(user(n, client) for n in range(opts.users)))
    bar.cancel()
    elapsed = max(time.monotonic() - started, opts.duration)
    return {"baseline_msgs_per_s": round(tally.replies / elapsed, 2),
            "baseline_p50_ms": _ms(_percentile(tally.latencies, 50)),
            "baseline_p95_ms": _ms(_percentile(tally.latencies, 95)),
            "baseline_unanswered": tally.unanswered}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


async def run_load(opts: LoadOptions, articles_file: Path, progress: bool = True) -> dict:
    """Run the gateway load, then (if ``rasa_url``) the baseline; one result dict."""
    texts = {"known": known_questions(articles_file), "unknown": UNKNOWN_QUESTIONS,
             "person": PERSON_REQUESTS}
    result = await run_gateway(opts, texts, progress)
    result["baseline_msgs_per_s"] = None
    if opts.rasa_url:
        try:
            result.update(await run_baseline(opts, texts, progress))
        except httpx.HTTPError as e:
            result["baseline_error"] = f"{type(e).__name__}: {e}"
    base = result.get("baseline_msgs_per_s")
    result["ratio"] = round(result["msgs_per_s"] / base, 3) if base else None
    return result


def report(result: dict) -> str:
    """A human-readable summary."""
    lines = [
        f"users {result['users']}  duration {result['duration_s']} s",
        f"messages sent {result['messages_sent']}  replies {result['replies']}  "
        f"unanswered {result['unanswered']}  lost {result['lost']}  "
        f"duplicated {result['duplicated']}  errors {result['errors']}",
        f"latency p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  p99 {result['p99_ms']} ms",
        f"throughput {result['msgs_per_s']} replied msgs/s",
    ]
    if result.get("baseline_msgs_per_s") is not None:
        lines.append(f"baseline (Rasa REST webhook) {result['baseline_msgs_per_s']} msgs/s, "
                     f"p50 {result['baseline_p50_ms']} ms  ->  ratio {result['ratio']}")
    elif result.get("baseline_error"):
        lines.append(f"baseline not measured: {result['baseline_error']}")
    if result.get("first_error"):
        lines.append(f"first user error: {result['first_error']}")
    return "\n".join(lines)


__all__ = ["LoadOptions", "known_questions", "parse_mix", "report", "run_load"]
