"""Plain, immutable views of handoff data that leave the SQL layer.

The service and the API exchange these instead of ORM rows, so nothing outside `store`
touches a session or can trigger lazy loading after it closed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from handoff.status import Status


@dataclass(frozen=True)
class Agent:
    """An agent's account as the service sees it (no password hash)."""

    id: int
    email: str
    role: str
    display_name: str
    created_at: datetime
    capacity: int | None = None  # None: the configured default
    deactivated_at: datetime | None = None
    token_version: int = 0

    @property
    def is_active(self) -> bool:
        """True unless the account is deactivated."""
        return self.deactivated_at is None

    @property
    def is_admin(self) -> bool:
        """True for the ``admin`` role."""
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """How this agent appears in audit rows."""
        return f"agent:{self.id}"


@dataclass(frozen=True)
class StoredMessage:
    """A message as stored; ``id`` is the replay cursor. ``duplicate`` marks a resend."""

    id: int
    conversation_id: str
    sender: str
    text: str
    payload: dict[str, Any] | None
    client_id: str | None
    agent_id: int | None
    agent_name: str | None
    created_at: datetime
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO timestamps), as sent in events and socket acks."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class NewMessage:
    """A bot, agent or system message to store."""

    sender: str
    text: str
    payload: dict[str, Any] | None = None
    agent_id: int | None = None
    client_id: str | None = None

    @classmethod
    def from_rasa(cls, reply: dict[str, Any]) -> NewMessage | None:
        """A Rasa REST reply as a bot message: its text, the rest (buttons, image...) as payload.

        None for a reply with nothing to show.
        """
        text = reply.get("text")
        payload = {
            k: v for k, v in reply.items() if k not in ("text", "recipient_id") and v is not None
        }
        if not text and not payload:
            return None
        return cls("bot", text if isinstance(text, str) else "", payload or None)


@dataclass(frozen=True)
class Conversation:
    """A conversation's state: status, reason, context, user metadata, assignee, queue times."""

    id: str
    status: Status
    reason: str | None
    context: dict[str, Any]
    user_metadata: dict[str, Any]
    assignee_id: int | None
    assignee_name: str | None
    created_at: datetime
    queued_at: datetime | None
    updated_at: datetime
    priority: int = 0
    assigned_at: datetime | None = None


@dataclass(frozen=True)
class ConversationDetail(Conversation):
    """A conversation with its messages."""

    messages: list[StoredMessage] = field(default_factory=list)


@dataclass(frozen=True)
class ConversationSummary:
    """One line of the agent's conversation list."""

    id: str
    status: Status
    reason: str | None
    queued_at: datetime | None
    priority: int
    assignee_id: int | None
    assignee_name: str | None
    created_at: datetime
    updated_at: datetime
    last_message: str | None
    last_message_at: datetime | None


__all__ = [
    "Agent",
    "Conversation",
    "ConversationDetail",
    "ConversationSummary",
    "NewMessage",
    "StoredMessage",
]
