"""handoff.transcripts: what other packages read of the stored conversations (no table classes)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from handoff.records import NewMessage
from handoff.status import Status, transition
from handoff.store import ConversationStore
from handoff.transcripts import read_transcripts

pytestmark = pytest.mark.unit


def conversation(store: ConversationStore, *messages: NewMessage) -> str:
    cid = store.open_conversation(None, {}).id
    store.add_messages(cid, messages)
    return cid


def test_reads_handed_off_and_signalled_conversations_only(engine):
    store = ConversationStore(engine)
    handed_off = conversation(store, NewMessage("user", "where is my parcel"))
    with Session(engine, future=True) as s, s.begin():
        transition(s, handed_off, Status.QUEUED, actor="bot", reason="low_confidence")
    not_helpful = conversation(store, NewMessage("user", "refund?"), NewMessage("user", "/no"))
    offered = conversation(
        store,
        NewMessage("user", "hi"),
        NewMessage("bot", "Did you mean", payload={"buttons": [{"payload": "/none"}]}),
    )
    conversation(store, NewMessage("user", "thanks"))  # nothing to learn from

    found = read_transcripts(
        engine, reasons=["low_confidence"], signal_texts=["/no"], payload_marker="/none"
    )

    assert set(found.messages) == {handed_off, not_helpful, offered}
    assert [m.text for m in found.messages[not_helpful]] == ["refund?", "/no"]
    assert found.messages[offered][1].payload == {"buttons": [{"payload": "/none"}]}
    assert [(h.conversation_id, h.reason) for h in found.handoffs] == [
        (handed_off, "low_confidence")
    ]
    other_reason = read_transcripts(engine, reasons=["user_request"])
    assert other_reason.messages == {} and other_reason.handoffs == []
