"""Canned responses: reusable replies agents insert from the console (admins edit them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.agent_store import MAX_ID
from handoff.errors import CannedResponseExists, CannedResponseNotFound, InvalidCannedResponse
from handoff.models import CannedResponseRow, utcnow

MAX_SHORTCUT_CHARS = 40
MAX_TEXT_CHARS = 4000

# Seeded into an empty table at start-up, so a new install has something to start from.
DEFAULTS = (
    ("greeting", "Hi, thanks for waiting! I'm here to help. Could you tell me a bit more?"),
    ("looking", "Thanks, I'm looking into this now. It may take a minute or two."),
    ("more-info", "Could you share your account email or order number so I can check?"),
    ("escalate", "I've passed this to our specialist team; they'll email you in a day."),
    ("closing", "Is there anything else I can help you with today?"),
)


@dataclass(frozen=True)
class CannedResponse:
    """A stored reply agents insert by its ``/shortcut``."""

    id: int
    shortcut: str
    text: str
    created_at: datetime
    updated_at: datetime


class CannedResponses:
    """CRUD on the ``canned_responses`` table; one transaction per method."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _session(self) -> Session:
        return Session(self._engine, future=True, expire_on_commit=False)

    def seed_if_empty(self) -> int:
        """Insert `DEFAULTS` when the table is empty; returns how many were added."""
        with self._session() as s, s.begin():
            if s.execute(select(func.count()).select_from(CannedResponseRow)).scalar_one():
                return 0
            now = utcnow()
            s.add_all(
                CannedResponseRow(shortcut=k, text=t, created_at=now, updated_at=now)
                for k, t in DEFAULTS
            )
            return len(DEFAULTS)

    def list(self) -> list[CannedResponse]:
        """Every canned response, by shortcut."""
        with self._session() as s:
            rows = s.execute(select(CannedResponseRow).order_by(CannedResponseRow.shortcut))
            return [_canned(r) for r in rows.scalars()]

    def expand(self, text: str) -> str:
        """``text`` with every known ``/shortcut`` standing alone replaced by its response.

        The console expands shortcuts in the reply box; this keeps any other client from
        sending one to a user literally. Case-insensitive; a shortcut counts when it starts
        the text or follows whitespace, and ends it or precedes whitespace or punctuation.
        """
        if "/" not in text:
            return text
        known = {c.shortcut.lower(): c.text for c in self.list()}
        if not known:
            return text
        names = "|".join(re.escape(k) for k in sorted(known, key=len, reverse=True))
        pattern = rf"(^|\s)/({names})(?=$|\s|[.,;:!?])"
        return re.sub(
            pattern, lambda m: m.group(1) + known[m.group(2).lower()], text, flags=re.IGNORECASE
        )

    def create(self, shortcut: str, text: str) -> CannedResponse:
        """Store a new canned response; its shortcut must be free."""
        shortcut, text = _validate(shortcut, text)
        try:
            with self._session() as s, s.begin():
                now = utcnow()
                row = CannedResponseRow(shortcut=shortcut, text=text, created_at=now,
                                        updated_at=now)
                s.add(row)
                s.flush()
                return _canned(row)
        except IntegrityError as e:
            raise CannedResponseExists(
                f"A canned response with shortcut {shortcut!r} exists; edit it or pick another."
            ) from e

    def update(self, canned_id: int, shortcut: str, text: str) -> CannedResponse:
        """Replace a canned response's shortcut and text."""
        shortcut, text = _validate(shortcut, text)
        try:
            with self._session() as s, s.begin():
                row = s.get(CannedResponseRow, canned_id) if 0 < canned_id <= MAX_ID else None
                if row is None:
                    raise CannedResponseNotFound()
                row.shortcut, row.text, row.updated_at = shortcut, text, utcnow()
                s.flush()
                return _canned(row)
        except IntegrityError as e:
            raise CannedResponseExists(
                f"Another canned response uses shortcut {shortcut!r}; pick another."
            ) from e

    def delete(self, canned_id: int) -> None:
        """Delete a canned response; raise CannedResponseNotFound if there is none."""
        with self._session() as s, s.begin():
            row = s.get(CannedResponseRow, canned_id) if 0 < canned_id <= MAX_ID else None
            if row is None:
                raise CannedResponseNotFound()
            s.delete(row)


def _validate(shortcut: str, text: str) -> tuple[str, str]:
    shortcut, text = (shortcut or "").strip(), (text or "").strip()
    if not 0 < len(shortcut) <= MAX_SHORTCUT_CHARS or not 0 < len(text) <= MAX_TEXT_CHARS:
        raise InvalidCannedResponse(
            f"Send a shortcut of 1-{MAX_SHORTCUT_CHARS} characters and text of "
            f"1-{MAX_TEXT_CHARS} characters."
        )
    return shortcut, text


def _canned(row: CannedResponseRow) -> CannedResponse:
    return CannedResponse(row.id, row.shortcut, row.text, row.created_at, row.updated_at)


__all__ = ["DEFAULTS", "CannedResponse", "CannedResponses"]
