"""The learning loop's record of handled misses (``learning_handled``), and undoing a handling.

Each attach, draft or dismiss writes one row per user message of the inbox item, all with the
same ``batch`` id, so the whole click can be undone: the rows go (the item is back in the inbox)
and, for an attach, the phrasings it added (``added`` rows) leave the article again. The table
is migrated by ``tier1.admin.migrations`` (its own Alembic version table).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Text, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

from handoff.models import UTCDateTime, utcnow

LearningBase = declarative_base()


class HandledMissRow(LearningBase):
    """A miss an admin dealt with: its question message never shows in the inbox again."""

    __tablename__ = "learning_handled"

    message_id = Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    action = Column(String(16), nullable=False)  # attached | dismissed | drafted
    article_id = Column(Integer, nullable=True)
    actor = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    batch = Column(String(36), nullable=True, index=True)  # one click; None before lr_0002
    added = Column(Boolean, nullable=True)  # attach: this text became a new question


@dataclass(frozen=True)
class HandledBatch:
    """What one click on an inbox item recorded.

    Attributes:
        added: the phrasings an attach added to ``article_id`` (empty otherwise).
    """

    batch: str | None
    action: str
    article_id: int | None
    message_ids: list[int]
    added: list[str]


class HandledMisses:
    """Writes, reads and removes ``learning_handled`` rows.

    Args:
        engine: the database holding the handoff tables and ``learning_handled``.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        misses: Iterable[tuple[int, str]],
        action: str,
        actor: str,
        article_id: int | None,
        added: Iterable[str] = (),
    ) -> str:
        """Record ``(message id, text)`` pairs as handled in one batch; return the batch id.

        A message a concurrent click already recorded keeps its row.
        """
        misses = list(misses)
        new_texts = set(added)
        batch = uuid.uuid4().hex
        with Session(self._engine, future=True) as s, s.begin():
            done = set(
                s.execute(
                    select(HandledMissRow.message_id).where(
                        HandledMissRow.message_id.in_([m for m, _ in misses])
                    )
                ).scalars()
            )
            now = datetime.now(timezone.utc)
            for message_id, text in misses:
                if message_id not in done:
                    s.add(HandledMissRow(
                        message_id=message_id, action=action, actor=actor,
                        article_id=article_id, text=text, created_at=now, batch=batch,
                        added=text in new_texts if action == "attached" else None,
                    ))
        return batch

    def batch_of(self, message_id: int) -> HandledBatch | None:
        """The batch that handled ``message_id`` (None: the message is not handled).

        Rows from before batches existed form a batch of their own.
        """
        with Session(self._engine, future=True) as s:
            row = s.get(HandledMissRow, message_id)
            if row is None:
                return None
            rows = [row]
            if row.batch is not None:
                rows = s.execute(
                    select(HandledMissRow).where(HandledMissRow.batch == row.batch)
                ).scalars().all()
            added = list(dict.fromkeys(r.text for r in rows if r.added))
            return HandledBatch(
                row.batch, row.action, row.article_id, sorted(r.message_id for r in rows), added
            )

    def forget(self, batch: HandledBatch) -> int:
        """Remove the batch's rows (its misses are open again); return how many went."""
        with Session(self._engine, future=True) as s, s.begin():
            return s.execute(
                delete(HandledMissRow).where(HandledMissRow.message_id.in_(batch.message_ids))
            ).rowcount

    @staticmethod
    def handled_ids(session: Session) -> set[int]:
        """Every handled message id, read in the caller's session."""
        return set(session.execute(select(HandledMissRow.message_id)).scalars())


__all__ = ["HandledBatch", "HandledMissRow", "HandledMisses", "LearningBase"]
