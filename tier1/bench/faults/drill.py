"""A fault drill: load on both replicas, one fault a third of the way in, recovery, then checks.

`run_scenario` runs one scenario on a running `Target` (the CI's end-to-end test uses it on its
own stack); `run_drills` brings up the production `Topology`, runs the scenarios in turn and
tears everything down; `table` prints the rows as BENCHMARKS.md shows them.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tier1.bench.faults.checks import (
    agent_token,
    check_database,
    claim_some,
    timeout_requeues,
    with_agents,
)
from tier1.bench.faults.injection import SCENARIOS, inject
from tier1.bench.faults.topology import Target, Topology


def demo_articles() -> Path:
    """The demo help center's articles file (the load's known questions come from it)."""
    import knowledge_base

    return Path(knowledge_base.__file__).parent / "demo" / "articles.yml"


@dataclass(frozen=True)
class DrillOptions:
    """What `tier1 bench faults` was asked for (see its --help)."""

    config: Path
    scenarios: tuple[str, ...]
    users: int = 30
    duration: float = 45
    bound: float = 90
    pg_admin: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    keep: bool = False


async def run_scenario(target: Target, scenario: str, opts, token: str | None, bound: float,
                       log: Callable[[str], None] = print,
                       articles: Path | None = None) -> dict[str, Any]:
    """Load, fault at a third of the duration, recovery, then the database checks."""
    from tier1.bench.load import question_texts, run_gateway

    load = asyncio.create_task(run_gateway(opts, question_texts(articles or demo_articles()), progress=False,
                                           details=True))
    await asyncio.sleep(opts.duration / 3)
    claimed = await asyncio.to_thread(claim_some, target, token) if token else []
    before_at = datetime.now(timezone.utc)
    before = await asyncio.to_thread(with_agents, target)
    log(f"faults | {scenario}: {SCENARIOS[scenario]} ({len(before)} conversations with agents, "
        f"{len(claimed)} claimed)")
    fault_at = datetime.now(timezone.utc)
    fault = await asyncio.to_thread(inject, target, scenario)
    recovered_at = fault_at + timedelta(seconds=fault["recovered_s"])
    log(f"faults | {scenario}: recovered in {fault['recovered_s']} s; waiting for the load to end")
    result = await load
    # Orphaned messages are answered by the recovery sweep: give it the bound to do so.
    deadline = time.monotonic() + bound
    while True:
        check = await asyncio.to_thread(check_database, target, result["acknowledged_messages"],
                                        recovered_at, bound)
        if (check["unanswered"] == 0 and check["lost"] == 0) or time.monotonic() > deadline:
            break
        await asyncio.sleep(5)
    after = await asyncio.to_thread(with_agents, target)
    timed_out = await asyncio.to_thread(timeout_requeues, target, before_at)
    changed = sorted(c for c, state in before.items() if after.get(c) != state
                     and not (c in timed_out and after.get(c) == ("queued", None)))
    return {
        "scenario": scenario, "fault": SCENARIOS[scenario], **fault,
        "users": opts.users, "sent": result["messages_sent"], **check,
        "queue_before": len(before), "queue_changed": len(changed),
        "queue_intact": not changed, "reconnects": result["reconnects"],
        # requeued by the assignment timeout (an assignee who never replied): not a fault's doing
        "queue_timeouts": len(timed_out & set(before)),
        # which conversations moved, and from what to what: what a failed check needs
        "queue_changes": [{"conversation": c, "before": before[c], "after": after.get(c)}
                          for c in changed[:10]],
        "load_lost": result["lost"], "load_duplicated": result["duplicated"],
        "load_unanswered": result["unanswered"], "load_with_agents": result["with_agents"],
        "load_unacknowledged": result["unacknowledged"], "users_failed": result["users_failed"],
        "p50_ms": result["p50_ms"], "p95_ms": result["p95_ms"],
        # Stored and answered (the database), and seen by the users (live or replayed).
        "passed": check["lost"] == 0 and check["unanswered"] == 0 and not changed
        and result["lost"] == 0 and result["duplicated"] == 0 and result["unanswered"] == 0
        and result["users_failed"] == 0,
    }


def run_drills(options: DrillOptions, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Bring up the production topology, run each scenario in turn, tear it all down."""
    from tier1.bench.load import LoadOptions

    work = Path(tempfile.mkdtemp(prefix="tier1-faults-"))
    topology = Topology(options.pg_admin, work, options.config)
    rows: list[dict[str, Any]] = []
    try:
        target = topology.start(log=log)
        token = agent_token(target, "faults-agent@example.com")
        opts = LoadOptions(bases=tuple(target.bases), rasa_url=None, users=options.users,
                           duration=options.duration, reply_timeout=options.bound,
                           reconnect_timeout=300)
        for scenario in options.scenarios:
            rows.append(asyncio.run(run_scenario(target, scenario, opts, token, options.bound,
                                                 log)))
            log(f"faults | {scenario}: {'passed' if rows[-1]['passed'] else 'FAILED'}")
    finally:
        topology.stop()
        if options.keep:
            log(f"faults | logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as the markdown table BENCHMARKS.md shows."""
    head = ("| scenario | recovered s | sent | acked | lost (db / seen) | unanswered (db / seen) "
            "| apologised | with agents | max reply delay s | queue intact | reconnects | dup "
            "| passed |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['recovered_s']} | {r['sent']} | {r['acknowledged']} "
                     f"| {r['lost']} / {r['load_lost']} | {r['unanswered']} / {r['load_unanswered']} "
                     f"| {r['apologised']} | {r['load_with_agents']} | {r['max_reply_delay_s']} "
                     f"| {'yes' if r['queue_intact'] else 'NO'} ({r['queue_before']}) "
                     f"| {r['reconnects']} | {r['load_duplicated']} | {'yes' if r['passed'] else 'NO'} |")
    return "\n".join(lines)
