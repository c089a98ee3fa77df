"""What a widget socket has not seen: the per-conversation delivery cursor.

rasa-webchat and most Rasa clients never ask for ``history``: they show what arrived live and
keep it in their own storage. A message sent while no socket of the conversation was
connected (the page was elsewhere, the socket was reconnecting) would never be shown. So each
conversation keeps ``delivered_message_id``: every bot, agent or system message up to it
reached a socket of the conversation. On ``session_request`` the gateway replays what is
after it, then moves it to the newest message; when a socket leaves, the cursor moves to the
newest message stored while it was there, minus a grace period for what may still have been
in flight (long after a ping timeout: the connection may have been dead for that long).

The cursor errs towards replaying: after a crash (no disconnect seen) or with a second
socket of the same conversation still attached, a client may get a message twice, never
miss one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from handoff.models import ConversationRow, MessageRow, utcnow

# What a client is shown: never its own messages or agents' internal notes.
SHOWN_SENDERS = ("bot", "agent", "system")


class DeliveryCursors:
    """Reads and moves ``conversations.delivered_message_id``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def replay_after(self, conversation_id: str) -> int | None:
        """The cursor: replay the shown messages after this id.

        None: nothing to replay; the conversation never had a socket, so its client holds no
        transcript to complete.
        """
        with Session(self._engine, future=True) as s:
            return s.execute(
                select(ConversationRow.delivered_message_id).where(
                    ConversationRow.id == conversation_id
                )
            ).scalar_one_or_none()

    def newest_before(self, conversation_id: str, before: datetime | None) -> int | None:
        """The id of the newest shown message stored before ``before``, or None if none is.

        ``before`` None means any time.
        """
        query = select(func.max(MessageRow.id)).where(
            MessageRow.conversation_id == conversation_id, MessageRow.sender.in_(SHOWN_SENDERS)
        )
        if before is not None:
            query = query.where(MessageRow.created_at < before)
        with Session(self._engine, future=True) as s:
            return s.execute(query).scalar_one_or_none()

    def joined(self, conversation_id: str) -> int:
        """A socket joined and got everything so far: the cursor moves to the newest message.

        Returns the new cursor (0 for a conversation without messages).
        """
        newest = self.newest_before(conversation_id, None) or 0
        self._set(conversation_id, newest)
        return newest

    def left(self, conversation_id: str, joined_at_cursor: int, grace: timedelta) -> int:
        """A socket left: it saw what was stored while it was there, up to ``grace`` before now.

        Returns the new cursor (never below what the socket got when it joined).
        """
        newest = self.newest_before(conversation_id, utcnow() - grace) or 0
        cursor = max(newest, joined_at_cursor)
        self._set(conversation_id, cursor)
        return cursor

    def _set(self, conversation_id: str, message_id: int) -> None:
        with Session(self._engine, future=True) as s, s.begin():
            s.execute(
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id)
                .values(delivered_message_id=message_id)
            )


__all__ = ["SHOWN_SENDERS", "DeliveryCursors"]
