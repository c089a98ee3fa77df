"""End-user sessions: signed tokens that name one conversation, and how a client rejoins one.

A session token is an HS256 JWT ``{"sub": conversation_id, "typ": "widget-session", "exp"}``
signed with a key derived from the JWT secret for this purpose only, so an agent's access
token is never a valid session token and a session token never authenticates an agent.
Holding the token is what lets a widget (after a reload) or a native app read and write its
conversation; conversation ids are random (128 bits) and chosen by the server.

rasa-webchat clients know only a ``session_id``. With ``widget.allow_session_id_resume`` on
(the default), knowing an existing conversation id is enough to rejoin it - the trade-off
documented in docs/widget.md.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt

from handoff.errors import HandoffError
from handoff.records import Conversation
from handoff.service import HandoffService

ALGORITHM = "HS256"
TOKEN_TYPE = "widget-session"
_KEY_PURPOSE = b"tier1 widget session token v1"


class InvalidSession(HandoffError):
    """The session token is missing, malformed, badly signed or expired."""

    default_message = (
        "Missing or invalid session token; create a session with POST /api/chat/sessions and "
        "send 'Authorization: Bearer <session_token>'."
    )


class NotYourConversation(HandoffError):
    """A valid session token used for another conversation."""

    default_message = (
        "This session token belongs to another conversation; use the session_id it was "
        "issued with."
    )


class SessionTokens:
    """Issues and verifies widget session tokens."""

    def __init__(self, secret: str, ttl: timedelta) -> None:
        if not secret:
            raise ValueError("the JWT secret must not be empty")
        # A derived key: the same secret also signs agent tokens, which must not pass here.
        self._key = hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()
        self.ttl = ttl

    def issue(self, conversation_id: str, now: datetime | None = None) -> str:
        """A new token for ``conversation_id``, valid for ``ttl`` from ``now``."""
        now = now or datetime.now(timezone.utc)
        claims = {"sub": conversation_id, "typ": TOKEN_TYPE, "iat": now, "exp": now + self.ttl}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def conversation_id(self, token: Any) -> str:
        """The conversation a valid token names.

        Raises:
            InvalidSession: the token is not a string, malformed, badly signed or expired.
        """
        if not isinstance(token, str) or not token:
            raise InvalidSession()
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError as e:
            raise InvalidSession(
                "The session token has expired; create a new session (POST /api/chat/sessions)."
            ) from e
        except jwt.InvalidTokenError as e:
            raise InvalidSession() from e
        if claims.get("typ") != TOKEN_TYPE or not isinstance(claims.get("sub"), str):
            raise InvalidSession()
        return claims["sub"]


@dataclass(frozen=True)
class OpenedSession:
    """A conversation a client may use, with a fresh token for it."""

    conversation: Conversation
    token: str
    resumed: bool  # an existing conversation (not a new one)


class WidgetSessions:
    """Opens or rejoins end-user conversations (synchronous: call from a worker thread)."""

    def __init__(
        self, service: HandoffService, tokens: SessionTokens, allow_session_id_resume: bool
    ) -> None:
        self.service = service
        self.tokens = tokens
        self.allow_session_id_resume = allow_session_id_resume

    def open(
        self,
        token: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> OpenedSession:
        """The conversation a valid ``token`` names, else ``session_id``'s, else a new one.

        ``session_id`` is used only if ``allow_session_id_resume``. Never raises for a bad
        token or unknown id: the client simply gets a new conversation (and must drop what
        it had).
        """
        wanted: str | None = None
        if token:
            try:
                wanted = self.tokens.conversation_id(token)
            except InvalidSession:
                wanted = None
        if wanted is None and self.allow_session_id_resume and isinstance(session_id, str):
            wanted = session_id
        conversation = self.service.open_conversation(wanted, metadata or {})
        return OpenedSession(
            conversation, self.tokens.issue(conversation.id), conversation.id == wanted
        )

    def authorize(self, token: Any, conversation_id: str | None = None) -> str:
        """The conversation id ``token`` grants.

        Raises:
            InvalidSession: a bad token.
            NotYourConversation: it grants another conversation than ``conversation_id``
                (when given).
        """
        granted = self.tokens.conversation_id(token)
        if conversation_id is not None and not hmac.compare_digest(
            granted.encode(), conversation_id.encode()
        ):
            raise NotYourConversation()
        return granted


__all__ = [
    "InvalidSession",
    "NotYourConversation",
    "OpenedSession",
    "SessionTokens",
    "WidgetSessions",
]
