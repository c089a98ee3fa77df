"""How well the bot and the team do: SQL aggregates over the stored conversations.

Every figure covers the conversations *created* in a date range ``[start, end)``:

- ``conversations``: how many;
- ``automated_resolution_rate``: the share that ended without a handoff and without any
  "not helpful" feedback (the bot handled them on its own);
- ``handoff_rate`` and ``handoffs_by_reason``: conversations queued for a person at least once,
  overall and per reason (a conversation counts once per reason);
- ``csat``: ratings given (1..5; thumbs are 1 or 5), their mean and the share of 4-5;
- ``median_first_reply_seconds``: from a conversation's first queueing to the first agent
  message after it (handed-off conversations an agent answered);
- ``top_articles``: articles the bot answered with, with the "Helpful" / "Not helpful"
  feedback that followed each answer;
- ``agents``: per agent, conversations answered, messages sent, resolves and mean CSAT.

Counting happens in SQL (portable between SQLite and PostgreSQL: JSON paths through
SQLAlchemy's generic ``JSON`` type); only the median is taken in Python, because SQLite has
no percentile function.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import String, and_, case, cast, distinct, exists, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from handoff.errors import HandoffError
from handoff.models import AgentRow, ConversationRow, CsatRow, MessageRow, StatusChangeRow


class InvalidRange(HandoffError):
    """The report's date range is empty or reversed."""

    def __init__(self, start: datetime, end: datetime) -> None:
        super().__init__(
            f"The date range is empty or reversed ({start.isoformat()} .. {end.isoformat()}): "
            "pass a start before the end, both as ISO dates."
        )


@dataclass
class ArticleStats:
    """How often the bot answered with an article, and the feedback that followed."""

    article_id: int
    title: str | None
    answers: int
    helpful: int = 0
    not_helpful: int = 0


@dataclass
class AgentStats:
    """One agent's figures: conversations answered, messages sent, resolves, mean CSAT."""

    agent_id: int
    display_name: str
    email: str
    role: str
    capacity: int | None
    conversations: int = 0
    messages: int = 0
    resolved: int = 0
    csat_mean: float | None = None


@dataclass
class Report:
    """Every figure for the conversations created in ``[start, end)`` (see the module)."""

    start: datetime
    end: datetime
    conversations: int
    automated: int
    automated_resolution_rate: float | None
    handed_off: int
    handoff_rate: float | None
    handoffs_by_reason: dict[str, int]
    not_helpful_conversations: int
    csat_count: int
    csat_mean: float | None
    csat_satisfied_rate: float | None
    median_first_reply_seconds: float | None
    first_replies: int
    top_articles: list[ArticleStats] = field(default_factory=list)
    agents: list[AgentStats] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (dates as ISO strings)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data

    def to_csv(self) -> str:
        """One ``section,key,value`` row per figure (a spreadsheet pivots it as needed)."""
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["section", "key", "value"])
        w.writerow(["range", "start", self.start.isoformat()])
        w.writerow(["range", "end", self.end.isoformat()])
        for key in ("conversations", "automated", "automated_resolution_rate", "handed_off",
                    "handoff_rate", "not_helpful_conversations", "csat_count", "csat_mean",
                    "csat_satisfied_rate", "median_first_reply_seconds", "first_replies"):
            w.writerow(["summary", key, _cell(getattr(self, key))])
        for reason, n in self.handoffs_by_reason.items():
            w.writerow(["handoffs_by_reason", reason, n])
        for day in self.daily:
            w.writerow(["daily_conversations", day["day"], day["conversations"]])
            w.writerow(["daily_handoffs", day["day"], day["handed_off"]])
        for a in self.top_articles:
            for k in ("answers", "helpful", "not_helpful"):
                w.writerow([f"article_{k}", f"{a.article_id} {a.title or ''}".strip(), getattr(a, k)])
        for g in self.agents:
            for k in ("conversations", "messages", "resolved", "csat_mean"):
                w.writerow([f"agent_{k}", g.email, _cell(getattr(g, k))])
        return out.getvalue()


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Analytics:
    """Computes a `Report` from the handoff tables.

    Args:
        engine: the database holding the handoff tables.
        helpful_payload / not_helpful_payload: what the widget sends for the feedback buttons
            (``handoff.widget.feedback_*_payload``).
        top_articles: how many articles the report lists.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        helpful_payload: str = "/feedback_helpful",
        not_helpful_payload: str = "/feedback_not_helpful",
        top_articles: int = 10,
    ) -> None:
        self._engine = engine
        self._helpful = helpful_payload
        self._not_helpful = not_helpful_payload
        self._top = top_articles

    def report(self, start: datetime, end: datetime) -> Report:
        """The figures for conversations created in ``[start, end)`` (tz-aware datetimes).

        Raises:
            InvalidRange: ``start`` is not before ``end``.
        """
        if start >= end:
            raise InvalidRange(start, end)
        c = ConversationRow
        in_range = and_(c.created_at >= start, c.created_at < end)
        handed = exists().where(
            StatusChangeRow.conversation_id == c.id, StatusChangeRow.to_status == "queued"
        )
        unhelpful = exists().where(
            MessageRow.conversation_id == c.id,
            MessageRow.sender == "user",
            MessageRow.text == self._not_helpful,
        )
        with Session(self._engine, future=True) as s:
            total, handed_off, not_helpful, automated = s.execute(
                select(
                    func.count(c.id),
                    func.coalesce(func.sum(case((handed, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((unhelpful, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((and_(~handed, ~unhelpful), 1), else_=0)), 0),
                ).where(in_range)
            ).one()
            by_reason = dict(
                s.execute(
                    select(
                        func.coalesce(StatusChangeRow.reason, "unknown"),
                        func.count(distinct(StatusChangeRow.conversation_id)),
                    )
                    .join(c, c.id == StatusChangeRow.conversation_id)
                    .where(in_range, StatusChangeRow.to_status == "queued")
                    .group_by(func.coalesce(StatusChangeRow.reason, "unknown"))
                    .order_by(func.count(distinct(StatusChangeRow.conversation_id)).desc())
                ).all()
            )
            csat_count, csat_mean, satisfied = s.execute(
                select(
                    func.count(CsatRow.id),
                    func.avg(CsatRow.rating),
                    func.coalesce(func.sum(case((CsatRow.rating >= 4, 1), else_=0)), 0),
                )
                .join(c, c.id == CsatRow.conversation_id)
                .where(in_range)
            ).one()
            waits = self._first_reply_waits(s, in_range)
            daily = self._daily(s, in_range, handed)
            articles = self._articles(s, in_range)
            agents = self._agents(s, in_range)
        return Report(
            start=start,
            end=end,
            conversations=int(total),
            automated=int(automated),
            automated_resolution_rate=_rate(int(automated), int(total)),
            handed_off=int(handed_off),
            handoff_rate=_rate(int(handed_off), int(total)),
            handoffs_by_reason={str(k): int(v) for k, v in by_reason.items()},
            not_helpful_conversations=int(not_helpful),
            csat_count=int(csat_count),
            csat_mean=round(float(csat_mean), 3) if csat_mean is not None else None,
            csat_satisfied_rate=_rate(int(satisfied), int(csat_count)),
            median_first_reply_seconds=(
                round(statistics.median(waits), 3) if waits else None
            ),
            first_replies=len(waits),
            top_articles=articles,
            agents=agents,
            daily=daily,
        )

    def _first_reply_waits(self, s: Session, in_range) -> list[float]:
        c = ConversationRow
        queued = (
            select(
                StatusChangeRow.conversation_id.label("cid"),
                func.min(StatusChangeRow.created_at).label("queued_at"),
            )
            .join(c, c.id == StatusChangeRow.conversation_id)
            .where(in_range, StatusChangeRow.to_status == "queued")
            .group_by(StatusChangeRow.conversation_id)
            .subquery()
        )
        rows = s.execute(
            select(queued.c.queued_at, func.min(MessageRow.created_at))
            .join(MessageRow, MessageRow.conversation_id == queued.c.cid)
            .where(MessageRow.sender == "agent", MessageRow.created_at >= queued.c.queued_at)
            .group_by(queued.c.cid, queued.c.queued_at)
        ).all()
        out = []
        for queued_at, replied_at in rows:
            # SQLite hands aggregates back as strings or naive datetimes: normalise both.
            q, r = _as_datetime(queued_at), _as_datetime(replied_at)
            out.append((r - q).total_seconds())
        return sorted(out)

    def _daily(self, s: Session, in_range, handed) -> list[dict[str, Any]]:
        c = ConversationRow
        day = func.substr(cast(c.created_at, String), 1, 10)
        rows = s.execute(
            select(day, func.count(c.id), func.coalesce(func.sum(case((handed, 1), else_=0)), 0))
            .where(in_range)
            .group_by(day)
            .order_by(day)
        ).all()
        return [{"day": d, "conversations": int(n), "handed_off": int(h)} for d, n, h in rows]

    def _articles(self, s: Session, in_range) -> list[ArticleStats]:
        c = ConversationRow
        answer = aliased(MessageRow)
        answer_article = _source_article_id(answer)
        answers = {
            int(a): (int(n), t)
            for a, n, t in s.execute(
                select(answer_article, func.count(answer.id), func.max(_source_title(answer)))
                .join(c, c.id == answer.conversation_id)
                .where(in_range, answer.sender == "bot", answer_article.isnot(None))
                .group_by(answer_article)
            ).all()
        }
        # Each feedback click belongs to the latest answer with a source before it.
        fb = aliased(MessageRow)
        src = aliased(MessageRow)
        last_source = (
            select(func.max(src.id))
            .where(
                src.conversation_id == fb.conversation_id,
                src.id < fb.id,
                src.sender == "bot",
                _source_article_id(src).isnot(None),
            )
            .scalar_subquery()
        )
        target = aliased(MessageRow)
        target_article = _source_article_id(target)
        feedback = s.execute(
            select(
                target_article,
                func.coalesce(func.sum(case((fb.text == self._helpful, 1), else_=0)), 0),
                func.coalesce(func.sum(case((fb.text == self._not_helpful, 1), else_=0)), 0),
            )
            .select_from(fb)
            .join(c, c.id == fb.conversation_id)
            .join(target, target.id == last_source)
            .where(in_range, fb.sender == "user", fb.text.in_([self._helpful, self._not_helpful]))
            .group_by(target_article)
        ).all()
        stats = {a: ArticleStats(a, t, n) for a, (n, t) in answers.items()}
        for article_id, helpful, unhelpful in feedback:
            entry = stats.setdefault(int(article_id), ArticleStats(int(article_id), None, 0))
            entry.helpful, entry.not_helpful = int(helpful), int(unhelpful)
        ranked = sorted(stats.values(), key=lambda a: (-a.answers, a.article_id))
        return ranked[: self._top]

    def _agents(self, s: Session, in_range) -> list[AgentStats]:
        c = ConversationRow
        agents = {
            a.id: AgentStats(a.id, a.display_name, a.email, a.role, a.capacity)
            for a in s.execute(select(AgentRow).order_by(AgentRow.id)).scalars()
        }
        for agent_id, convs, msgs in s.execute(
            select(
                MessageRow.agent_id,
                func.count(distinct(MessageRow.conversation_id)),
                func.count(MessageRow.id),
            )
            .join(c, c.id == MessageRow.conversation_id)
            .where(in_range, MessageRow.sender == "agent", MessageRow.agent_id.isnot(None))
            .group_by(MessageRow.agent_id)
        ).all():
            if agent_id in agents:
                agents[agent_id].conversations, agents[agent_id].messages = int(convs), int(msgs)
        for actor, n in s.execute(
            select(StatusChangeRow.actor, func.count(StatusChangeRow.id))
            .join(c, c.id == StatusChangeRow.conversation_id)
            .where(in_range, StatusChangeRow.to_status == "resolved",
                   StatusChangeRow.actor.like("agent:%"))
            .group_by(StatusChangeRow.actor)
        ).all():
            agent_id = _agent_id(actor)
            if agent_id in agents:
                agents[agent_id].resolved = int(n)
        for agent_id, mean in s.execute(
            select(CsatRow.agent_id, func.avg(CsatRow.rating))
            .join(c, c.id == CsatRow.conversation_id)
            .where(in_range, CsatRow.agent_id.isnot(None))
            .group_by(CsatRow.agent_id)
        ).all():
            if agent_id in agents:
                agents[agent_id].csat_mean = round(float(mean), 3)
        return sorted(agents.values(), key=lambda a: (-a.conversations, a.agent_id))


def _source_article_id(m):
    return func.coalesce(
        m.payload[("custom", "source", "article_id")].as_integer(),
        m.payload[("source", "article_id")].as_integer(),
    )


def _source_title(m):
    return func.coalesce(
        m.payload[("custom", "source", "title")].as_string(),
        m.payload[("source", "title")].as_string(),
    )


def _agent_id(actor: str) -> int | None:
    try:
        return int(actor.split(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


__all__ = ["AgentStats", "Analytics", "ArticleStats", "InvalidRange", "Report"]
