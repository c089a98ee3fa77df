"""Per-stage latency of a chat turn, as Prometheus histograms served at ``GET /metrics``.

One histogram, ``tier1_stage_seconds{process, stage}``, is observed by every process of the stack:

| process | stage | what it times |
|---|---|---|
| app | ``gateway_store_ack`` | a widget message received -> validated, stored, acknowledged |
| app | ``route_to_rasa`` | the REST webhook call to Rasa (everything Rasa does for the turn) |
| app | ``delivery`` | the bot's replies stored and pushed to the conversation's sockets |
| app | ``turn`` | a stored user message -> its replies delivered (the user's wait) |
| app | ``kb_search`` / ``kb_embed`` / ``kb_rank`` / ``kb_describe`` | ``POST /api/kb/search``: all, encoding the question, FAISS + scoring head, reading the hits' articles |
| rasa | ``rasa_message`` | Rasa's handling of one message (lock, tracker, NLU, policies, actions, save) |
| rasa | ``rasa_nlu`` | the NLU pipeline (tokenizer, featurizers, sentence embedding, classifier) |
| rasa | ``rasa_policies`` | one next-action prediction by the policies |
| rasa | ``rasa_tracker_load`` / ``rasa_tracker_save`` | the tracker store |
| rasa | ``rasa_action`` | one call to the action server (including its KB search) |
| actions | ``action_kb_search`` | the action server's ``POST /api/kb/search`` call |

The processes that `tier1 run` supervises share a folder (``PROMETHEUS_MULTIPROC_DIR``, set by
`tier1.stack` to ``<state_dir>/metrics`` and emptied at start), which is prometheus-client's own
way to aggregate several processes; ``/metrics`` on the app then reports all of them. An app
started without it (tests, an embedded app) reports its own process only.

Nothing is created at import time: the histogram is made on first use.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# 1 ms .. 30 s: a KB search is a few ms, a saturated turn tens of seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

StageObserver = Callable[[str, float], None]


@functools.lru_cache(maxsize=1)
def stage_histogram() -> Any:
    """``tier1_stage_seconds{process, stage}`` (created once, in the default registry)."""
    from prometheus_client import Histogram

    return Histogram(
        "tier1_stage_seconds",
        "Seconds spent in one stage of a chat turn, by process and stage (bot/metrics.py).",
        ["process", "stage"],
        buckets=BUCKETS,
    )


def observer(process: str) -> StageObserver:
    """A ``(stage, seconds)`` callback recording into the histogram as ``process``."""
    histogram = stage_histogram()

    def observe(stage: str, seconds: float) -> None:
        histogram.labels(process=process, stage=stage).observe(seconds)

    return observe


@contextmanager
def timed(observe: StageObserver | None, stage: str) -> Iterator[None]:
    """Observe the wall-clock seconds of the ``with`` block as ``stage`` (no-op for None)."""
    if observe is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        observe(stage, time.perf_counter() - started)


def exposition() -> bytes:
    """The Prometheus text exposition: every process of the stack when they share a folder."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    # prometheus-client's multiprocess contract is this variable, read by the library itself.
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        stage_histogram()  # the stage family is listed even before the first turn
        return generate_latest(REGISTRY)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return generate_latest(registry)


def reset_folder(path: os.PathLike[str] | str) -> None:
    """Create ``path`` empty (stale files of dead processes would be summed in)."""
    from pathlib import Path

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*.db"):
        f.unlink()


__all__ = [
    "BUCKETS",
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "StageObserver",
    "exposition",
    "observer",
    "reset_folder",
    "stage_histogram",
    "timed",
]
