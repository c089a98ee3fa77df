"""Analytics against a seeded data set whose figures were counted by hand (analytics_seed)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine

from handoff.analytics import Analytics, InvalidRange
from tests.handoff.analytics_seed import EXPECTED, RANGE, seed
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('an') / 'a.db'}", future=True)
    seed(engine)
    yield Analytics(engine).report(*RANGE)
    engine.dispose()


def test_summary_figures_match_the_hand_count(report):
    got = report.to_dict()
    for key, value in EXPECTED.items():
        assert got[key] == value, key


def test_articles_count_answers_and_the_feedback_that_followed_them(report):
    by_id = {a.article_id: a for a in report.top_articles}
    assert (by_id[10].answers, by_id[10].helpful, by_id[10].not_helpful) == (2, 1, 1)
    assert (by_id[20].answers, by_id[20].helpful, by_id[20].not_helpful) == (2, 0, 1)
    assert by_id[20].title == "Article 20"


def test_agent_workload(report):
    by_email = {a.email: a for a in report.agents}
    ana, bo = by_email["ana@example.com"], by_email["bo@example.com"]
    assert (ana.conversations, ana.messages, ana.resolved, ana.csat_mean) == (2, 3, 2, 3.5)
    assert (bo.conversations, bo.messages, bo.resolved, bo.csat_mean) == (1, 1, 1, 4.0)
    assert ana.capacity == 3


def test_daily_series_covers_only_the_range(report):
    assert [d["day"] for d in report.daily] == [
        "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"]
    assert sum(d["conversations"] for d in report.daily) == 7
    assert sum(d["handed_off"] for d in report.daily) == 4


def test_a_narrower_range_counts_less(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}", future=True)
    seed(engine)
    r = Analytics(engine).report(datetime(2024, 3, 2, tzinfo=timezone.utc),
                                 datetime(2024, 3, 3, tzinfo=timezone.utc))
    assert (r.conversations, r.handed_off, r.handoffs_by_reason) == (1, 1, {"low_confidence": 1})
    assert r.median_first_reply_seconds == 120.0
    engine.dispose()


def test_csv_export_has_one_row_per_figure(report):
    rows = list(csv.reader(io.StringIO(report.to_csv())))
    assert rows[0] == ["section", "key", "value"]
    cells = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert cells[("summary", "conversations")] == "7"
    assert cells[("summary", "median_first_reply_seconds")] == "120.0"
    assert cells[("handoffs_by_reason", "low_confidence")] == "2"
    assert cells[("agent_resolved", "ana@example.com")] == "2"


def test_a_reversed_range_is_refused(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}", future=True)
    with pytest.raises(InvalidRange) as e:
        Analytics(engine).report(*reversed(RANGE))
    assert status_for(e.value) == 422
