"""The knowledge-base phase of `tier1 bench load`: ``POST /api/kb/search`` alone at saturation.

The same number of clients as the socket phase's users, the same question texts drawn from the
same mix with the same seeds, for the same duration, but closed loop: each client sends its next
search as soon as the previous one answered (no settle, no think time, no ramp). What it
measures is the ceiling the end-to-end path is compared with: every answered question costs one
such search in the action server, so end-to-end msgs/s / kb-search msgs/s says how much of the
search capacity the whole path (gateway, Rasa, actions) keeps.

Clients authenticate with the internal token, as the action server does, so they share its
rate limit (``limits.per_token`` and ``limits.per_ip``): an HTTP 429 is counted apart, and the
client waits its ``Retry-After`` as a real client would. When any search was refused the figure
measures the limiter, not the search, and the report says so.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import httpx

from tier1.bench.options import LoadOptions
from tier1.bench.stats import in_window, ms, percentile, progress_bar
from tier1.bench.texts import pick_text

SEARCH_PATH = "/api/kb/search"
FAILURE_PAUSE = 0.2  # seconds a client waits after a transport error before its next search


@dataclass
class SearchCount:
    """What the clients saw; ``sent`` and ``replies`` feed the progress bar."""

    sent: int = 0
    replies: int = 0  # HTTP 200 with a decision
    rate_limited: int = 0  # HTTP 429
    failed: int = 0  # any other status, a body without a decision, a timeout or a broken connection
    latencies: list[float] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # when each answer came
    first_error: str | None = None
    first_refusal: str | None = None  # the first 429's detail: which limit refused


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])[:200]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


async def run_kb_search(opts: LoadOptions, texts: dict[str, list[str]], token: str,
                        progress: bool, transport: httpx.AsyncBaseTransport | None = None) -> dict:
    """``opts.users`` closed-loop clients searching for ``opts.duration`` seconds.

    Client ``n`` searches on ``opts.bases[n % len(bases)]`` (the socket phase's spread).
    ``transport`` replaces the network (tests pass an `httpx.MockTransport`).

    Returns:
        ``kb_search_*`` figures: msgs/s (searches answered within the phase's ``duration``, per
        second of it, as the socket phase counts its replies), p50/p95/p99 of the answered
        ones, and the counts of sent, answered (also within the duration), rate-limited and
        failed.
    """
    count = SearchCount()
    started = time.monotonic()
    deadline = started + opts.duration
    limits = httpx.Limits(max_connections=opts.users, max_keepalive_connections=opts.users)
    headers = {"Authorization": f"Bearer {token}"}
    kinds, weights = zip(*opts.mix.items())

    async def client_loop(n: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(opts.seed * 1000 + n)
        url = opts.bases[n % len(opts.bases)].rstrip("/") + SEARCH_PATH
        while time.monotonic() < deadline:
            text = pick_text(texts[rng.choices(kinds, weights)[0]], rng, opts.unique_texts)
            count.sent += 1
            sent_at = time.monotonic()
            try:
                r = await client.post(url, json={"text": text}, headers=headers)
                answered = r.status_code == 200 and "decision" in r.json()
            except (httpx.HTTPError, ValueError) as e:
                count.failed += 1
                count.first_error = count.first_error or f"{type(e).__name__}: {e}"
                await asyncio.sleep(FAILURE_PAUSE)  # a server that is down: do not spin on it
                continue
            if answered:
                count.replies += 1
                count.answered_at.append(time.monotonic())
                count.latencies.append(count.answered_at[-1] - sent_at)
            elif r.status_code == 429:
                count.rate_limited += 1
                count.first_refusal = count.first_refusal or _detail(r)
                wait = _retry_after(r)
                if wait >= deadline - time.monotonic():
                    return  # told to wait past the end of the phase: this client is done
                await asyncio.sleep(wait)
            else:
                count.failed += 1
                count.first_error = count.first_error or f"HTTP {r.status_code}: {r.text[:200]}"
                if r.status_code in (401, 403):
                    return  # a wrong token stays wrong: nothing to measure

    bar = asyncio.create_task(progress_bar("kb search", count, opts.duration, progress))
    try:
        async with httpx.AsyncClient(timeout=opts.reply_timeout, limits=limits,
                                     transport=transport) as client:
            await asyncio.gather(*(client_loop(n, client) for n in range(opts.users)))
    finally:
        bar.cancel()
    elapsed = time.monotonic() - started
    answered_in_window = in_window(count.answered_at, started, opts.duration)
    out = {"kb_search_users": opts.users,
           "kb_search_duration_s": opts.duration,
           "kb_search_elapsed_s": round(elapsed, 2),
           "kb_search_sent": count.sent,
           "kb_search_answered": count.replies,
           "kb_search_answered_in_window": answered_in_window,
           "kb_search_rate_limited": count.rate_limited,
           "kb_search_failed": count.failed,
           "kb_search_msgs_per_s": round(answered_in_window / opts.duration, 2),
           "kb_search_p50_ms": ms(percentile(count.latencies, 50)),
           "kb_search_p95_ms": ms(percentile(count.latencies, 95)),
           "kb_search_p99_ms": ms(percentile(count.latencies, 99))}
    if count.first_refusal:
        out["kb_search_first_refusal"] = count.first_refusal
    if count.first_error:
        out["kb_search_first_error"] = count.first_error
    return out


__all__ = ["SEARCH_PATH", "SearchCount", "run_kb_search"]
