r"""Offline tickets: a message a user left (with an email) while no person could take the chat.

A ticket is drafted when the chat offers to take a message, and moves through ONE transition
table (`TICKET_TRANSITIONS`) with conditional UPDATEs, so two replicas cannot both move it:

    awaiting_email -> awaiting_message -> open -> closed
         \________________\__________-> cancelled

Agents only ever see ``open`` and ``closed`` tickets; the drafts are the state of the
conversation that collects the email and the message (`handoff.tickets_flow`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from handoff.errors import HandoffError
from handoff.models import Base, UTCDateTime, utcnow


class TicketStatus(str, Enum):
    """Where a ticket is: collecting the email or message, open, closed or cancelled."""

    AWAITING_EMAIL = "awaiting_email"
    AWAITING_MESSAGE = "awaiting_message"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


COLLECTING = (TicketStatus.AWAITING_EMAIL, TicketStatus.AWAITING_MESSAGE)
VISIBLE = (TicketStatus.OPEN, TicketStatus.CLOSED)

TICKET_TRANSITIONS: frozenset[tuple[TicketStatus, TicketStatus]] = frozenset(
    {
        (TicketStatus.AWAITING_EMAIL, TicketStatus.AWAITING_MESSAGE),
        (TicketStatus.AWAITING_EMAIL, TicketStatus.CANCELLED),
        (TicketStatus.AWAITING_MESSAGE, TicketStatus.OPEN),
        (TicketStatus.AWAITING_MESSAGE, TicketStatus.CANCELLED),
        (TicketStatus.OPEN, TicketStatus.CLOSED),
    }
)


class TicketNotFound(HandoffError):
    """No open or closed ticket has this id (drafts are not visible)."""

    default_message = "No offline ticket has this id; list them at GET /api/tickets."


class IllegalTicketTransition(HandoffError):
    """The ticket cannot move to that status from the one it is in."""

    default_message = "The ticket cannot move to that status from its current one; reload it."


class OfflineTicketRow(Base):
    """A ticket as stored: its conversation, status, why it was offered, email and message."""

    __tablename__ = "offline_tickets"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(repr(s.value) for s in TicketStatus) + ")",
            name="ck_offline_tickets_status",
        ),
        Index("ix_offline_tickets_status_submitted", "status", "submitted_at"),
        Index("ix_offline_tickets_conversation", "conversation_id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(
        String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    status = Column(String(20), nullable=False, default=TicketStatus.AWAITING_EMAIL.value)
    # Why no person could take the chat: closed | no_agents_online.
    reason = Column(String(32), nullable=False)
    email = Column(String(320), nullable=True)
    message = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    submitted_at = Column(UTCDateTime, nullable=True)  # when it became open
    closed_at = Column(UTCDateTime, nullable=True)
    closed_by = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)


@dataclass(frozen=True)
class Ticket:
    """A ticket as the service and API see it."""

    id: int
    conversation_id: str
    status: TicketStatus
    reason: str
    email: str | None
    message: str | None
    created_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None
    closed_by: int | None


def _ticket(row: OfflineTicketRow) -> Ticket:
    return Ticket(
        row.id,
        row.conversation_id,
        TicketStatus(row.status),
        row.reason,
        row.email,
        row.message,
        row.created_at,
        row.submitted_at,
        row.closed_at,
        row.closed_by,
    )


class TicketStore:
    """Offline tickets in SQL. Every status change goes through `move`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _session(self) -> Session:
        return Session(self._engine, future=True, expire_on_commit=False)

    def draft(self, conversation_id: str, reason: str) -> Ticket:
        """The conversation's ticket still collecting, or a new one awaiting the email."""
        with self._session() as s, s.begin():
            found = self._collecting(s, conversation_id)
            if found is not None:
                return _ticket(found)
            row = OfflineTicketRow(conversation_id=conversation_id, reason=reason)
            s.add(row)
            s.flush()
            return _ticket(row)

    def collecting(self, conversation_id: str) -> Ticket | None:
        """The conversation's draft awaiting an email or a message, if any."""
        with self._session() as s:
            row = self._collecting(s, conversation_id)
            return None if row is None else _ticket(row)

    @staticmethod
    def _collecting(s: Session, conversation_id: str) -> OfflineTicketRow | None:
        return s.execute(
            select(OfflineTicketRow)
            .where(
                OfflineTicketRow.conversation_id == conversation_id,
                OfflineTicketRow.status.in_([c.value for c in COLLECTING]),
            )
            .order_by(OfflineTicketRow.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def get(self, ticket_id: int) -> Ticket:
        """The open or closed ticket with this id; raise TicketNotFound otherwise."""
        with self._session() as s:
            row = s.get(OfflineTicketRow, ticket_id)
            if row is None or TicketStatus(row.status) not in VISIBLE:
                raise TicketNotFound(
                    f"No offline ticket has id {ticket_id}; list them at GET /api/tickets."
                )
            return _ticket(row)

    def list(
        self, status: TicketStatus | None = TicketStatus.OPEN, limit: int = 200
    ) -> list[Ticket]:
        """Visible tickets (open and closed, or one of them), newest first."""
        wanted = [s.value for s in VISIBLE] if status is None else [TicketStatus(status).value]
        with self._session() as s:
            rows = s.execute(
                select(OfflineTicketRow)
                .where(OfflineTicketRow.status.in_(wanted))
                .order_by(OfflineTicketRow.submitted_at.desc(), OfflineTicketRow.id.desc())
                .limit(limit)
            ).scalars()
            return [_ticket(r) for r in rows]

    def move(self, ticket_id: int, to: TicketStatus, **values: object) -> Ticket:
        """Move ``ticket_id`` to ``to`` (setting ``values`` on the row) if the table allows it.

        Raises:
            TicketNotFound: no such ticket.
            IllegalTicketTransition: the move is not in the table, or the ticket moved
                concurrently.
        """
        to = TicketStatus(to)
        with self._session() as s, s.begin():
            row = s.get(OfflineTicketRow, ticket_id)
            if row is None:
                raise TicketNotFound(f"No offline ticket has id {ticket_id}.")
            current = TicketStatus(row.status)
            if (current, to) not in TICKET_TRANSITIONS:
                raise IllegalTicketTransition(
                    f"Ticket {ticket_id} is {current.value!r} and cannot become {to.value!r}; "
                    "reload it."
                )
            if to is TicketStatus.OPEN:
                values.setdefault("submitted_at", utcnow())
            if to is TicketStatus.CLOSED:
                values.setdefault("closed_at", utcnow())
            done = s.execute(
                update(OfflineTicketRow)
                .where(OfflineTicketRow.id == ticket_id, OfflineTicketRow.status == current.value)
                .values(status=to.value, **values)
                .execution_options(synchronize_session=False)
            ).rowcount
            if done != 1:
                raise IllegalTicketTransition(
                    f"Ticket {ticket_id} changed meanwhile; reload it and retry."
                )
        return self._get_any(ticket_id)

    def cancel_collecting(self, conversation_id: str) -> int:
        """Cancel the conversation's drafts (a person took the chat, or it ended); how many."""
        with self._session() as s, s.begin():
            return s.execute(
                update(OfflineTicketRow)
                .where(
                    OfflineTicketRow.conversation_id == conversation_id,
                    OfflineTicketRow.status.in_([c.value for c in COLLECTING]),
                )
                .values(status=TicketStatus.CANCELLED.value)
                .execution_options(synchronize_session=False)
            ).rowcount

    def _get_any(self, ticket_id: int) -> Ticket:
        with self._session() as s:
            return _ticket(s.get(OfflineTicketRow, ticket_id))


__all__ = [
    "COLLECTING",
    "TICKET_TRANSITIONS",
    "IllegalTicketTransition",
    "OfflineTicketRow",
    "Ticket",
    "TicketNotFound",
    "TicketStatus",
    "TicketStore",
]
