"""Customer satisfaction: the prompt after a resolve, and storing the user's rating.

The prompt is a bot message whose quick replies carry Rasa-style payloads
(``/csat{"rating":4}``), so any rasa-webchat widget can answer it. The gateway stores the
reply like every user message; `Csat.rating_of` recognises it before it would reach the bot.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from handoff.models import CsatRow, StatusChangeRow, utcnow
from handoff.records import NewMessage
from handoff.settings import CsatScale, CsatSettings

PAYLOAD = re.compile(r'^/csat(\{.*\})$')
THUMBS = (("👍", 5), ("👎", 1))


def payload(rating: int) -> str:
    """The quick-reply payload that carries ``rating``: ``/csat{"rating":N}``."""
    return "/csat" + json.dumps({"rating": rating}, separators=(",", ":"))


class Csat:
    """Builds the prompt and records ratings (one per resolution) in ``csat_ratings``."""

    def __init__(self, settings: CsatSettings, engine: Engine) -> None:
        self.settings = settings
        self._engine = engine

    @property
    def enabled(self) -> bool:
        """True when users are asked for a rating after a resolve."""
        return self.settings.enabled

    def prompt(self) -> NewMessage:
        """The bot message asking for a rating, with its quick replies as Rasa ``buttons``."""
        if self.settings.scale is CsatScale.THUMBS:
            buttons = [{"title": t, "payload": payload(r)} for t, r in THUMBS]
        else:
            buttons = [{"title": str(r), "payload": payload(r)} for r in range(1, 6)]
        return NewMessage(
            "bot", self.settings.prompt, {"buttons": buttons, "custom": {"csat": True}}
        )

    def thanks(self) -> NewMessage:
        """The bot message that thanks the user for a rating."""
        return NewMessage("bot", self.settings.thanks_message)

    @staticmethod
    def rating_of(text: str) -> int | None:
        """The rating a CSAT quick-reply payload carries (1..5), or None for any other text."""
        match = PAYLOAD.match(text.strip())
        if not match:
            return None
        try:
            rating = json.loads(match.group(1)).get("rating")
        except (ValueError, AttributeError):
            return None
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            return None
        return rating

    def record(self, conversation_id: str, rating: int, agent_id: int | None) -> bool:
        """Store ``rating`` unless this resolution already has one; True when stored."""
        with Session(self._engine, future=True) as s, s.begin():
            resolved_at = s.execute(
                select(func.max(StatusChangeRow.created_at)).where(
                    StatusChangeRow.conversation_id == conversation_id,
                    StatusChangeRow.to_status == "resolved",
                )
            ).scalar_one_or_none()
            if resolved_at is None:
                return False
            already = s.execute(
                select(CsatRow.id).where(
                    CsatRow.conversation_id == conversation_id, CsatRow.created_at >= resolved_at
                )
            ).first()
            if already is not None:
                return False
            s.add(
                CsatRow(
                    conversation_id=conversation_id,
                    rating=rating,
                    scale=self.settings.scale.value,
                    agent_id=agent_id,
                    created_at=utcnow(),
                )
            )
            return True

    def ratings(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's ratings, oldest first."""
        with Session(self._engine, future=True) as s:
            rows = s.execute(
                select(CsatRow).where(CsatRow.conversation_id == conversation_id).order_by(CsatRow.id)
            ).scalars()
            return [
                {"rating": r.rating, "scale": r.scale, "agent_id": r.agent_id,
                 "created_at": r.created_at}
                for r in rows
            ]


__all__ = ["Csat", "payload"]
