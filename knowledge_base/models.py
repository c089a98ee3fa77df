"""SQL tables of the knowledge base: the source of truth the FAISS index is a cache of.

Tables live on the package's own ``Base`` so the app can create them alongside, but
independently of, other packages' tables. Types are portable between SQLite and PostgreSQL.
The schema evolves through the Alembic migrations in ``knowledge_base/migrations`` (see
``knowledge_base.schema``); a change here needs a migration there.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base, relationship

Base = declarative_base()

VERSION_KEY = "version"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ArticleRow(Base):
    """One help-center article; ``slug`` is its external id, the key imports upsert by.

    Only ``published`` articles are indexed (and so searchable); drafts and archived ones
    keep their stored vectors so publishing them again encodes nothing.

    ``draft`` holds pending changes (``knowledge_base.drafts``): edits saved without being
    published. They live beside the article, so the indexed texts and the search keep serving
    the article as it is until the draft is published.
    """

    __tablename__ = "kb_articles"

    id = Column(Integer, primary_key=True, autoincrement=True)
    slug = Column(String(200), nullable=False, unique=True)
    title = Column(String(500), nullable=False)
    answer = Column(Text, nullable=False)
    url = Column(String(2000), nullable=True)
    tags = Column(JSON, nullable=False, default=list)
    locale = Column(String(35), nullable=False, default="en", server_default="en")
    status = Column(
        String(16), nullable=False, default="published", server_default="published", index=True
    )
    created_at = Column(DateTime(timezone=True), nullable=False, default=_now)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=_now, onupdate=_now)
    draft = Column(JSON, nullable=True)

    questions = relationship(
        "QuestionRow",
        back_populates="article",
        # ORM-side cascade as well as ON DELETE CASCADE: SQLite leaves foreign keys
        # unenforced unless every connection enables them.
        cascade="all, delete-orphan",
        order_by="QuestionRow.position",
    )


class QuestionRow(Base):
    """One indexed text of an article: its title (position 0), a question, or a passage.

    ``embedding`` holds the float32 vector's raw bytes and ``embedding_model`` the name of the
    embedder that produced it, so the index can be rebuilt without re-encoding and a model
    change re-encodes exactly the vectors it invalidates.
    """

    __tablename__ = "kb_questions"

    id = Column(Integer, primary_key=True, autoincrement=True)
    article_id = Column(
        Integer, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position = Column(Integer, nullable=False, default=0)
    kind = Column(String(16), nullable=False, default="question", server_default="question")
    text = Column(Text, nullable=False)
    embedding = Column(LargeBinary, nullable=True)
    embedding_model = Column(String(500), nullable=True)

    article = relationship("ArticleRow", back_populates="questions")

    def vector(self, dimensions: int, model: str) -> np.ndarray | None:
        """The stored vector if it was made by ``model`` with ``dimensions``; else None."""
        return decode_vector(self.embedding, self.embedding_model, dimensions, model)

    def set_vector(self, vector: np.ndarray, model: str) -> None:
        """Store ``vector`` (as float32 bytes) and the name of the model that made it."""
        self.embedding = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        self.embedding_model = model


class RevisionRow(Base):
    """One change to an article: who made it, when, which fields, and the version before it.

    ``previous`` is the article as it was (None when the change created it), so any revision
    can be restored. Rows outlive their article (no foreign key): a deletion stays on record.
    """

    __tablename__ = "kb_article_revisions"

    id = Column(Integer, primary_key=True, autoincrement=True)
    article_id = Column(Integer, nullable=False, index=True)
    slug = Column(String(200), nullable=False)
    # created | updated | published | unpublished | archived | deleted
    action = Column(String(16), nullable=False)
    actor = Column(String(200), nullable=False)
    actor_name = Column(String(200), nullable=True)  # the person's name when it was written
    at = Column(DateTime(timezone=True), nullable=False, default=_now)
    changed = Column(JSON, nullable=False, default=list)  # field names
    previous = Column(JSON, nullable=True)


class MetaRow(Base):
    """Key/value facts about the knowledge base; ``version`` is bumped by every write."""

    __tablename__ = "kb_meta"

    key = Column(String(64), primary_key=True)
    value = Column(String(500), nullable=False)


def decode_vector(
    blob: bytes | None, blob_model: str | None, dimensions: int, model: str
) -> np.ndarray | None:
    """Decode a stored embedding, or None when it is missing, foreign or the wrong size."""
    if blob is None or blob_model != model or len(blob) != dimensions * 4:
        return None
    return np.frombuffer(blob, dtype=np.float32)


def ensure_version_row(session: Session) -> None:
    """Create the version counter at 0 if it does not exist (tolerates a concurrent creator)."""
    if session.get(MetaRow, VERSION_KEY) is not None:
        return
    try:
        with session.begin_nested():
            session.add(MetaRow(key=VERSION_KEY, value="0"))
    except IntegrityError:
        pass  # another process created it between our check and insert


def read_version(session: Session) -> int:
    """The knowledge base's version counter (0 before the first write)."""
    row = session.execute(select(MetaRow.value).where(MetaRow.key == VERSION_KEY)).scalar()
    return int(row) if row is not None else 0


def bump_version(session: Session) -> int:
    """Increment the version inside the caller's transaction and return the new value.

    The row is locked (``FOR UPDATE`` on PostgreSQL; SQLite serialises writers anyway) so
    concurrent writers on several replicas get distinct versions.
    """
    row = session.execute(
        select(MetaRow).where(MetaRow.key == VERSION_KEY).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = MetaRow(key=VERSION_KEY, value="0")
        session.add(row)
    row.value = str(int(row.value) + 1)
    return int(row.value)
