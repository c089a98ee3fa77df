"""Read access to stored conversations for other packages: transcripts, not table classes.

The learning loop (`tier1.admin.learning`) finds what the bot failed at in the stored
conversations; it asks here instead of querying handoff's tables, so the schema stays
handoff's own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from handoff.models import MessageRow, StatusChangeRow
from handoff.status import Status


@dataclass(frozen=True)
class TranscriptMessage:
    """One stored message of a conversation."""

    id: int
    conversation_id: str
    sender: str
    text: str
    payload: Any
    created_at: datetime


@dataclass(frozen=True)
class HandoffRecord:
    """One move of a conversation to the queue, with its reason."""

    conversation_id: str
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class Transcripts:
    """Matching conversations: every message by conversation (oldest first) and their handoffs."""

    messages: dict[str, list[TranscriptMessage]] = field(default_factory=dict)
    handoffs: list[HandoffRecord] = field(default_factory=list)


def read_transcripts(
    engine: Engine,
    *,
    reasons: Collection[str],
    signal_texts: Collection[str] = (),
    payload_marker: str | None = None,
    since: datetime | None = None,
) -> Transcripts:
    """Read the conversations that were handed off, or that hold a signal message.

    Those are the conversations queued for one of ``reasons``, or holding a message whose text
    is one of ``signal_texts`` or whose payload contains ``payload_marker`` (each from ``since``
    on).

    Returns:
        every message of those conversations, and their handoffs for one of ``reasons``.
    """
    queued = Status.QUEUED.value
    reasons = list(reasons)
    with Session(engine, future=True) as s:
        handoffs = select(StatusChangeRow.conversation_id).where(
            StatusChangeRow.to_status == queued, StatusChangeRow.reason.in_(reasons)
        )
        matches = [MessageRow.text.in_(list(signal_texts))] if signal_texts else []
        if payload_marker:
            matches.append(cast(MessageRow.payload, String).like(f"%{payload_marker}%"))
        signals = select(MessageRow.conversation_id).where(or_(*matches)) if matches else None
        if since is not None:
            handoffs = handoffs.where(StatusChangeRow.created_at >= since)
            if signals is not None:
                signals = signals.where(MessageRow.created_at >= since)
        ids = set(s.execute(handoffs).scalars())
        if signals is not None:
            ids |= set(s.execute(signals).scalars())
        if not ids:
            return Transcripts()
        messages = s.execute(
            select(MessageRow)
            .where(MessageRow.conversation_id.in_(ids))
            .order_by(MessageRow.conversation_id, MessageRow.id)
        ).scalars().all()
        changes = s.execute(
            select(StatusChangeRow)
            .where(
                StatusChangeRow.conversation_id.in_(ids),
                StatusChangeRow.to_status == queued,
                StatusChangeRow.reason.in_(reasons),
            )
            .order_by(StatusChangeRow.id)
        ).scalars().all()
        found = Transcripts()
        for m in messages:
            found.messages.setdefault(m.conversation_id, []).append(
                TranscriptMessage(m.id, m.conversation_id, m.sender, m.text, m.payload, m.created_at)
            )
        found.handoffs.extend(HandoffRecord(c.conversation_id, c.reason, c.created_at) for c in changes)
        return found


__all__ = ["HandoffRecord", "TranscriptMessage", "Transcripts", "read_transcripts"]
