"""Latency figures and the progress bar of `tier1 bench load`, shared by its phases."""

from __future__ import annotations

import asyncio
from typing import Any


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100, linear interpolation) of ``values``; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def in_window(done_at: list[float], started: float, window: float) -> int:
    """How many of ``done_at`` (`time.monotonic` times) fall within ``[started, started + window]``.

    A phase's throughput is this count of its load window over ``window`` seconds. What
    completes after the window (the drain: requests in flight at its end, replies to messages
    sent just before it) is left out, and so is the time spent waiting for it, which a slow or
    never-coming reply would otherwise stretch: the rate is the one sustained while the load
    was offered.
    """
    ended = started + window
    return sum(started <= t <= ended for t in done_at)


def ms(seconds: float | None) -> float | None:
    """Seconds as milliseconds rounded to 0.1 (None stays None)."""
    return None if seconds is None else round(seconds * 1000, 1)


async def progress_bar(label: str, tally: Any, seconds: float, enabled: bool) -> None:
    """Show a per-second tqdm bar with messages sent and replies for ``seconds``, if enabled."""
    if not enabled:
        return
    from tqdm import tqdm

    with tqdm(total=int(seconds), desc=label, unit="s", leave=False) as bar:
        for _ in range(int(seconds)):
            await asyncio.sleep(1)
            bar.update(1)
            bar.set_postfix(sent=tally.sent, replies=tally.replies)


__all__ = ["in_window", "ms", "percentile", "progress_bar"]
