"""The transition table and the one function that moves a conversation."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import events
from handoff.errors import AlreadyClaimed, ConversationNotFound, IllegalTransition, NotAssignee
from handoff.models import AgentRow, ConversationRow, StatusChangeRow
from handoff.status import TRANSITIONS, Status, allowed_targets, transition
from handoff.store import ConversationStore

pytestmark = pytest.mark.unit

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

EXPECTED = {
    ("bot", "queued"): events.HANDOFF_REQUESTED,
    ("queued", "assigned"): events.ASSIGNED,
    ("assigned", "assigned"): events.TRANSFERRED,
    ("assigned", "queued"): events.REQUEUED,
    ("assigned", "resolved"): events.RESOLVED,
    ("queued", "resolved"): events.RESOLVED,
    ("assigned", "bot"): events.HANDED_BACK,
    ("queued", "bot"): events.HANDED_BACK,
    ("resolved", "bot"): events.REOPENED,
}


@pytest.fixture(scope="module")
def db(tmp_path_factory, sqlite_engine):
    # One database for the module (each test uses its own conversation id): creating a
    # SQLite file and its tables per test would dominate the run time.
    engine = sqlite_engine(tmp_path_factory.mktemp("status") / "status.db")
    ConversationStore(engine).create_tables()
    with Session(engine, future=True) as s, s.begin():
        s.add_all(
            [
                AgentRow(id=1, email="a@x.io", password_hash="h", role="agent", display_name="A"),
                AgentRow(id=2, email="b@x.io", password_hash="h", role="agent", display_name="B"),
            ]
        )
    yield engine
    engine.dispose()


def make(engine, status: Status, assignee: int | None = None) -> str:
    cid = uuid.uuid4().hex
    with Session(engine, future=True) as s, s.begin():
        s.add(
            ConversationRow(
                id=cid,
                status=status.value,
                reason="old reason" if status is not Status.BOT else None,
                context={"old": True},
                user_metadata={},
                assignee_id=assignee if assignee else (1 if status is Status.ASSIGNED else None),
                queued_at=NOW if status in (Status.QUEUED, Status.ASSIGNED) else None,
            )
        )
    return cid


def row(engine, cid: str) -> ConversationRow:
    with Session(engine, future=True) as s:
        return s.get(ConversationRow, cid)


def audit(engine, cid: str) -> list[StatusChangeRow]:
    with Session(engine, future=True) as s:
        stmt = select(StatusChangeRow).where(StatusChangeRow.conversation_id == cid)
        return s.execute(stmt).scalars().all()


def test_table_is_exactly_the_designed_one():
    assert {(f.value, t.value): e for (f, t), e in TRANSITIONS.items()} == EXPECTED
    assert allowed_targets(Status.RESOLVED) == [Status.BOT]


@pytest.mark.parametrize(("frm", "to"), list(itertools.product(Status, Status)))
def test_every_pair_is_allowed_or_refused_by_the_table(db, frm: Status, to: Status):
    cid = make(db, frm)
    with Session(db, future=True) as s, s.begin():
        if (frm.value, to.value) in EXPECTED:
            # Moves out of `assigned` are made by its holder (agent 1), e.g. a transfer to 2.
            holder = 1 if frm is Status.ASSIGNED else None
            event = transition(
                s, cid, to, actor="agent:2", reason="why", assignee_id=2, context={"k": 1},
                only_assignee=holder, now=NOW,
            )
        else:
            with pytest.raises(IllegalTransition):
                transition(s, cid, to, actor="agent:2", assignee_id=2)
            event = None

    if event is None:
        assert row(db, cid).status == frm.value
        assert audit(db, cid) == []
        return
    assert event.name == EXPECTED[(frm.value, to.value)]
    assert event.conversation_id == cid
    assert event.data["from"] == frm.value and event.data["to"] == to.value
    assert event.data["actor"] == "agent:2"
    assert row(db, cid).status == to.value
    [change] = audit(db, cid)
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        frm.value,
        to.value,
        "agent:2",
        "why",
    )
    assert change.created_at == NOW


def test_queueing_records_reason_context_and_time(db):
    cid = make(db, Status.BOT)
    with Session(db, future=True) as s, s.begin():
        transition(
            s,
            cid,
            Status.QUEUED,
            actor="bot",
            reason="low_confidence",
            context={"hits": [1]},
            now=NOW,
        )
    r = row(db, cid)
    assert (r.reason, r.context, r.queued_at) == ("low_confidence", {"hits": [1]}, NOW)
    assert r.assignee_id is None


def test_claim_sets_assignee_and_hand_back_starts_a_fresh_bot_episode(db):
    cid = make(db, Status.QUEUED)
    with Session(db, future=True) as s, s.begin():
        event = transition(s, cid, Status.ASSIGNED, actor="agent:2", assignee_id=2)
    assert event.data["assignee_id"] == 2 and row(db, cid).assignee_id == 2
    with Session(db, future=True) as s, s.begin():
        transition(s, cid, Status.BOT, actor="agent:2")
    r = row(db, cid)
    assert (r.status, r.assignee_id, r.reason, r.queued_at) == ("bot", None, None, None)


def test_transfer_is_the_holders_move_and_never_a_second_claim(db):
    cid = make(db, Status.ASSIGNED, assignee=1)
    with Session(db, future=True) as s, s.begin(), pytest.raises(AlreadyClaimed):
        transition(s, cid, Status.ASSIGNED, actor="agent:2", assignee_id=2)
    with Session(db, future=True) as s, s.begin(), pytest.raises(NotAssignee):
        transition(s, cid, Status.ASSIGNED, actor="agent:2", assignee_id=2, only_assignee=2)
    with Session(db, future=True) as s, s.begin(), pytest.raises(IllegalTransition):
        transition(s, cid, Status.ASSIGNED, actor="agent:1", assignee_id=1, only_assignee=1)
    with Session(db, future=True) as s, s.begin():
        event = transition(
            s, cid, Status.ASSIGNED, actor="agent:1", assignee_id=2, only_assignee=1, now=NOW
        )
    assert event.name == events.TRANSFERRED
    assert (event.data["assignee_id"], event.data["previous_assignee_id"]) == (2, 1)
    r = row(db, cid)
    assert (r.status, r.assignee_id, r.assigned_at, r.agent_replied_at) == ("assigned", 2, NOW, None)
    assert [(a.from_status, a.to_status, a.actor) for a in audit(db, cid)] == [
        ("assigned", "assigned", "agent:1")
    ]


def test_unanswered_only_guards_the_assignment_timeout(db):
    cid = make(db, Status.ASSIGNED, assignee=1)
    with Session(db, future=True) as s, s.begin():
        s.get(ConversationRow, cid).agent_replied_at = NOW
    with Session(db, future=True) as s, s.begin(), pytest.raises(IllegalTransition):
        transition(s, cid, Status.QUEUED, actor="system", only_assignee=1, unanswered_only=True)
    assert row(db, cid).status == "assigned"
    fresh = make(db, Status.ASSIGNED, assignee=1)
    with Session(db, future=True) as s, s.begin():
        transition(s, fresh, Status.QUEUED, actor="system", only_assignee=1, unanswered_only=True)
    assert (row(db, fresh).status, row(db, fresh).assignee_id) == ("queued", None)


def test_queue_priority_is_set_when_queued_and_cleared_back_with_the_bot(db):
    cid = make(db, Status.BOT)
    with Session(db, future=True) as s, s.begin():
        transition(s, cid, Status.QUEUED, actor="bot", reason="vip", priority=5)
    assert row(db, cid).priority == 5
    with Session(db, future=True) as s, s.begin():
        transition(s, cid, Status.BOT, actor="agent:1")
    assert row(db, cid).priority == 0


def test_claim_needs_an_assignee(db):
    cid = make(db, Status.QUEUED)
    with Session(db, future=True) as s, s.begin(), pytest.raises(ValueError):
        transition(s, cid, Status.ASSIGNED, actor="agent:2")


def test_only_the_assignee_may_move_an_assigned_conversation(db):
    cid = make(db, Status.ASSIGNED, assignee=1)
    with Session(db, future=True) as s, s.begin(), pytest.raises(NotAssignee):
        transition(s, cid, Status.RESOLVED, actor="agent:2", only_assignee=2)
    assert row(db, cid).status == "assigned"
    with Session(db, future=True) as s, s.begin():
        transition(s, cid, Status.RESOLVED, actor="agent:1", only_assignee=1)
    assert row(db, cid).status == "resolved"


def test_unknown_conversation(db):
    with Session(db, future=True) as s, pytest.raises(ConversationNotFound):
        transition(s, "nope", Status.QUEUED, actor="bot")


def test_illegal_move_says_what_is_allowed(db):
    cid = make(db, Status.RESOLVED)
    with Session(db, future=True) as s, pytest.raises(IllegalTransition, match="can move to: bot"):
        transition(s, cid, Status.ASSIGNED, actor="agent:1", assignee_id=1)


def test_audit_row_rolls_back_with_the_transaction(db):
    cid = make(db, Status.BOT)
    with Session(db, future=True) as s:
        s.begin()
        transition(s, cid, Status.QUEUED, actor="bot", reason="x")
        s.rollback()
    assert row(db, cid).status == "bot" and audit(db, cid) == []


def test_fifty_concurrent_claims_exactly_one_wins(db):
    cid = make(db, Status.QUEUED)
    with Session(db, future=True) as s, s.begin():
        s.add_all(
            AgentRow(id=100 + i, email=f"c{i}@x.io", password_hash="h", display_name=f"C{i}")
            for i in range(50)
        )
    barrier = threading.Barrier(50)
    outcomes: list[object] = [None] * 50

    def claim(i: int) -> None:
        barrier.wait()
        try:
            with Session(db, future=True) as s, s.begin():
                transition(s, cid, Status.ASSIGNED, actor=f"agent:{100 + i}", assignee_id=100 + i)
            outcomes[i] = "won"
        except Exception as e:  # noqa: BLE001 - recorded and asserted below
            outcomes[i] = e

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    winners = [i for i, o in enumerate(outcomes) if o == "won"]
    losers = [o for o in outcomes if o != "won"]
    assert len(winners) == 1
    assert len(losers) == 49 and all(isinstance(o, AlreadyClaimed) for o in losers), losers
    assert row(db, cid).assignee_id == 100 + winners[0]
    assert [(a.from_status, a.to_status) for a in audit(db, cid)] == [("queued", "assigned")]
