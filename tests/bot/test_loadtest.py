"""`tier1 bench load`: its arithmetic (a live run is in tests/e2e/test_load.py)."""

from __future__ import annotations

import json

import pytest

from bot.loadtest import _percentile, known_questions, parse_mix, report
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.unit
def test_mix_is_parsed_and_checked():
    assert parse_mix("known=0.7,unknown=0.2,person=0.1") == {"known": 0.7, "unknown": 0.2, "person": 0.1}
    with pytest.raises(ValueError, match="unknown kind 'agent'"):
        parse_mix("known=1,agent=1")
    with pytest.raises(ValueError, match="not all 0"):
        parse_mix("known=0")


@pytest.mark.unit
def test_percentiles_interpolate():
    assert _percentile([], 50) is None
    assert _percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert _percentile([float(i) for i in range(101)], 99) == 99.0


@pytest.mark.unit
def test_known_questions_come_from_the_demo_kb():
    questions = known_questions(ROOT / "knowledge_base/demo/articles.yml")
    assert len(questions) > 50 and "I forgot my password" in questions


@pytest.mark.unit
def test_report_names_every_figure():
    text = report({"users": 5, "duration_s": 10, "messages_sent": 9, "replies": 8, "unanswered": 1,
                   "lost": 0, "duplicated": 0, "errors": 0, "p50_ms": 500, "p95_ms": 900,
                   "p99_ms": 990, "msgs_per_s": 0.8, "baseline_msgs_per_s": 1.0,
                   "baseline_p50_ms": 300, "ratio": 0.8})
    for part in ("unanswered 1", "p95 900", "0.8 replied msgs/s", "ratio 0.8"):
        assert part in text
