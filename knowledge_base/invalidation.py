"""Keeping each replica's index in step with articles written by another replica.

SQL is the source of truth and carries a version counter that every write bumps; each
index records the version it reflects. `VersionPoller` reads the counter (one primary-key
read) every ``interval`` seconds and calls `KnowledgeBase.refresh`, which rebuilds the
index from the stored vectors only when the versions differ. Polling needs no broker,
cannot miss a notification, and bounds staleness by ``interval`` plus one rebuild.
`NoInvalidation` is the one-replica default: writes already update the local index.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class _Refreshable(Protocol):
    def refresh(self) -> bool: ...


class Invalidation(Protocol):
    """Runs until cancelled, keeping the local index current (an asyncio task)."""

    async def run(self) -> None:
        """Keep the local index current until cancelled."""
        ...


class NoInvalidation:
    """One replica: nothing to do (returns at once)."""

    async def run(self) -> None:
        """Return at once: this replica's writes already update its index."""


class VersionPoller:
    """Refresh ``kb`` whenever the stored version moves.

    Args:
        kb: a started `KnowledgeBase` (anything with ``refresh() -> bool``).
        interval: seconds between version reads.
    """

    def __init__(self, kb: _Refreshable, interval: float) -> None:
        self._kb = kb
        self._interval = interval

    async def run(self) -> None:
        """Poll the version every ``interval`` seconds until cancelled; failures are logged."""
        while True:
            try:
                if await asyncio.to_thread(self._kb.refresh):
                    log.info("knowledge base changed on another replica; index rebuilt")
            except Exception:
                log.warning("knowledge base version check failed; retrying", exc_info=True)
            await asyncio.sleep(self._interval)


def create_invalidation(kind: str, kb: _Refreshable, interval: float = 0.5) -> Invalidation:
    """``none`` or ``poll``; any other kind is an error."""
    if kind == "none":
        return NoInvalidation()
    if kind == "poll":
        return VersionPoller(kb, interval)
    raise ValueError(f"unknown knowledge base invalidation type {kind!r}; use none or poll")


__all__ = ["Invalidation", "NoInvalidation", "VersionPoller", "create_invalidation"]
