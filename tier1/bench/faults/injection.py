"""The faults a drill injects.

kill -9 of a supervised program, dropped database connections, a Redis restart; each returns
when the stack has recovered, with how long that took.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from sqlalchemy import create_engine, text

from tier1.bench.faults.topology import Target, healthy, wait_for

SCENARIOS = {
    "rasa": "kill -9 Rasa mid-load (supervisord restarts it)",
    "actions": "kill -9 the action server mid-load (supervisord restarts it)",
    "replica": "kill -9 app replica A mid-load (users reconnect to B; supervisord restarts A)",
    "database": "pg_terminate_backend of every connection to the database",
    "redis": "Redis restart (SIGKILL, started again on the same port, data lost)",
}


def kill_program(target: Target, program: str) -> dict[str, Any]:
    """Kill -9 a supervised program; wait until supervisord has restarted it and it is healthy."""
    old = target.pid(program)
    if not old:
        raise RuntimeError(f"{program} is not running under supervisord")
    os.kill(old, signal.SIGKILL)
    seconds = wait_for(lambda: target.pid(program) not in (0, old)
                    and healthy(target.health[program]), 300, f"{program} restarted and healthy")
    return {"killed_pid": old, "new_pid": target.pid(program), "restarted_by": "supervisord",
            "recovered_s": round(seconds, 1)}


def drop_database_connections(target: Target) -> dict[str, Any]:
    """pg_terminate_backend of every connection to the stack's database."""
    admin = create_engine(target.pg_admin, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": target.database}).scalar()
    admin.dispose()
    return {"connections_terminated": int(killed or 0), "recovered_s": 0.0}


def restart_redis(target: Target) -> dict[str, Any]:
    """SIGKILL the private Redis server and start it again on the same port."""
    assert target.redis is not None
    started = time.monotonic()
    target.redis.kill()
    time.sleep(2)  # clients notice the outage
    target.redis.start()
    return {"recovered_s": round(time.monotonic() - started, 1)}


def inject(target: Target, scenario: str) -> dict[str, Any]:
    """Inject `scenario`'s fault; returns when the stack has recovered."""
    if scenario in ("rasa", "actions"):
        return kill_program(target, scenario)
    if scenario == "replica":
        return kill_program(target, "app")
    if scenario == "database":
        return drop_database_connections(target)
    if scenario == "redis":
        return restart_redis(target)
    raise ValueError(f"unknown scenario {scenario!r}; use {', '.join(SCENARIOS)}")
