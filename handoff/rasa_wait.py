"""Waiting out a Rasa that is starting or restarting, instead of handing the user off.

Rasa needs tens of seconds to load its model, after `tier1 run` starts and after every
restart; the app server serves the widget long before. A turn whose Rasa is unreachable
(`RasaUnreachable`: nothing serving at its address) tries again with back-off until Rasa has
been unreachable for ``handoff.rasa_wait_seconds``; only then, or on any other failure (an
error or a timeout mid-turn), does the service apologise and queue the conversation for a
person. The bound counts from the start of the outage, not of the turn: once Rasa has been
down that long, new messages get the apology at once instead of each waiting again.

With several app replicas, another replica's recovery sweep (handoff.recovery) takes a message
unanswered for 4 x ``rasa_timeout_seconds`` (at least 20 s) for one whose replica died, and
apologises and queues it; the waiting turn then finds the conversation queued at its next
retry and stops. There the wait is in effect capped at that bound: the sweep cannot tell a
waiting turn from a dead replica's, and raising its bound would delay every real recovery.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from handoff.rasa_client import RasaUnreachable

log = logging.getLogger(__name__)

T = TypeVar("T")

# The first retry comes quickly (a restart may be nearly done); later ones at most this far
# apart, so a turn is answered within about MAX_DELAY_SECONDS of Rasa serving again.
FIRST_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 2.0


class RasaWait:
    """How long and how often a turn retries a Rasa server that is not serving."""

    def __init__(
        self,
        wait_seconds: float,
        *,
        first_delay: float = FIRST_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
    ) -> None:
        self.wait_seconds = wait_seconds
        self.first_delay = first_delay
        self.max_delay = max_delay

    async def until_served(
        self,
        attempt: Callable[[], Awaitable[T]],
        still_wanted: Callable[[], Awaitable[bool]],
    ) -> T | None:
        """``attempt()``'s result, retried while it raises `RasaUnreachable` and the wait lasts.

        Between tries it sleeps with exponential back-off (with jitter, so turns waiting on
        one restart do not all retry in the same instant), then asks ``still_wanted()``; when
        that says no (the conversation left the bot meanwhile) it returns None.

        Raises:
            RasaUnreachable: the last failure, once the server has been unreachable for
                ``wait_seconds`` (counted from the outage's start) or this turn waited as long.
            RasaUnavailable: any other failure of ``attempt()``, at once.
        """
        started = time.monotonic()
        delay = self.first_delay
        while True:
            try:
                return await attempt()
            except RasaUnreachable as e:
                left = self.wait_seconds - max(time.monotonic() - started, e.down_for)
                if left <= 0:
                    raise
                if delay == self.first_delay:  # the first miss of this turn
                    log.info("Rasa is not serving (%s); waiting up to %.0f s for it", e, left)
                await asyncio.sleep(min(left, delay * random.uniform(0.5, 1.0)))
                delay = min(self.max_delay, delay * 2)
            if not await still_wanted():
                return None


__all__ = ["FIRST_DELAY_SECONDS", "MAX_DELAY_SECONDS", "RasaWait"]
