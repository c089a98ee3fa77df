"""`tier1 bench load`, small, against the live stack: nothing lost, duplicated or unanswered,
and `GET /metrics` shows every stage of a turn, from the app, Rasa and the action server."""

from __future__ import annotations

import json
import re

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STAGES = [
    ("app", "gateway_store_ack"), ("app", "route_to_rasa"), ("app", "delivery"), ("app", "turn"),
    ("app", "kb_search"), ("app", "kb_embed"), ("app", "kb_rank"), ("app", "kb_describe"),
    ("rasa", "rasa_message"), ("rasa", "rasa_nlu"), ("rasa", "rasa_policies"),
    ("rasa", "rasa_tracker_load"), ("rasa", "rasa_tracker_save"), ("rasa", "rasa_action"),
    ("actions", "action_kb_search"),
]


def test_small_load_run_loses_nothing_and_metrics_show_every_stage(stack):
    run = stack.tier1("bench", "load", "--base", stack.url, "--users", "20", "--duration", "15",
                      "--json", "--no-progress")
    result = json.loads(run.stdout)
    assert run.returncode == 0, (run.stdout, run.stderr)
    expected = {"users", "messages_sent", "acknowledged", "replies", "lost", "duplicated",
                "unanswered", "with_agents", "late", "reconnects", "p50_ms", "p95_ms", "p99_ms",
                "msgs_per_s", "baseline_msgs_per_s", "kb_search_msgs_per_s",
                "ratio_to_kb_search"}
    assert expected <= set(result)
    assert result["users"] == 20 and result["messages_sent"] >= 20
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["errors"] == 0
    assert result["unanswered"] == 0, result
    assert result["acknowledged"] == result["messages_sent"] and result["reconnects"] == 0
    assert result["replies"] >= result["messages_sent"] > 0
    assert result["baseline_msgs_per_s"] > 0 and result["kb_search_msgs_per_s"] > 0
    assert result["ratio_to_kb_search"] > 0

    response = httpx.get(f"{stack.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert "# TYPE tier1_stage_seconds histogram" in body
    for process, stage in STAGES:
        found = re.search(
            rf'tier1_stage_seconds_count\{{process="{process}",stage="{stage}"\}} ([0-9.e+]+)',
            body,
        )
        assert found and float(found.group(1)) > 0, f"no {process}/{stage} observations"
    buckets = re.findall(
        r'tier1_stage_seconds_bucket\{le="([^"]+)",process="app",stage="turn"\} ', body
    )
    assert "0.5" in buckets and "+Inf" in buckets  # a histogram, not just a total
