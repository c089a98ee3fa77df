"""Finding conversations for the agent console: views, counts, search, a user's history.

Views are the console's tabs: ``mine`` (assigned to the asking agent), ``unassigned`` (the
queue, in queue order), ``open`` (queued or assigned), ``resolved`` (the history) and ``all``
(any status, bot-only chats included). A search narrows a view to conversations whose id
starts with the query, whose messages (internal notes included) contain it, or whose user
metadata (a widget's customData: name, email, ...) does.

Each entry says who the user is (name and email from their metadata, when known), their
first question and their latest typed message: what an agent needs to tell queued chats
apart, since the bot's handoff sentence is the same in every one of them. Button payloads
(``/affirm``, ``/csat{...}``) are not typed questions and are skipped there.

Reads only; the conversation store keeps every write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from handoff.errors import ConversationNotFound
from handoff.models import AgentRow, ConversationRow, MessageRow
from handoff.status import Status

MAX_QUERY_CHARS = 200
PREVIEW_CHARS = 140
SNIPPET_CHARS = 120
PREVIOUS_LIMIT = 20

# customData keys that name the user or give their email, most specific first. Keys are
# compared case-insensitively, at the top level and inside a nested user/customer/contact.
NAME_KEYS = ("name", "full_name", "fullname", "display_name", "displayname", "username")
EMAIL_KEYS = ("email", "e-mail", "mail", "user_email", "useremail", "email_address")
# Keys that identify one user across conversations (with the email).
ID_KEYS = ("user_id", "userid", "customer_id", "customerid", "external_id", "externalid")
NESTED_KEYS = ("user", "customer", "contact")
_LIKE_ESCAPE = "\\"


class View(str, Enum):
    """The console's conversation lists: the agent's own, queued, open, resolved or all."""

    MINE = "mine"
    UNASSIGNED = "unassigned"
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


@dataclass(frozen=True)
class Identity:
    """Who a conversation's user is, as far as their metadata says."""

    name: str | None = None
    email: str | None = None
    user_id: str | None = None

    @property
    def known(self) -> bool:
        """True when an email or user id identifies the user across conversations."""
        return bool(self.email or self.user_id)


@dataclass(frozen=True)
class ConversationEntry:
    """One line of a console view."""

    id: str
    status: Status
    reason: str | None
    priority: int
    queued_at: datetime | None
    assignee_id: int | None
    assignee_name: str | None
    created_at: datetime
    updated_at: datetime
    user_metadata: dict[str, Any]
    user_name: str | None
    user_email: str | None
    first_question: str | None
    last_user_message: str | None
    last_user_message_at: datetime | None
    last_message_at: datetime | None
    match: str | None = None  # a search: the text around the first matching message


def identity_of(metadata: Mapping[str, Any] | None) -> Identity:
    """The user's name, email and id from a conversation's metadata (customData)."""
    if not isinstance(metadata, Mapping):
        return Identity()
    scopes: list[Mapping[str, Any]] = [metadata]
    for key, value in metadata.items():
        if str(key).lower() in NESTED_KEYS and isinstance(value, Mapping):
            scopes.append(value)

    def pick(keys: tuple[str, ...]) -> str | None:
        for scope in scopes:
            lowered = {str(k).lower(): v for k, v in scope.items()}
            for key in keys:
                value = lowered.get(key)
                if isinstance(value, (str, int)) and not isinstance(value, bool):
                    text = str(value).strip()
                    if text:
                        return text[:200]
        return None

    name = pick(NAME_KEYS)
    if name is None:
        first, last = pick(("first_name", "firstname")), pick(("last_name", "lastname"))
        name = " ".join(p for p in (first, last) if p) or None
    email = pick(EMAIL_KEYS)
    return Identity(name=name, email=email.lower() if email else None, user_id=pick(ID_KEYS))


class ConversationSearch:
    """The console's read side: views, their counts, search and a user's other chats."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _session(self) -> Session:
        return Session(self._engine, future=True)

    def counts(self, agent_id: int) -> dict[View, int]:
        """How many conversations each view holds for ``agent_id`` (``all`` excluded)."""
        with self._session() as s:
            by_status = dict(
                s.execute(
                    select(ConversationRow.status, func.count())
                    .where(ConversationRow.status.in_(("queued", "assigned", "resolved")))
                    .group_by(ConversationRow.status)
                ).all()
            )
            mine = s.execute(
                select(func.count()).where(
                    ConversationRow.status == Status.ASSIGNED.value,
                    ConversationRow.assignee_id == agent_id,
                )
            ).scalar_one()
        queued, assigned = by_status.get("queued", 0), by_status.get("assigned", 0)
        return {
            View.MINE: mine,
            View.UNASSIGNED: queued,
            View.OPEN: queued + assigned,
            View.RESOLVED: by_status.get("resolved", 0),
        }

    def find(
        self, view: View, agent_id: int, query: str | None = None, limit: int = 100
    ) -> list[ConversationEntry]:
        """The conversations of ``view``, narrowed by ``query`` when given.

        Order: the queue's for ``unassigned`` (priority, then oldest queued); else the latest
        activity first.
        """
        view = View(view)
        query = (query or "").strip()[:MAX_QUERY_CHARS]
        last = _last_message_ids()
        stmt = (
            select(ConversationRow, AgentRow.display_name, last.c.last_id)
            .outerjoin(AgentRow, AgentRow.id == ConversationRow.assignee_id)
            .outerjoin(last, last.c.conversation_id == ConversationRow.id)
            .where(*_view_filter(view, agent_id))
        )
        if query:
            stmt = stmt.where(_matches(query))
        if view is View.UNASSIGNED:
            stmt = stmt.order_by(
                ConversationRow.priority.desc(), ConversationRow.queued_at.asc(), ConversationRow.id
            )
        else:
            stmt = stmt.order_by(
                func.coalesce(last.c.last_id, 0).desc(), ConversationRow.updated_at.desc(),
                ConversationRow.id,
            )
        with self._session() as s:
            rows = s.execute(stmt.limit(limit)).all()
            found = [(conv, name) for conv, name, _last in rows]
            return self._entries(s, found, query or None)

    def previous(self, conversation_id: str, limit: int = PREVIOUS_LIMIT) -> list[ConversationEntry]:
        """The same user's other conversations, newest first.

        Those are the ones whose metadata has the same email or user id; empty when the
        metadata identifies nobody.

        Raises:
            ConversationNotFound: no such conversation.
        """
        with self._session() as s:
            row = s.get(ConversationRow, conversation_id)
            if row is None:
                raise ConversationNotFound(
                    f"No conversation has id {conversation_id!r}; search the conversations to "
                    "find a valid one."
                )
            who = identity_of(row.user_metadata)
            if not who.known:
                return []
            # A coarse SQL filter on the metadata's text, then an exact match in Python (JSON
            # text differs between databases, e.g. in spacing and escaping).
            needles = [n for n in (who.email, who.user_id) if n]
            candidates = s.execute(
                select(ConversationRow, AgentRow.display_name)
                .outerjoin(AgentRow, AgentRow.id == ConversationRow.assignee_id)
                .where(
                    ConversationRow.id != conversation_id,
                    or_(*(_metadata_contains(n) for n in needles)),
                )
                .order_by(ConversationRow.created_at.desc(), ConversationRow.id)
                .limit(limit * 5)
            ).all()
            same = [
                (conv, name)
                for conv, name in candidates
                if _same_user(who, identity_of(conv.user_metadata))
            ][:limit]
            return self._entries(s, same, None)

    # -- helpers -------------------------------------------------------------------------

    def _entries(
        self, s: Session, found: list[tuple[ConversationRow, str | None]], query: str | None
    ) -> list[ConversationEntry]:
        ids = [conv.id for conv, _ in found]
        if not ids:
            return []
        typed = (
            MessageRow.conversation_id.in_(ids),
            MessageRow.sender == "user",
            ~MessageRow.text.like("/%"),
        )
        firsts = _texts_by(s, func.min, *typed)
        lasts = _texts_by(s, func.max, *typed)
        last_at = dict(
            s.execute(
                select(MessageRow.conversation_id, func.max(MessageRow.created_at))
                .where(MessageRow.conversation_id.in_(ids))
                .group_by(MessageRow.conversation_id)
            ).all()
        )
        matches: dict[str, str] = {}
        if query:
            for cid, text in _texts_by(
                s, func.min, MessageRow.conversation_id.in_(ids), _like(MessageRow.text, query)
            ).items():
                matches[cid] = _snippet(text[0], query)
        entries = []
        for conv, assignee_name in found:
            who = identity_of(conv.user_metadata)
            first, latest = firsts.get(conv.id), lasts.get(conv.id)
            entries.append(
                ConversationEntry(
                    id=conv.id,
                    status=Status(conv.status),
                    reason=conv.reason,
                    priority=conv.priority or 0,
                    queued_at=conv.queued_at,
                    assignee_id=conv.assignee_id,
                    assignee_name=assignee_name,
                    created_at=conv.created_at,
                    updated_at=conv.updated_at,
                    user_metadata=dict(conv.user_metadata or {}),
                    user_name=who.name,
                    user_email=who.email,
                    first_question=_preview(first[0]) if first else None,
                    last_user_message=_preview(latest[0]) if latest else None,
                    last_user_message_at=latest[1] if latest else None,
                    last_message_at=last_at.get(conv.id),
                    match=matches.get(conv.id),
                )
            )
        return entries


def _last_message_ids():
    return (
        select(MessageRow.conversation_id, func.max(MessageRow.id).label("last_id"))
        .group_by(MessageRow.conversation_id)
        .subquery()
    )


def _view_filter(view: View, agent_id: int) -> list[ColumnElement]:
    status = ConversationRow.status
    if view is View.MINE:
        return [status == Status.ASSIGNED.value, ConversationRow.assignee_id == agent_id]
    if view is View.UNASSIGNED:
        return [status == Status.QUEUED.value]
    if view is View.OPEN:
        return [status.in_((Status.QUEUED.value, Status.ASSIGNED.value))]
    if view is View.RESOLVED:
        return [status == Status.RESOLVED.value]
    return []


def _escape_like(text: str) -> str:
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


def _like(column: Any, text: str) -> ColumnElement:
    """Case-insensitive "contains", with the query's % and _ taken literally."""
    return column.ilike(f"%{_escape_like(text)}%", escape=_LIKE_ESCAPE)


def _metadata_contains(text: str) -> ColumnElement:
    """The metadata's JSON text contains ``text``, as typed or as JSON escapes non-ASCII."""
    as_json = json.dumps(text)[1:-1]
    column = cast(ConversationRow.user_metadata, String)
    variants = {text, as_json}
    return or_(*(_like(column, v) for v in variants))


def _matches(query: str) -> ColumnElement:
    in_messages = exists().where(
        MessageRow.conversation_id == ConversationRow.id, _like(MessageRow.text, query)
    )
    by_id = ConversationRow.id.like(f"{_escape_like(query)}%", escape=_LIKE_ESCAPE)
    return or_(by_id, in_messages, _metadata_contains(query))


def _texts_by(s: Session, pick: Any, *conditions: ColumnElement) -> dict[str, tuple[str, datetime]]:
    """``{conversation id: (text, created_at)}`` of one message per conversation.

    The message is the one ``pick`` (``func.min`` or ``func.max`` over ids) chooses among those
    meeting ``conditions``.
    """
    chosen = (
        select(pick(MessageRow.id)).where(*conditions).group_by(MessageRow.conversation_id)
    )
    rows = s.execute(
        select(MessageRow.conversation_id, MessageRow.text, MessageRow.created_at).where(
            MessageRow.id.in_(chosen)
        )
    ).all()
    return {cid: (text, at) for cid, text, at in rows}


def _same_user(who: Identity, other: Identity) -> bool:
    return bool(
        (who.email and who.email == other.email) or (who.user_id and who.user_id == other.user_id)
    )


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _snippet(text: str, query: str) -> str:
    """The part of ``text`` around the first occurrence of ``query``."""
    flat = " ".join(text.split())
    at = flat.lower().find(query.lower())
    if at < 0 or len(flat) <= SNIPPET_CHARS:
        return _preview(flat)
    start = max(0, at - (SNIPPET_CHARS - len(query)) // 2)
    end = min(len(flat), start + SNIPPET_CHARS)
    start = max(0, end - SNIPPET_CHARS)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


__all__ = ["ConversationEntry", "ConversationSearch", "Identity", "View", "identity_of"]
