"""SQL tables of the handoff module, on the package's own declarative ``Base``.

Portable between SQLite and PostgreSQL: statuses and roles are short strings guarded by CHECK
constraints (no native enums, so adding a status needs no type migration), JSON columns use
the generic ``JSON`` type, and timestamps are stored in UTC and always read back tz-aware.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import declarative_base
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator

Base = declarative_base()

STATUSES = ("bot", "queued", "assigned", "resolved")
SENDERS = ("user", "bot", "agent", "system", "note")  # note: agents only, never the user
ROLES = ("agent", "admin")


def utcnow() -> datetime:
    """The current time, tz-aware in UTC (what every timestamp column stores)."""
    return datetime.now(timezone.utc)


def new_conversation_id() -> str:
    """An unguessable id: knowing it is what lets a widget rejoin its conversation."""
    return secrets.token_urlsafe(16)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and returned tz-aware, on SQLite (which drops tzinfo) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a tz-aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid), not a BIGINT one.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AgentRow(Base):
    """An agent's account: login, role, capacity and token version."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="ck_agents_role"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    email = Column(String(320), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="agent")
    display_name = Column(String(120), nullable=False)
    # None: handoff.default_agent_capacity (so changing the default applies to everyone).
    capacity = Column(Integer, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # Set: the account cannot log in, its tokens are refused and it gets no work (ho_0002).
    deactivated_at = Column(UTCDateTime, nullable=True)
    # Tokens carry it as "ver"; bumping it (password reset, deactivation) revokes them all.
    token_version = Column(Integer, nullable=False, default=0, server_default="0")


class ConversationRow(Base):
    """A conversation: its status, queue place, assignee and the user's metadata."""

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="ck_conversations_status"),
        Index("ix_conversations_status_queued_at", "status", "queued_at"),
        Index("ix_conversations_assignee_status", "assignee_id", "status"),
    )

    id = Column(String(64), primary_key=True, default=new_conversation_id)
    status = Column(String(16), nullable=False, default="bot")
    reason = Column(String(200), nullable=True)
    context = Column(JSON, nullable=False, default=dict)
    user_metadata = Column(JSON, nullable=False, default=dict)
    assignee_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    queued_at = Column(UTCDateTime, nullable=True)
    # Higher first in the queue; ties by queued_at.
    priority = Column(Integer, nullable=False, default=0)
    # When the current assignee got it, and when they first answered (None: not yet) —
    # together they drive the assignment timeout.
    assigned_at = Column(UTCDateTime, nullable=True)
    agent_replied_at = Column(UTCDateTime, nullable=True)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # Every bot/agent/system message up to this id reached a widget socket (handoff.delivery);
    # None: no socket ever joined.
    delivered_message_id = Column(_BigId, nullable=True)


class MessageRow(Base):
    """One message of a conversation, from the user, bot, an agent, the system or a note."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_conversation_client"),
        CheckConstraint(_one_of("sender", SENDERS), name="ck_messages_sender"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    # The id doubles as the replay cursor: it only grows, so "after_id" is well defined.
    id = Column(_BigId, primary_key=True, autoincrement=True)
    conversation_id = Column(
        String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    sender = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    payload = Column(JSON, nullable=True)
    client_id = Column(String(128), nullable=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class StatusChangeRow(Base):
    """One status transition of a conversation: from, to, who and why (the audit trail)."""

    __tablename__ = "status_changes"

    id = Column(_BigId, primary_key=True, autoincrement=True)
    conversation_id = Column(
        String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_status = Column(String(16), nullable=False)
    to_status = Column(String(16), nullable=False)
    actor = Column(String(64), nullable=False)
    reason = Column(String(200), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class CsatRow(Base):
    """A user's satisfaction rating after a resolve (1..5; thumbs are stored as 1 or 5)."""

    __tablename__ = "csat_ratings"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="ck_csat_rating"),)

    id = Column(_BigId, primary_key=True, autoincrement=True)
    conversation_id = Column(
        String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rating = Column(Integer, nullable=False)
    scale = Column(String(16), nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class CannedResponseRow(Base):
    """A reusable agent reply, inserted by its unique shortcut."""

    __tablename__ = "canned_responses"

    id = Column(Integer, primary_key=True, autoincrement=True)
    shortcut = Column(String(40), nullable=False, unique=True)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)


__all__ = [
    "AgentRow",
    "Base",
    "CannedResponseRow",
    "ConversationRow",
    "CsatRow",
    "MessageRow",
    "StatusChangeRow",
    "new_conversation_id",
    "utcnow",
]


def queued_ids_query(limit: int) -> Select:
    """SELECT the ids of queued conversations in queue order (priority, then oldest queued)."""
    return (
        select(ConversationRow.id)
        .where(ConversationRow.status == "queued")
        .order_by(
            ConversationRow.priority.desc(), ConversationRow.queued_at.asc(), ConversationRow.id
        )
        .limit(limit)
    )
