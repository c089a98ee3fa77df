"""The fault drill's verdicts, read from a real (SQLite) handoff database, and its command line.

The drills themselves run the production topology (`tier1 bench faults`; the CI runs the
action-server scenario in tests/e2e/test_faults.py); here the checks that decide "lost" and
"unanswered" are pinned on hand-made conversations.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from handoff.models import Base, ConversationRow, MessageRow, StatusChangeRow
from tier1.bench.faults.checks import check_database, timeout_requeues, with_agents
from tier1.bench.faults.drill import table
from tier1.bench.faults.topology import Target
from tier1.cli import main

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def target(tmp_path: Path) -> Target:
    url = f"sqlite:///{tmp_path / 'drill.db'}"
    engine = create_engine(url, future=True)
    Base.metadata.create_all(engine)
    config = tmp_path / "config.yml"
    config.write_text("handoff:\n  unavailable_message: Sorry, connecting you to a person.\n")
    return Target(bases=["http://127.0.0.1:1"], database_url=url, supervisor_socket=tmp_path,
                  health={}, config=config, env={}, engine=engine)


def _conversation(target: Target, cid: str, status: str = "bot", messages=(), queued_at=None):
    with target.db().begin() as conn:
        conn.execute(insert(ConversationRow).values(id=cid, status=status, created_at=T0,
                                                    updated_at=T0, context={}, user_metadata={}))
        for mid, sender, client_id, text, seconds in messages:
            conn.execute(insert(MessageRow).values(id=mid, conversation_id=cid, sender=sender,
                                                   client_id=client_id, text=text,
                                                   created_at=_at(seconds)))
        if queued_at is not None:
            conn.execute(insert(StatusChangeRow).values(conversation_id=cid, from_status="bot",
                                                        to_status="queued", actor="bot",
                                                        created_at=_at(queued_at)))


def _ack(cid: str, mid: int, client_id: str) -> dict:
    return {"conversation": cid, "message_id": mid, "client_id": client_id}


def test_a_stored_and_answered_message_passes(target):
    _conversation(target, "c1", messages=[(1, "user", "u1", "hi", 0), (2, "bot", None, "hello", 1)])

    check = check_database(target, [_ack("c1", 1, "u1")], recovered_at=T0, bound=30)

    assert (check["lost"], check["unanswered"], check["max_reply_delay_s"]) == (0, 0, 1.0)


def test_an_acknowledged_message_missing_from_the_database_is_lost(target):
    _conversation(target, "c1", messages=[(1, "user", "u1", "hi", 0), (2, "bot", None, "hello", 1)])

    check = check_database(target, [_ack("c1", 1, "u1"), _ack("c1", 7, "u2")], T0, bound=30)

    assert check["lost"] == 1 and check["acknowledged"] == 2


def test_a_reply_later_than_the_bound_after_recovery_is_unanswered(target):
    _conversation(target, "c1", messages=[(1, "user", "u1", "hi", 0), (2, "bot", None, "late", 100)])
    _conversation(target, "c2", messages=[(3, "user", "u3", "hi", 0)])

    check = check_database(target, [_ack("c1", 1, "u1"), _ack("c2", 3, "u3")],
                           recovered_at=_at(50), bound=30)

    # c1: 50 s after the recovery (> 30); c2: never answered.
    assert check["unanswered"] == 2 and check["unanswered_message_ids"] == [1, 3]


def test_the_bound_counts_from_the_recovery_not_from_the_message(target):
    _conversation(target, "c1", messages=[(1, "user", "u1", "hi", 0), (2, "bot", None, "ok", 70)])

    check = check_database(target, [_ack("c1", 1, "u1")], recovered_at=_at(60), bound=30)

    assert check["unanswered"] == 0 and check["max_reply_delay_s"] == 10.0


def test_a_message_written_while_with_the_agents_is_answered_by_the_handoff_notice(target):
    _conversation(target, "c1", status="queued", queued_at=5,
                  messages=[(1, "user", "u1", "person please", 0),
                            (2, "system", None, "Connecting you", 5),
                            (3, "user", "u3", "still there?", 20)])

    check = check_database(target, [_ack("c1", 1, "u1"), _ack("c1", 3, "u3")], T0, bound=30)

    assert check["unanswered"] == 0 and check["answered_by_handoff_notice"] == 1


def test_the_apology_is_counted(target):
    _conversation(target, "c1", messages=[(1, "user", "u1", "hi", 0),
                                          (2, "bot", None, "Sorry, connecting you to a person.", 2)])

    check = check_database(target, [_ack("c1", 1, "u1")], T0, bound=30)

    assert check["apologised"] == 1 and check["unanswered"] == 0


def test_with_agents_lists_queued_and_assigned_conversations_only(target):
    _conversation(target, "bot-one")
    _conversation(target, "queued-one", status="queued")

    assert with_agents(target) == {"queued-one": ("queued", None)}


def _change(target: Target, cid: str, from_status: str, to_status: str, actor: str, seconds: float):
    with target.db().begin() as conn:
        conn.execute(insert(StatusChangeRow).values(conversation_id=cid, from_status=from_status,
                                                    to_status=to_status, actor=actor,
                                                    created_at=_at(seconds)))


def test_timeout_requeues_are_the_systems_assigned_to_queued_moves_since_the_snapshot(target):
    _conversation(target, "timed-out", status="queued")
    _change(target, "timed-out", "assigned", "queued", "system", 30)
    _conversation(target, "released-by-agent", status="queued")
    _change(target, "released-by-agent", "assigned", "queued", "agent:7", 30)
    _conversation(target, "timed-out-earlier", status="queued")
    _change(target, "timed-out-earlier", "assigned", "queued", "system", -30)
    _conversation(target, "handed-off-by-recovery", status="queued")
    _change(target, "handed-off-by-recovery", "bot", "queued", "system", 30)

    assert timeout_requeues(target, _at(0)) == {"timed-out"}


def test_table_marks_a_failed_scenario():
    row = {"scenario": "rasa", "recovered_s": 13.0, "sent": 572, "acknowledged": 572, "lost": 0,
           "load_lost": 0, "unanswered": 1, "load_unanswered": 0, "apologised": 2,
           "load_with_agents": 3, "max_reply_delay_s": 95.0, "queue_intact": True,
           "queue_before": 4, "reconnects": 0, "load_duplicated": 0, "passed": False}

    lines = table([row]).splitlines()

    assert len(lines) == 3 and lines[2].startswith("| rasa | 13.0 | 572 | 572 | 0 / 0 | 1 / 0 |")
    assert lines[2].endswith("| NO |")


def test_an_unknown_scenario_is_refused_by_name(capsys):
    assert main(["bench", "faults", "--scenarios", "rasa,meteor"]) == 2
    err = capsys.readouterr().err
    assert "meteor" in err and "rasa, actions, replica, database, redis" in err


def test_a_missing_config_is_refused_before_anything_starts(tmp_path, capsys):
    missing = tmp_path / "nope.yml"
    assert main(["--config", str(missing), "bench", "faults", "--scenarios", "actions"]) == 2
    assert str(missing) in capsys.readouterr().err
