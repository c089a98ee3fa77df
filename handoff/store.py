"""SQL persistence of conversations and messages (synchronous SQLAlchemy).

The async service runs these methods in worker threads. Each public method is one
transaction and returns plain records (`handoff.records`), never ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from handoff.errors import ConversationNotFound, IllegalTransition, NotAssignee
from handoff.events import Event
from handoff.models import (
    AgentRow,
    Base,
    ConversationRow,
    MessageRow,
    StatusChangeRow,
    new_conversation_id,
    queued_ids_query,
    utcnow,
)
from handoff.records import (
    Conversation,
    ConversationDetail,
    ConversationSummary,
    NewMessage,
    StoredMessage,
)
from handoff.status import Status, transition

PREVIEW_CHARS = 120
# customData keys that describe one message (a button's title), not the user: not kept on the
# conversation.
MESSAGE_ONLY_KEYS = frozenset({"display_text"})


class ConversationStore:
    """Reads and writes the handoff tables through one engine (created by the caller)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_tables(self) -> None:
        """Create the handoff tables that do not exist yet (no migrations)."""
        Base.metadata.create_all(self._engine)

    def _session(self) -> Session:
        return Session(self._engine, future=True, expire_on_commit=False)

    # -- conversations -------------------------------------------------------------------

    def open_conversation(
        self, existing_id: str | None, user_metadata: dict[str, Any]
    ) -> Conversation:
        """Return the conversation ``existing_id``, or create one with a server-chosen id."""
        with self._session() as s, s.begin():
            if existing_id:
                row = s.get(ConversationRow, existing_id)
                if row is not None:
                    return self._conversation(s, row)
            now = utcnow()
            row = ConversationRow(
                id=new_conversation_id(),
                status=Status.BOT.value,
                context={},
                user_metadata=dict(user_metadata or {}),
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            return self._conversation(s, row)

    def get_conversation(self, conversation_id: str) -> Conversation:
        """The conversation without its messages; raise ConversationNotFound if unknown."""
        with self._session() as s:
            return self._conversation(s, self._require(s, conversation_id))

    def get_detail(self, conversation_id: str) -> ConversationDetail:
        """The conversation with every message, oldest first."""
        with self._session() as s:
            conv = self._conversation(s, self._require(s, conversation_id))
            messages = self._messages(s, conversation_id, after_id=None, limit=None)
            return ConversationDetail(**{**conv.__dict__, "messages": messages})

    def queued_ids(self, limit: int) -> list[str]:
        """Ids of queued conversations in queue order (priority, then oldest queued first).

        The queue alone, without `list_conversations`' last-message join over every message:
        it is read on every status change (queue positions).
        """
        with self._session() as s:
            return list(s.execute(queued_ids_query(limit)).scalars())

    def list_conversations(
        self, status: Status | None, limit: int, assignee_id: int | None = None
    ) -> list[ConversationSummary]:
        """Conversation summaries, optionally of one status.

        Queued ones in queue order (priority, then oldest queued first); others newest first.
        ``assignee_id`` keeps one agent's conversations.
        """
        last_id = (
            select(MessageRow.conversation_id, func.max(MessageRow.id).label("last_id"))
            .group_by(MessageRow.conversation_id)
            .subquery()
        )
        last = aliased(MessageRow)
        stmt = (
            select(ConversationRow, AgentRow.display_name, last.text, last.created_at)
            .outerjoin(AgentRow, AgentRow.id == ConversationRow.assignee_id)
            .outerjoin(last_id, last_id.c.conversation_id == ConversationRow.id)
            .outerjoin(last, last.id == last_id.c.last_id)
        )
        if status is not None:
            stmt = stmt.where(ConversationRow.status == Status(status).value)
        if assignee_id is not None:
            stmt = stmt.where(ConversationRow.assignee_id == assignee_id)
        if status is Status.QUEUED:
            stmt = stmt.order_by(
                ConversationRow.priority.desc(), ConversationRow.queued_at.asc(), ConversationRow.id
            )
        else:
            stmt = stmt.order_by(ConversationRow.updated_at.desc(), ConversationRow.id)
        with self._session() as s:
            rows = s.execute(stmt.limit(limit)).all()
        return [
            ConversationSummary(
                id=c.id,
                status=Status(c.status),
                reason=c.reason,
                queued_at=c.queued_at,
                priority=c.priority or 0,
                assignee_id=c.assignee_id,
                assignee_name=name,
                created_at=c.created_at,
                updated_at=c.updated_at,
                last_message=None if text is None else _preview(text),
                last_message_at=at,
            )
            for c, name, text, at in rows
        ]

    def move(
        self,
        conversation_id: str,
        to: Status,
        *,
        actor: str,
        messages: Iterable[NewMessage] = (),
        **changes: Any,
    ) -> tuple[Event, list[StoredMessage]]:
        """Transition the conversation and store ``messages`` in the same transaction.

        ``changes`` are passed to `handoff.status.transition` (reason, context, assignee_id,
        only_assignee). Returns the transition's event and the stored messages, to publish
        after this commit.
        """
        with self._session() as s, s.begin():
            event = transition(s, conversation_id, to, actor=actor, **changes)
            stored = self._insert(s, conversation_id, messages)
        return event, stored

    # -- messages ------------------------------------------------------------------------

    def add_user_message(
        self,
        conversation_id: str,
        text: str,
        client_id: str | None,
        metadata: dict[str, Any] | None,
    ) -> StoredMessage:
        """Store a user message; a known ``client_id`` returns the stored one as a duplicate.

        ``metadata`` (a widget's customData) is kept with the message and, except keys that
        describe only the message, on the conversation, where agents see it (rasa-webchat
        sends customData only with messages, never when a session opens).
        """
        if client_id is not None:
            existing = self._by_client_id(conversation_id, client_id)
            if existing is not None:
                return replace(existing, duplicate=True)
        try:
            with self._session() as s, s.begin():
                conversation = self._require(s, conversation_id)
                custom = {k: v for k, v in (metadata or {}).items() if k not in MESSAGE_ONLY_KEYS}
                known = conversation.user_metadata or {}
                if any(known.get(k) != v for k, v in custom.items()):
                    conversation.user_metadata = {**known, **custom}
                row = MessageRow(
                    conversation_id=conversation_id,
                    sender="user",
                    text=text,
                    payload={"metadata": metadata} if metadata else None,
                    client_id=client_id,
                    created_at=utcnow(),
                )
                s.add(row)
                s.flush()
                return _message(row, None)
        except IntegrityError:
            # A concurrent resend won the UNIQUE(conversation_id, client_id) race.
            existing = self._by_client_id(conversation_id, client_id) if client_id else None
            if existing is None:
                raise
            return replace(existing, duplicate=True)

    def add_messages(
        self, conversation_id: str, messages: Iterable[NewMessage]
    ) -> list[StoredMessage]:
        """Store bot, agent or system messages, in order."""
        with self._session() as s, s.begin():
            self._require(s, conversation_id)
            return self._insert(s, conversation_id, messages)

    def add_as_assignee(
        self, conversation_id: str, agent_id: int, message: NewMessage
    ) -> StoredMessage:
        """Store ``message`` only if ``agent_id`` holds the conversation (status ``assigned``).

        The first agent reply stops the assignment timeout (``agent_replied_at``). A message
        whose ``client_id`` is already stored returns the stored one as a duplicate.

        Raises:
            ConversationNotFound: no such conversation.
            NotAssignee: it is assigned to someone else.
            IllegalTransition: it is not assigned at all (nobody may write as its agent).
        """
        with self._session() as s, s.begin():
            # FOR UPDATE (PostgreSQL) keeps a concurrent resolve or hand-back from slipping
            # between the check and the insert; SQLite serialises writers anyway.
            row = (
                s.execute(
                    select(ConversationRow)
                    .where(ConversationRow.id == conversation_id)
                    .with_for_update()
                )
                .scalars()
                .first()
            )
            if row is None:
                raise _not_found(conversation_id)
            if row.status != Status.ASSIGNED.value:
                raise IllegalTransition(
                    f"Conversation {conversation_id!r} is {row.status!r}; agents can only write "
                    "while they hold it ('assigned'). Claim it first."
                )
            if row.assignee_id != agent_id:
                raise NotAssignee()
            if message.client_id is not None:
                existing = self._client_message(s, conversation_id, message.client_id)
                if existing is not None:
                    return replace(existing, duplicate=True)
            if message.sender == "agent" and row.agent_replied_at is None:
                row.agent_replied_at = utcnow()
            return self._insert(s, conversation_id, [message])[0]

    def add_note(self, conversation_id: str, agent_id: int, text: str, client_id: str | None
                 ) -> StoredMessage:
        """Store an internal note (sender ``note``) by any agent, in any status."""
        with self._session() as s, s.begin():
            self._require(s, conversation_id)
            if client_id is not None:
                existing = self._client_message(s, conversation_id, client_id)
                if existing is not None:
                    return replace(existing, duplicate=True)
            note = NewMessage("note", text, agent_id=agent_id, client_id=client_id)
            return self._insert(s, conversation_id, [note])[0]

    def history(
        self,
        conversation_id: str,
        after_id: int | None,
        limit: int | None,
        include_notes: bool = False,
    ) -> list[StoredMessage]:
        """Messages with ``id > after_id`` (all when None), oldest first, at most ``limit``.

        Internal notes only with ``include_notes`` (agents); the user's side never sees them.
        A cursor beyond SQL's 64-bit ids follows every message (it would overflow the driver).
        """
        with self._session() as s:
            self._require(s, conversation_id)
            if after_id is not None and after_id >= 2**63:
                return []
            if after_id is not None and after_id < 0:
                after_id = None  # before every message
            return self._messages(
                s, conversation_id, after_id=after_id, limit=limit, include_notes=include_notes
            )

    def unanswered_user_messages(
        self, stored_before: datetime, stored_after: datetime
    ) -> list[tuple[str, int, str, Status]]:
        """User messages that were acknowledged but may never have been answered.

        Those stored between ``stored_after`` and ``stored_before`` that are the newest message
        of their conversation (notes aside), while the conversation is with the bot, or was
        queued only after the message (so no handoff notice answered it), as
        ``(conversation id, message id, text, status)``.

        Such a message was acknowledged but never answered: the replica routing it died.
        """
        last = (
            select(MessageRow.conversation_id, func.max(MessageRow.id).label("last_id"))
            .where(MessageRow.sender != "note", MessageRow.created_at >= stored_after)
            .group_by(MessageRow.conversation_id)
            .subquery()
        )
        with self._session() as s:
            rows = s.execute(
                select(ConversationRow.id, MessageRow.id, MessageRow.text, ConversationRow.status)
                .join(last, last.c.conversation_id == ConversationRow.id)
                .join(MessageRow, MessageRow.id == last.c.last_id)
                .where(
                    MessageRow.sender == "user",
                    MessageRow.created_at < stored_before,
                    (ConversationRow.status == Status.BOT.value)
                    | (
                        (ConversationRow.status == Status.QUEUED.value)
                        & (ConversationRow.queued_at >= MessageRow.created_at)
                    ),
                )
            ).all()
        return [(r[0], r[1], r[2], Status(r[3])) for r in rows]

    def add_messages_if_last(
        self, conversation_id: str, last_id: int, messages: Iterable[NewMessage]
    ) -> list[StoredMessage]:
        """Store ``messages`` only if message ``last_id`` is still the conversation's newest.

        Notes aside; else store nothing and return []. The conversation row is locked, so of
        several replicas answering the same message exactly one does.
        """
        with self._session() as s, s.begin():
            s.execute(
                select(ConversationRow.id)
                .where(ConversationRow.id == conversation_id)
                .with_for_update()
            ).one()
            newest = s.execute(
                select(func.max(MessageRow.id)).where(
                    MessageRow.conversation_id == conversation_id, MessageRow.sender != "note"
                )
            ).scalar()
            if newest != last_id:
                return []
            return self._insert(s, conversation_id, messages)

    def status_changes(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's audit trail, oldest first."""
        with self._session() as s:
            self._require(s, conversation_id)
            rows = s.execute(
                select(StatusChangeRow)
                .where(StatusChangeRow.conversation_id == conversation_id)
                .order_by(StatusChangeRow.id)
            ).scalars()
            return [
                {
                    "id": r.id,
                    "from_status": r.from_status,
                    "to_status": r.to_status,
                    "actor": r.actor,
                    "reason": r.reason,
                    "created_at": r.created_at,
                }
                for r in rows
            ]

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _require(s: Session, conversation_id: str) -> ConversationRow:
        row = s.get(ConversationRow, conversation_id)
        if row is None:
            raise _not_found(conversation_id)
        return row

    @staticmethod
    def _conversation(s: Session, row: ConversationRow) -> Conversation:
        name = None
        if row.assignee_id is not None:
            name = s.execute(
                select(AgentRow.display_name).where(AgentRow.id == row.assignee_id)
            ).scalar_one_or_none()
        return Conversation(
            id=row.id,
            status=Status(row.status),
            reason=row.reason,
            context=dict(row.context or {}),
            user_metadata=dict(row.user_metadata or {}),
            assignee_id=row.assignee_id,
            assignee_name=name,
            created_at=row.created_at,
            queued_at=row.queued_at,
            updated_at=row.updated_at,
            priority=row.priority or 0,
            assigned_at=row.assigned_at,
        )

    @staticmethod
    def _client_message(s: Session, conversation_id: str, client_id: str) -> StoredMessage | None:
        row = (
            s.execute(
                select(MessageRow).where(
                    MessageRow.conversation_id == conversation_id, MessageRow.client_id == client_id
                )
            )
            .scalars()
            .first()
        )
        return None if row is None else _message(row, None)

    @staticmethod
    def _messages(
        s: Session,
        conversation_id: str,
        *,
        after_id: int | None,
        limit: int | None,
        include_notes: bool = True,
    ) -> list[StoredMessage]:
        stmt = (
            select(MessageRow, AgentRow.display_name)
            .outerjoin(AgentRow, AgentRow.id == MessageRow.agent_id)
            .where(MessageRow.conversation_id == conversation_id)
            .order_by(MessageRow.id)
        )
        if after_id is not None:
            stmt = stmt.where(MessageRow.id > after_id)
        if not include_notes:
            stmt = stmt.where(MessageRow.sender != "note")
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_message(row, name) for row, name in s.execute(stmt).all()]

    @staticmethod
    def _insert(
        s: Session, conversation_id: str, messages: Iterable[NewMessage]
    ) -> list[StoredMessage]:
        rows = [
            MessageRow(
                conversation_id=conversation_id,
                sender=m.sender,
                text=m.text,
                payload=m.payload or None,
                agent_id=m.agent_id,
                client_id=m.client_id,
                created_at=utcnow(),
            )
            for m in messages
        ]
        stored = []
        for row in rows:
            # One flush per row keeps ids in list order (a bulk insert need not).
            s.add(row)
            s.flush()
            name = None
            if row.agent_id is not None:
                name = s.execute(
                    select(AgentRow.display_name).where(AgentRow.id == row.agent_id)
                ).scalar_one_or_none()
            stored.append(_message(row, name))
        return stored

    def _by_client_id(self, conversation_id: str, client_id: str) -> StoredMessage | None:
        with self._session() as s:
            return self._client_message(s, conversation_id, client_id)


def _not_found(conversation_id: str) -> ConversationNotFound:
    return ConversationNotFound(
        f"No conversation has id {conversation_id!r}; list conversations to find a valid one."
    )


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _message(row: MessageRow, agent_name: str | None) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        sender=row.sender,
        text=row.text,
        payload=row.payload,
        client_id=row.client_id,
        agent_id=row.agent_id,
        agent_name=agent_name,
        created_at=row.created_at,
    )


__all__ = ["ConversationStore"]
