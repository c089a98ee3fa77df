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
    """A conversation's status: with the bot, queued for a person, with an agent, resolved."""

    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


# (from, to) -> the event the move publishes. A pair missing here is an illegal move.
TRANSITIONS: dict[tuple[Status, Status], str] = {
    (Status.BOT, Status.QUEUED): events.HANDOFF_REQUESTED,
    (Status.QUEUED, Status.ASSIGNED): events.ASSIGNED,
    # A transfer from the holder to another agent (never a second claim: see `transition`).
    (Status.ASSIGNED, Status.ASSIGNED): events.TRANSFERRED,
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
    priority: int | None = None,
    unanswered_only: bool = False,
    now: datetime | None = None,
) -> Event:
    """Move a conversation to ``to`` inside the caller's transaction and return its event.

    The caller commits, then publishes the event. Column effects by target: ``queued`` sets
    ``queued_at``, ``reason``, ``context`` and ``priority`` (when given) and clears the
    assignee; ``assigned`` sets ``assignee_id`` (required) and ``assigned_at`` and clears
    ``agent_replied_at``; ``bot`` starts a fresh bot episode (clears assignee, reason,
    priority and ``queued_at``); ``resolved`` keeps them for the record.

    ``assigned -> assigned`` is a transfer: only the holder may do it (``only_assignee``
    must be set); without ``only_assignee`` it is a second claim and raises `AlreadyClaimed`.

    Args:
        session: an open session; nothing is committed here.
        conversation_id: the conversation to move.
        to: the target status.
        actor: who moved it, for the audit row (``"agent:3"``, ``"bot"``, ``"user"``, ...).
        reason: why (stored on the audit row; on the conversation when queueing).
        context: the bot's context for the agent (queueing only).
        assignee_id: the claiming agent (required when ``to`` is ``assigned``).
        only_assignee: if set and the conversation is assigned, only this agent may move it.
        priority: the queue priority (queueing only; higher is served first).
        unanswered_only: move only if the assignee has not replied yet (assignment timeout);
            otherwise `IllegalTransition`.
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
        select(
            ConversationRow.status, ConversationRow.assignee_id, ConversationRow.agent_replied_at
        ).where(
            ConversationRow.id == conversation_id
        )
    ).one_or_none()
    if row is None:
        raise ConversationNotFound(f"No conversation has id {conversation_id!r}; check the id.")
    current = Status(row.status)
    event_name = _checked_move(
        conversation_id, current, to, row,
        assignee_id=assignee_id, only_assignee=only_assignee, unanswered_only=unanswered_only,
    )
    now = now or utcnow()
    values = _column_values(
        to, now, reason=reason, context=context, priority=priority, assignee_id=assignee_id
    )
    stmt = (
        update(ConversationRow)
        .where(ConversationRow.id == conversation_id, ConversationRow.status == current.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if current is Status.ASSIGNED:
        # Guard the assignee too: a re-claim in between must not be resolved by the old one.
        stmt = stmt.where(ConversationRow.assignee_id == row.assignee_id)
    if unanswered_only:
        stmt = stmt.where(ConversationRow.agent_replied_at.is_(None))
    if session.execute(stmt).rowcount != 1:
        if to is Status.ASSIGNED and current is not Status.ASSIGNED:
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
    if current is Status.ASSIGNED:
        data["previous_assignee_id"] = row.assignee_id
    return Event(event_name, conversation_id, data)


def _checked_move(
    conversation_id: str,
    current: Status,
    to: Status,
    row: Any,
    *,
    assignee_id: int | None,
    only_assignee: int | None,
    unanswered_only: bool,
) -> str:
    """The event the move ``current -> to`` publishes, once the table and guards allow it.

    The table is `TRANSITIONS`; the guards are `transition`'s (``row``: the conversation's
    status, assignee, agent reply time).
    """
    if to is Status.ASSIGNED and current is Status.ASSIGNED and only_assignee is None:
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
    if to is Status.ASSIGNED and assignee_id is not None and assignee_id == row.assignee_id:
        raise IllegalTransition(
            f"Conversation {conversation_id!r} is already assigned to that agent; pick another."
        )
    if unanswered_only and row.agent_replied_at is not None:
        raise IllegalTransition(
            f"Conversation {conversation_id!r} was answered by its agent; it stays assigned."
        )
    return event_name


def _column_values(
    to: Status,
    now: datetime,
    *,
    reason: str | None,
    context: dict[str, Any] | None,
    priority: int | None,
    assignee_id: int | None,
) -> dict[str, Any]:
    """The conversation's columns after moving to ``to`` (see `transition`'s docstring)."""
    values: dict[str, Any] = {"status": to.value, "updated_at": now}
    if to is Status.QUEUED:
        values.update(
            queued_at=now, reason=reason, assignee_id=None, assigned_at=None, agent_replied_at=None
        )
        if context is not None:
            values["context"] = context
        if priority is not None:
            values["priority"] = priority
    elif to is Status.ASSIGNED:
        if assignee_id is None:
            raise ValueError("assignee_id is required to move a conversation to 'assigned'")
        values.update(assignee_id=assignee_id, assigned_at=now, agent_replied_at=None)
    elif to is Status.BOT:
        values.update(
            assignee_id=None,
            queued_at=None,
            reason=None,
            priority=0,
            assigned_at=None,
            agent_replied_at=None,
        )
    return values

__all__ = ["TRANSITIONS", "Status", "allowed_targets", "transition"]
