"""Conversation status: the enum, the ONE transition table, and the ONE function that moves.

Every status change goes through `transition`: it checks the table, updates the row with a
conditional UPDATE (``WHERE id = :id AND status = :current``) so concurrent changes cannot
both win — across threads, processes and replicas — writes the audit row in the same
transaction, and returns the event the caller publishes after committing.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from handoff import events
from handoff.errors import AlreadyClaimed, ConversationNotFound, IllegalTransition, NotAssignee
from handoff.events import Event
from handoff.models import ConversationRow, StatusChangeRow, utcnow


class Status(str, Enum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


# (from, to) -> the event the move publishes. A pair missing here is an illegal move.
TRANSITIONS: dict[tuple[Status, Status], str] = {
    (Status.BOT, Status.QUEUED): events.HANDOFF_REQUESTED,
    (Status.QUEUED, Status.ASSIGNED): events.ASSIGNED,
    (Status.ASSIGNED, Status.QUEUED): events.REQUEUED,
    (Status.ASSIGNED, Status.RESOLVED): events.RESOLVED,
    (Status.QUEUED, Status.RESOLVED): events.RESOLVED,
    (Status.ASSIGNED, Status.BOT): events.HANDED_BACK,
    (Status.QUEUED, Status.BOT): events.HANDED_BACK,
    (Status.RESOLVED, Status.BOT): events.REOPENED,
}


def allowed_targets(current: Status) -> list[Status]:
    """The statuses ``current`` may move to, in table order."""
    return [to for (frm, to) in TRANSITIONS if frm == current]


def transition(
    session: Session,
    conversation_id: str,
    to: Status,
    *,
    actor: str,
    reason: str | None = None,
    context: dict[str, Any] | None = None,
    assignee_id: int | None = None,
    only_assignee: int | None = None,
    now: datetime | None = None,
) -> Event:
    """Move a conversation to ``to`` inside the caller's transaction and return its event.

    The caller commits, then publishes the event. Column effects by target: ``queued`` sets
    ``queued_at``, ``reason``, ``context`` (when given) and clears the assignee; ``assigned``
    sets ``assignee_id`` (required); ``bot`` starts a fresh bot episode (clears assignee,
    reason and ``queued_at``); ``resolved`` keeps them for the record.

    Args:
        session: an open session; nothing is committed here.
        conversation_id: the conversation to move.
        to: the target status.
        actor: who moved it, for the audit row (``"agent:3"``, ``"bot"``, ``"user"``, ...).
        reason: why (stored on the audit row; on the conversation when queueing).
        context: the bot's context for the agent (queueing only).
        assignee_id: the claiming agent (required when ``to`` is ``assigned``).
        only_assignee: if set and the conversation is assigned, only this agent may move it.
        now: the timestamp to record (tests); defaults to the current UTC time.

    Raises:
        ConversationNotFound: no such conversation.
        AlreadyClaimed: ``to`` is ``assigned`` and another claim got there first.
        NotAssignee: ``only_assignee`` is set and someone else holds the conversation.
        IllegalTransition: the table does not allow the move, or the status changed
            concurrently between the read and the update.
    """
    to = Status(to)
    row = session.execute(
        select(ConversationRow.status, ConversationRow.assignee_id).where(
            ConversationRow.id == conversation_id
        )
    ).one_or_none()
    if row is None:
        raise ConversationNotFound(f"No conversation has id {conversation_id!r}; check the id.")
    current = Status(row.status)
    if to is Status.ASSIGNED and current is Status.ASSIGNED:
        raise AlreadyClaimed()
    event_name = TRANSITIONS.get((current, to))
    if event_name is None:
        allowed = ", ".join(s.value for s in allowed_targets(current)) or "nothing"
        raise IllegalTransition(
            f"Conversation {conversation_id!r} is {current.value!r} and cannot move to "
            f"{to.value!r} (from {current.value!r} it can move to: {allowed}); reload it and retry."
        )
    if (
        only_assignee is not None
        and current is Status.ASSIGNED
        and row.assignee_id != only_assignee
    ):
        raise NotAssignee()

    now = now or utcnow()
    values: dict[str, Any] = {"status": to.value, "updated_at": now}
    if to is Status.QUEUED:
        values.update(queued_at=now, reason=reason, assignee_id=None)
        if context is not None:
            values["context"] = context
    elif to is Status.ASSIGNED:
        if assignee_id is None:
            raise ValueError("assignee_id is required to move a conversation to 'assigned'")
        values["assignee_id"] = assignee_id
    elif to is Status.BOT:
        values.update(assignee_id=None, queued_at=None, reason=None)

    stmt = (
        update(ConversationRow)
        .where(ConversationRow.id == conversation_id, ConversationRow.status == current.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if current is Status.ASSIGNED:
        # Guard the assignee too: a re-claim in between must not be resolved by the old one.
        stmt = stmt.where(ConversationRow.assignee_id == row.assignee_id)
    if session.execute(stmt).rowcount != 1:
        if to is Status.ASSIGNED:
            raise AlreadyClaimed()
        raise IllegalTransition(
            f"Conversation {conversation_id!r} changed while moving it to {to.value!r}; "
            "reload it and retry."
        )
    session.execute(
        insert(StatusChangeRow).values(
            conversation_id=conversation_id,
            from_status=current.value,
            to_status=to.value,
            actor=actor,
            reason=reason,
            created_at=now,
        )
    )
    data: dict[str, Any] = {"from": current.value, "to": to.value, "actor": actor, "reason": reason}
    if to is Status.ASSIGNED:
        data["assignee_id"] = assignee_id
    return Event(event_name, conversation_id, data)


__all__ = ["TRANSITIONS", "Status", "allowed_targets", "transition"]
