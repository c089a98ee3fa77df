"""What one run of `tier1 bench load` is asked to do: shared by every phase of the load tool."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadOptions:
    """Users, duration, question mix and timeouts of one load run, and where to send it."""

    bases: tuple[str, ...]
    rasa_url: str | None
    users: int = 50
    duration: float = 30.0
    mix: dict[str, float] = field(default_factory=lambda: {"known": 0.7, "unknown": 0.2,
                                                            "person": 0.1})
    think: float = 1.0  # seconds between a reply and the next question
    settle: float = 0.3  # a turn's messages arrive together; wait this long after the first
    reply_timeout: float = 30.0  # the bound: no reply within this many seconds = unanswered
    reconnect_timeout: float = 120.0  # how long a user keeps trying to get a connection back
    seed: int = 7
    ramp: float = 5.0  # users start spread over this many seconds (no thundering herd)
    kb_search: bool = True  # run the kb-search phase (needs internal_token)
    unique_texts: bool = False  # a random reference on every text (tier1.bench.texts)
    internal_token: str | None = field(default=None, repr=False)  # TIER1_INTERNAL_TOKEN


__all__ = ["LoadOptions"]
