"""`tier1 bench load`, small, against the live stack: nothing lost, nothing duplicated."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_small_load_run_loses_and_duplicates_nothing(stack):
    run = stack.tier1("bench", "load", "--base", stack.url, "--users", "5", "--duration", "10",
                      "--json", "--no-progress")
    result = json.loads(run.stdout)
    assert run.returncode == 0, (run.stdout, run.stderr)
    expected = {"users", "messages_sent", "acknowledged", "replies", "lost", "duplicated",
                "unanswered", "with_agents", "late", "reconnects", "p50_ms", "p95_ms", "p99_ms",
                "msgs_per_s", "baseline_msgs_per_s"}
    assert expected <= set(result)
    assert result["users"] == 5 and result["messages_sent"] >= 5
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["errors"] == 0
    assert result["acknowledged"] == result["messages_sent"] and result["reconnects"] == 0
    assert result["replies"] >= result["messages_sent"] - result["unanswered"] > 0
    assert result["baseline_msgs_per_s"] > 0
