"""Request and response schemas of the handoff HTTP API (pydantic 1), one per use."""

# No `from __future__ import annotations`: pydantic 1 resolves these annotations eagerly.
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from handoff.conversation_search import ConversationEntry
from handoff.records import (
    Agent,
    Conversation,
    ConversationDetail,
    ConversationSummary,
    StoredMessage,
)
from handoff.status import Status


class _Schema(BaseModel):
    class Config:
        """Pydantic options: unknown fields are errors."""

        extra = "forbid"


# -- requests ------------------------------------------------------------------------------


class LoginJson(_Schema):
    """Login credentials as JSON (the form-encoded OAuth2 body works too)."""

    username: str
    password: str


class AgentMessageCreate(_Schema):
    """An agent's reply to the user of an assigned conversation."""

    text: str = Field(..., description="The reply; delivered to the user's widget live.")
    client_id: str | None = Field(
        None, max_length=128, description="makes a resend idempotent (stored once)"
    )


class NoteCreate(_Schema):
    """An internal note on a conversation."""

    text: str = Field(..., description="An internal note: agents see it, the user never does.")
    client_id: str | None = Field(None, max_length=128)


class TransferRequest(_Schema):
    """Where to hand an assigned conversation: another agent or the queue."""

    agent_id: int | None = Field(
        ..., description="the agent to hand the conversation to; null puts it back in the queue"
    )


class HeartbeatRequest(_Schema):
    """An agent's presence for a console without a socket: online or away."""

    state: str = Field("online", regex="^(online|away)$")


class AgentUpdate(_Schema):
    """Changes to an agent's account; omitted fields stay as they are."""

    capacity: int | None = Field(None, ge=1, le=100, description="concurrent conversations")
    role: str | None = Field(None, regex="^(agent|admin)$")
    display_name: str | None = Field(None, min_length=1, max_length=120)


class PasswordReset(_Schema):
    """An admin's password reset for an agent; revokes the agent's tokens."""

    password: str | None = Field(
        None,
        description="the new password (at least 8 characters); omit or null to generate a "
        "random one, returned once in the response",
    )


class CannedResponseWrite(_Schema):
    """A canned response to create or replace: shortcut and text."""

    shortcut: str = Field(..., min_length=1, max_length=40)
    text: str = Field(..., min_length=1, max_length=4000)


class HandoffRequest(_Schema):
    """The bot's request to queue a conversation for a person."""

    conversation_id: str
    reason: str = Field(..., max_length=200, description="e.g. low_confidence, request_human")
    context: dict[str, Any] = Field(
        default_factory=dict, description="the bot's KB hits, last question"
    )
    priority: int = Field(0, ge=0, le=10, description="higher is served first")


class AgentCreate(_Schema):
    """A new agent account."""

    email: str
    password: str = Field(..., description="at least 8 characters")
    role: str = Field("agent", description="agent | admin")
    display_name: str | None = None
    capacity: int | None = Field(None, ge=1, le=100, description="default: the configured one")


# -- responses -----------------------------------------------------------------------------


class TokenPublic(_Schema):
    """An access token, sent as ``Authorization: Bearer <token>``."""

    access_token: str
    token_type: str = "bearer"


class AgentPublic(_Schema):
    """An agent's account as the API shows it (no password hash)."""

    id: int
    email: str
    role: str
    display_name: str
    capacity: int | None
    created_at: datetime
    deactivated: bool = Field(False, description="cannot log in and gets no conversations")
    deactivated_at: datetime | None = None

    @classmethod
    def of(cls, a: Agent) -> "AgentPublic":
        """The API view of ``a``."""
        return cls(
            id=a.id,
            email=a.email,
            role=a.role,
            display_name=a.display_name,
            capacity=a.capacity,
            created_at=a.created_at,
            deactivated=not a.is_active,
            deactivated_at=a.deactivated_at,
        )


class AgentStatusPublic(_Schema):
    """An agent on the roster: presence, load and capacity."""

    id: int
    display_name: str
    role: str
    presence: str = Field(..., description="online | away | offline")
    active: int = Field(..., description="conversations the agent holds now")
    capacity: int
    email: str | None = Field(None, description="admins only (the Users tab)")
    deactivated: bool = False


class DeactivationPublic(_Schema):
    """A deactivated account and the conversations it held, requeued."""

    agent: AgentPublic
    requeued: list[str] = Field(..., description="conversations it held, now back in the queue")


class PasswordResetPublic(_Schema):
    """The agent after a password reset, with the password if generated."""

    agent: AgentPublic
    password: str | None = Field(
        None, description="the generated password, shown only in this response; null when "
        "the admin chose it"
    )


class PresencePublic(_Schema):
    """The agent's presence after a heartbeat: online, away or offline."""

    presence: str


class AuditEntry(_Schema):
    """One status change of a conversation: from, to, who, why and when."""

    id: int
    from_status: Status
    to_status: Status
    actor: str
    reason: str | None
    created_at: datetime


class CannedResponsePublic(_Schema):
    """A canned response."""

    id: int
    shortcut: str
    text: str
    updated_at: datetime


class AssigneePublic(_Schema):
    """The agent a conversation is assigned to."""

    id: int
    display_name: str | None


class MessagePublic(_Schema):
    """A stored message of a conversation."""

    id: int
    sender: str
    text: str
    payload: dict[str, Any] | None
    client_id: str | None
    agent_id: int | None
    agent_name: str | None
    created_at: datetime

    @classmethod
    def of(cls, m: StoredMessage) -> "MessagePublic":
        """The API view of ``m``."""
        return cls(
            id=m.id,
            sender=m.sender,
            text=m.text,
            payload=m.payload,
            client_id=m.client_id,
            agent_id=m.agent_id,
            agent_name=m.agent_name,
            created_at=m.created_at,
        )


class ConversationListItem(_Schema):
    """A conversation in the agent's list, with its latest message."""

    id: str
    status: Status
    reason: str | None
    queued_at: datetime | None
    priority: int
    wait_seconds: float | None = Field(
        ..., description="seconds since queued (queued conversations), at response time"
    )
    assignee: AssigneePublic | None
    created_at: datetime
    updated_at: datetime
    last_message: str | None
    last_message_at: datetime | None

    @classmethod
    def of(cls, c: ConversationSummary) -> "ConversationListItem":
        """The API view of ``c``; the wait is computed now."""
        return cls(
            id=c.id,
            status=c.status,
            reason=c.reason,
            queued_at=c.queued_at,
            priority=c.priority,
            wait_seconds=_wait(c.status, c.queued_at),
            assignee=_assignee(c.assignee_id, c.assignee_name),
            created_at=c.created_at,
            updated_at=c.updated_at,
            last_message=c.last_message,
            last_message_at=c.last_message_at,
        )


class ConversationPublic(_Schema):
    """A conversation's state, without its messages."""

    id: str
    status: Status
    reason: str | None
    queued_at: datetime | None
    priority: int
    wait_seconds: float | None
    assignee: AssigneePublic | None
    context: dict[str, Any]
    user_metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, c: Conversation) -> dict[str, Any]:
        """The fields of ``c``, for this class or a subclass to build from."""
        return {
            "id": c.id,
            "status": c.status,
            "reason": c.reason,
            "queued_at": c.queued_at,
            "priority": c.priority,
            "wait_seconds": _wait(c.status, c.queued_at),
            "assignee": _assignee(c.assignee_id, c.assignee_name),
            "context": c.context,
            "user_metadata": c.user_metadata,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }

    @classmethod
    def of(cls, c: Conversation) -> "ConversationPublic":
        """The API view of ``c``; the wait is computed now."""
        return cls(**cls.fields_of(c))


class ConversationWithMessages(ConversationPublic):
    """A conversation with its messages (notes included)."""

    messages: list[MessagePublic]

    @classmethod
    def of(cls, c: ConversationDetail) -> "ConversationWithMessages":  # type: ignore[override]
        """The API view of ``c`` and its messages."""
        return cls(**cls.fields_of(c), messages=[MessagePublic.of(m) for m in c.messages])


class ConversationEntryPublic(_Schema):
    """A line of the console's conversation lists (views, search, a user's history)."""

    id: str
    status: Status
    reason: str | None = Field(..., description="why it was handed off (a code)")
    priority: int
    queued_at: datetime | None
    wait_seconds: float | None = Field(
        ..., description="seconds since queued (queued conversations), at response time"
    )
    assignee: AssigneePublic | None
    created_at: datetime
    updated_at: datetime
    user_name: str | None = Field(..., description="from the user's metadata, when known")
    user_email: str | None = Field(..., description="from the user's metadata, when known")
    first_question: str | None = Field(..., description="the user's first typed message")
    last_user_message: str | None = Field(
        ..., description="the user's latest typed message (button payloads skipped)"
    )
    last_user_message_at: datetime | None
    last_message_at: datetime | None = Field(..., description="the latest message of anyone")
    match: str | None = Field(
        None, description="a search: the text around the first message that matched"
    )

    @classmethod
    def of(cls, e: ConversationEntry) -> "ConversationEntryPublic":
        """The API view of ``e``; the wait is computed now."""
        return cls(
            id=e.id,
            status=e.status,
            reason=e.reason,
            priority=e.priority,
            queued_at=e.queued_at,
            wait_seconds=_wait(e.status, e.queued_at),
            assignee=_assignee(e.assignee_id, e.assignee_name),
            created_at=e.created_at,
            updated_at=e.updated_at,
            user_name=e.user_name,
            user_email=e.user_email,
            first_question=e.first_question,
            last_user_message=e.last_user_message,
            last_user_message_at=e.last_user_message_at,
            last_message_at=e.last_message_at,
            match=e.match,
        )


class ViewCountsPublic(_Schema):
    """How many conversations each console view holds."""

    mine: int = Field(..., description="assigned to you")
    unassigned: int = Field(..., description="queued, waiting for an agent")
    open: int = Field(..., description="queued or assigned")
    resolved: int


class HandoffAccepted(_Schema):
    """The conversation's status after a handoff request, and whether it is offline."""

    status: Status
    # True: no person can take the chat now (closed, or nobody online); the app told the user
    # and is taking an offline message (handoff.tickets_flow), so the bot says nothing more.
    offline: bool = False


def _wait(status: Status, queued_at: datetime | None) -> float | None:
    if status is not Status.QUEUED or queued_at is None:
        return None
    return round((datetime.now(timezone.utc) - queued_at).total_seconds(), 1)


def _assignee(agent_id: int | None, name: str | None) -> AssigneePublic | None:
    return None if agent_id is None else AssigneePublic(id=agent_id, display_name=name)


