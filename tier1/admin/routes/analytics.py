"""Analytics for a date range, as JSON and CSV (``/api/admin/analytics``)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from datetime import date, datetime, time, timedelta, timezone

from fastapi import APIRouter, Response

from tier1.admin.deps import Admin, AnalyticsDep

router = APIRouter()


def _range(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """Whole UTC days: ``end`` is inclusive; the default is the last 30 days."""
    today = datetime.now(timezone.utc).date()
    end = end or today
    start = start or end - timedelta(days=29)
    return (
        datetime.combine(start, time.min, tzinfo=timezone.utc),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc),
    )


@router.get(
    "/analytics",
    summary="Conversations, automated resolution, handoffs, CSAT, first reply, articles, "
    "agents for a date range",
    description="Automated resolution rate: the share of conversations that ended without "
    "a handoff and without 'Not helpful' feedback. Days are UTC; `end` is inclusive; "
    "default: the last 30 days.",
)
def report(
    _: Admin, analytics: AnalyticsDep, start: date | None = None, end: date | None = None
) -> dict:
    return analytics.report(*_range(start, end)).to_dict()


@router.get(
    "/analytics.csv",
    summary="The same figures as CSV (section,key,value)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def report_csv(
    _: Admin, analytics: AnalyticsDep, start: date | None = None, end: date | None = None
) -> Response:
    lo, hi = _range(start, end)
    name = f"tier1-analytics-{lo.date()}-{(hi - timedelta(days=1)).date()}.csv"
    return Response(
        analytics.report(lo, hi).to_csv(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


__all__ = ["router"]
