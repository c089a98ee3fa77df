"""A small, hand-countable set of conversations whose analytics figures are known.

Used by tests/handoff/test_analytics.py, the admin API tests and the admin console's browser
test. The expected figures are in ``EXPECTED``; each conversation says what it contributes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from handoff.models import AgentRow, Base, ConversationRow, CsatRow, MessageRow, StatusChangeRow

DAY = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
RANGE = (datetime(2024, 3, 1, tzinfo=timezone.utc), datetime(2024, 3, 8, tzinfo=timezone.utc))
HELPFUL, NOT_HELPFUL = "/feedback_helpful", "/feedback_not_helpful"
FEEDBACK_BUTTONS = {"buttons": [{"title": "Yes", "payload": HELPFUL},
                                {"title": "No", "payload": NOT_HELPFUL}]}

EXPECTED = {
    "conversations": 7,
    "automated": 2,
    "automated_resolution_rate": round(2 / 7, 4),
    "handed_off": 4,
    "handoff_rate": round(4 / 7, 4),
    "handoffs_by_reason": {"low_confidence": 2, "negative_feedback": 1, "user_request": 1},
    "not_helpful_conversations": 2,
    "csat_count": 3,
    "csat_mean": round(11 / 3, 3),
    "csat_satisfied_rate": round(2 / 3, 4),
    "median_first_reply_seconds": 120.0,
    "first_replies": 3,
}


def seed(engine: Engine, article_ids: tuple[int, int] = (10, 20)) -> None:
    """Insert the seeded conversations (the tables are created if missing)."""
    a10, a20 = article_ids
    Base.metadata.create_all(engine)
    with Session(engine, future=True) as s, s.begin():
        ana = AgentRow(email="ana@example.com", password_hash="x", role="agent",
                       display_name="Ana", capacity=3)
        bo = AgentRow(email="bo@example.com", password_hash="x", role="admin", display_name="Bo")
        s.add_all([ana, bo])
        s.flush()

        def conv(cid: str, day: int, status: str = "bot") -> datetime:
            t0 = DAY + timedelta(days=day)
            s.add(ConversationRow(id=cid, status=status, created_at=t0, updated_at=t0))
            s.flush()
            return t0

        def msg(cid: str, t: datetime, sender: str, text: str, payload=None, agent=None) -> None:
            s.add(MessageRow(conversation_id=cid, sender=sender, text=text, payload=payload,
                             agent_id=agent.id if agent else None, created_at=t))
            s.flush()

        def answer(cid: str, t: datetime, article: int, single: bool = False) -> None:
            source = {"source": {"article_id": article, "title": f"Article {article}", "url": None}}
            if single:  # one message carrying its source
                msg(cid, t, "bot", f"answer {article}", {"custom": source})
            else:  # Rasa's REST shape: the text, then a separate custom message with the source
                msg(cid, t, "bot", f"answer {article}")
                msg(cid, t, "bot", "", {"custom": source})
            msg(cid, t, "bot", "Did this help?", FEEDBACK_BUTTONS)

        def change(cid: str, t: datetime, frm: str, to: str, actor: str, reason=None) -> None:
            s.add(StatusChangeRow(conversation_id=cid, from_status=frm, to_status=to,
                                  actor=actor, reason=reason, created_at=t))

        # c1: answered (article 10), helpful -> automated.
        t = conv("c1", 0)
        msg("c1", t, "user", "how do I reset my password")
        answer("c1", t + timedelta(seconds=1), a10)
        msg("c1", t + timedelta(seconds=5), "user", HELPFUL)
        # c2: answered (10), not helpful, negative_feedback handoff, Ana replies after 60 s.
        t = conv("c2", 0, "resolved")
        msg("c2", t, "user", "my invoice shows the wrong address")
        answer("c2", t + timedelta(seconds=1), a10)
        msg("c2", t + timedelta(seconds=5), "user", NOT_HELPFUL)
        change("c2", t + timedelta(seconds=6), "bot", "queued", "bot", "negative_feedback")
        change("c2", t + timedelta(seconds=30), "queued", "assigned", f"agent:{ana.id}")
        msg("c2", t + timedelta(seconds=66), "agent", "I fixed the address.", agent=ana)
        change("c2", t + timedelta(seconds=90), "assigned", "resolved", f"agent:{ana.id}")
        s.add(CsatRow(conversation_id="c2", rating=5, scale="five", agent_id=ana.id,
                      created_at=t + timedelta(seconds=100)))
        # c3: low confidence handoff, Ana replies after 120 s (twice), CSAT 2.
        t = conv("c3", 1, "resolved")
        msg("c3", t, "user", "can I pay with bitcoin")
        change("c3", t + timedelta(seconds=1), "bot", "queued", "bot", "low_confidence")
        msg("c3", t + timedelta(seconds=121), "agent", "We accept cards and PayPal only.", agent=ana)
        msg("c3", t + timedelta(seconds=130), "agent", "Anything else?", agent=ana)
        change("c3", t + timedelta(seconds=200), "assigned", "resolved", f"agent:{ana.id}")
        s.add(CsatRow(conversation_id="c3", rating=2, scale="five", agent_id=ana.id,
                      created_at=t + timedelta(seconds=210)))
        # c4: the user asked for a person; Bo replies after 300 s, CSAT 4.
        t = conv("c4", 2, "resolved")
        msg("c4", t, "user", "/request_human")
        change("c4", t + timedelta(seconds=1), "bot", "queued", "bot", "user_request")
        msg("c4", t + timedelta(seconds=301), "agent", "Hi, Bo here.", agent=bo)
        change("c4", t + timedelta(seconds=400), "assigned", "resolved", f"agent:{bo.id}")
        s.add(CsatRow(conversation_id="c4", rating=4, scale="five", agent_id=bo.id,
                      created_at=t + timedelta(seconds=410)))
        # c5: answered (20, one message with its source), not helpful, no handoff.
        t = conv("c5", 3)
        msg("c5", t, "user", "where is my parcel")
        answer("c5", t + timedelta(seconds=1), a20, single=True)
        msg("c5", t + timedelta(seconds=5), "user", NOT_HELPFUL)
        # c6: answered (20), no feedback -> automated.
        t = conv("c6", 3)
        msg("c6", t, "user", "delivery times to Norway")
        answer("c6", t + timedelta(seconds=1), a20)
        # c7: before the range (not counted).
        t = DAY - timedelta(days=10)
        s.add(ConversationRow(id="c7", status="queued", created_at=t, updated_at=t))
        s.flush()
        msg("c7", t, "user", "can I pay in bitcoin please")
        change("c7", t + timedelta(seconds=1), "bot", "queued", "bot", "low_confidence")
        # c8: low confidence handoff nobody answered yet.
        t = conv("c8", 4, "queued")
        msg("c8", t, "user", "is there a student discount")
        change("c8", t + timedelta(seconds=1), "bot", "queued", "bot", "low_confidence")
