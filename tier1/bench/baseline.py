"""The baseline of `tier1 bench load`: the same users and texts straight to Rasa's REST webhook.

No gateway: what Rasa alone sustains on this machine. Its custom actions still run (the action
server asks the knowledge base), as they must for the same model to answer. Its msgs/s counts
the replies within the phase's ``duration``, as the socket phase does (`tier1.bench.load`).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass

import httpx

from tier1.bench.options import LoadOptions
from tier1.bench.stats import in_window, ms, percentile, progress_bar
from tier1.bench.texts import pick_text


@dataclass
class _Count:
    sent: int = 0
    replies: int = 0


async def run_baseline(opts: LoadOptions, texts: dict[str, list[str]], progress: bool,
                       transport: httpx.AsyncBaseTransport | None = None) -> dict:
    """Rasa's msgs/s, p50/p95 and unanswered under the same load as the gateway run.

    ``transport`` replaces the network (tests pass an `httpx.MockTransport`).
    """
    count = _Count()
    unanswered = 0
    latencies: list[float] = []
    replied_at: list[float] = []
    started = time.monotonic()
    deadline = started + opts.duration
    url = f"{opts.rasa_url.rstrip('/')}/webhooks/rest/webhook"  # type: ignore[union-attr]
    limits = httpx.Limits(max_connections=opts.users, max_keepalive_connections=opts.users)

    async def user(n: int, client: httpx.AsyncClient) -> None:
        nonlocal unanswered
        rng = random.Random(opts.seed * 1000 + n)
        await asyncio.sleep(rng.random() * min(opts.ramp, opts.duration / 2))
        kinds, weights = zip(*opts.mix.items())
        sender = f"bench-{uuid.uuid4().hex}"
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            count.sent += 1
            sent_at = time.monotonic()
            try:
                r = await client.post(url, json={"sender": sender,
                                             "message": pick_text(texts[kind], rng,
                                                                  opts.unique_texts)})
                ok = r.status_code == 200 and bool(r.json())
            except (httpx.HTTPError, ValueError):
                ok = False
            if ok:
                count.replies += 1
                replied_at.append(time.monotonic())
                latencies.append(replied_at[-1] - sent_at)
            else:
                unanswered += 1
            if kind != "known":
                sender = f"bench-{uuid.uuid4().hex}"
            await asyncio.sleep(opts.settle + opts.think * (0.5 + rng.random()))

    bar = asyncio.create_task(progress_bar("REST baseline", count, opts.duration, progress))
    async with httpx.AsyncClient(timeout=opts.reply_timeout, limits=limits,
                                 transport=transport) as client:
        await asyncio.gather(*(user(n, client) for n in range(opts.users)))
    bar.cancel()
    replies_in_window = in_window(replied_at, started, opts.duration)
    return {"baseline_msgs_per_s": round(replies_in_window / opts.duration, 2),
            "baseline_replies": count.replies,
            "baseline_replies_in_window": replies_in_window,
            "baseline_p50_ms": ms(percentile(latencies, 50)),
            "baseline_p95_ms": ms(percentile(latencies, 95)),
            "baseline_unanswered": unanswered}


__all__ = ["run_baseline"]
