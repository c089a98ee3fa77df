"""The cheapest scripted fault in CI: kill -9 of the action server in the middle of a small
load run (`tier1 bench faults` runs it and the others on the production topology).

supervisord must restart it (a new pid, healthy again); every acknowledged user message must be
stored, and answered - by the bot, its apology or "connecting you to a person" - within the
bound after recovery; the conversations with the agents must be untouched.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_kill_9_of_the_action_server_mid_load_loses_nothing_and_leaves_nobody_waiting(stack):
    from tier1.bench.faults import Target, run_scenario
    from tier1.bench.load import LoadOptions

    config = yaml.safe_load(stack.config.read_text())
    server = config["server"]
    target = Target(
        bases=[stack.url], database_url=config["database"]["url"],
        supervisor_socket=Path(server["state_dir"]) / "supervisor.sock",
        health={"actions": f"http://127.0.0.1:{server['action_port']}/health"},
        config=stack.config, env=stack.env)
    opts = LoadOptions(bases=(stack.url,), rasa_url=None, users=4, duration=24,
                       reply_timeout=60, reconnect_timeout=60)

    row = asyncio.run(run_scenario(target, "actions", opts, None, bound=60,
                                   log=lambda _line: None))

    assert row["new_pid"] != row["killed_pid"] and row["restarted_by"] == "supervisord"
    assert row["acknowledged"] >= 8, row
    assert row["lost"] == 0 and row["load_lost"] == 0 and row["load_duplicated"] == 0, row
    assert row["unanswered"] == 0, row
    assert row["max_reply_delay_s"] is not None and row["max_reply_delay_s"] <= 60, row
    assert row["queue_intact"], row["queue_changes"]
    assert row["users_failed"] == 0, row
