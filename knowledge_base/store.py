"""``ArticleStore``: every SQL read and write of the knowledge base, in one place.

The store owns transactions and the version counter; it knows nothing about indexes or
models beyond "which stored vectors are usable for this embedder name and size".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from knowledge_base.errors import ArticleNotFound, StorageError
from knowledge_base.knowledge_file import ArticleSpec
from knowledge_base.models import (
    ArticleRow,
    Base,
    QuestionRow,
    bump_version,
    decode_vector,
    ensure_version_row,
    read_version,
)
from knowledge_base.records import Article

_CHUNK = 500  # stays far below SQLite's bound-parameter limit
_T = TypeVar("_T")


@dataclass
class StoredVectors:
    """Every indexed question as stored, split into usable vectors and ones to re-encode.

    ``version`` is read before the rows, so if a writer commits in between the vectors are
    newer than the version: the index is then rebuilt once more than needed, never stale.
    """

    version: int
    ids: np.ndarray
    article_ids: np.ndarray
    vectors: np.ndarray
    stale: list[tuple[int, int, str]]  # (question id, article id, text)


@dataclass
class UpsertResult:
    """What one upsert transaction changed (``version`` is None when nothing was written)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed_ids: list[int] = field(default_factory=list)
    added: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (qid, article, vec)
    version: int | None = None


class ArticleStore:
    """SQL access for articles, questions, stored vectors and the version counter."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _session(self, action: str, *, write: bool = False) -> Iterator[Session]:
        try:
            with Session(self._engine, future=True) as session:
                if write:
                    with session.begin():
                        yield session
                else:
                    yield session
        except SQLAlchemyError as e:
            raise StorageError(
                f"the knowledge base database failed while {action}: {e.__class__.__name__}: {e}; "
                "check that the database is reachable and its schema is tier1's"
            ) from e

    def create_schema(self) -> None:
        """Create the kb_* tables and the version counter if missing."""
        try:
            Base.metadata.create_all(self._engine)
        except SQLAlchemyError as e:
            raise StorageError(f"cannot create the knowledge base tables: {e}") from e
        with self._session("creating the version counter", write=True) as s:
            ensure_version_row(s)

    def version(self) -> int:
        with self._session("reading the version") as s:
            return read_version(s)

    def counts(self) -> tuple[int, int]:
        """(articles, indexed questions)."""
        with self._session("counting articles") as s:
            articles = s.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
            questions = s.execute(select(func.count()).select_from(QuestionRow)).scalar_one()
            return int(articles), int(questions)

    def question_articles(self) -> tuple[int, dict[int, int]]:
        """(version, question id -> article id) for every indexed question."""
        with self._session("listing questions") as s:
            version = read_version(s)
            rows = s.execute(select(QuestionRow.id, QuestionRow.article_id)).all()
            return version, {int(q): int(a) for q, a in rows}

    def stored_vectors(self, dimensions: int, model: str) -> StoredVectors:
        with self._session("reading stored vectors") as s:
            version = read_version(s)
            rows = s.execute(
                select(
                    QuestionRow.id,
                    QuestionRow.article_id,
                    QuestionRow.text,
                    QuestionRow.embedding,
                    QuestionRow.embedding_model,
                ).order_by(QuestionRow.id)
            ).all()
        ids, article_ids, vectors, stale = [], [], [], []
        for qid, article_id, text, blob, blob_model in rows:
            vector = decode_vector(blob, blob_model, dimensions, model)
            if vector is None:
                stale.append((qid, article_id, text))
            else:
                ids.append(qid)
                article_ids.append(article_id)
                vectors.append(vector)
        return StoredVectors(
            version=version,
            ids=np.asarray(ids, dtype=np.int64),
            article_ids=np.asarray(article_ids, dtype=np.int64),
            vectors=np.vstack(vectors) if vectors else np.zeros((0, dimensions), np.float32),
            stale=stale,
        )

    def save_vectors(self, ids: Sequence[int], vectors: np.ndarray, model: str) -> int:
        """Store re-encoded vectors for existing questions; return the new version."""
        mappings = [
            {
                "id": int(qid),
                "embedding": np.asarray(v, np.float32).tobytes(),
                "embedding_model": model,
            }
            for qid, v in zip(ids, vectors)
        ]
        with self._session("storing vectors", write=True) as s:
            s.bulk_update_mappings(QuestionRow, mappings)
            return bump_version(s)

    def usable_texts(
        self, slugs: Iterable[str], dimensions: int, model: str
    ) -> set[tuple[str, str]]:
        """(slug, text) pairs already stored with a usable vector for this embedder."""
        found: set[tuple[str, str]] = set()
        with self._session("reading stored questions") as s:
            for chunk in _chunks(list(slugs)):
                rows = s.execute(
                    select(
                        ArticleRow.slug,
                        QuestionRow.text,
                        QuestionRow.embedding,
                        QuestionRow.embedding_model,
                    )
                    .join(QuestionRow, QuestionRow.article_id == ArticleRow.id)
                    .where(ArticleRow.slug.in_(chunk))
                ).all()
                found.update(
                    (slug, text)
                    for slug, text, blob, blob_model in rows
                    if decode_vector(blob, blob_model, dimensions, model) is not None
                )
        return found

    def upsert(
        self,
        specs: Sequence[ArticleSpec],
        vector_for: Callable[[str], np.ndarray],
        dimensions: int,
        model: str,
    ) -> UpsertResult:
        """Create or update articles by slug in ONE transaction, bumping the version once.

        Question rows are matched by text, so an unchanged question keeps its id and vector;
        ``vector_for`` supplies vectors for new texts and for stored vectors of another model.
        """
        result = UpsertResult()
        with self._session("importing articles", write=True) as s:
            existing: dict[str, ArticleRow] = {}
            for chunk in _chunks([spec.slug for spec in specs]):
                existing.update(
                    (a.slug, a)
                    for a in s.execute(
                        select(ArticleRow)
                        .where(ArticleRow.slug.in_(chunk))
                        .options(selectinload(ArticleRow.questions))
                    ).scalars()
                )
            touched: list[tuple[ArticleRow, list[QuestionRow]]] = []
            for spec in specs:
                row = existing.get(spec.slug)
                if row is None:
                    row = ArticleRow(
                        slug=spec.slug,
                        title=spec.title,
                        answer=spec.answer,
                        url=spec.url,
                        tags=list(spec.tags),
                    )
                    s.add(row)
                    result.created.append(spec.slug)
                elif _same(row, spec, dimensions, model):
                    result.unchanged.append(spec.slug)
                    continue
                else:
                    row.title, row.answer, row.url, row.tags = (
                        spec.title,
                        spec.answer,
                        spec.url,
                        list(spec.tags),
                    )
                    row.updated_at = datetime.now(timezone.utc)
                    result.updated.append(spec.slug)
                touched.append(
                    (row, _sync_questions(row, spec, vector_for, dimensions, model, result))
                )
            if not touched:
                return result
            s.flush()  # assigns ids to new articles and questions
            for row, changed in touched:
                result.added += [(q.id, row.id, q.vector(dimensions, model)) for q in changed]
            result.version = bump_version(s)
        return result

    def describe(
        self, article_ids: Sequence[int], question_ids: Sequence[int]
    ) -> tuple[dict[int, tuple[str, str, str, str | None]], dict[int, str]]:
        """Article fields (slug, title, answer, url) and question texts for search hits."""
        with self._session("reading search hits") as s:
            articles = {
                int(r[0]): (r[1], r[2], r[3], r[4])
                for chunk in _chunks(list(article_ids))
                for r in s.execute(
                    select(
                        ArticleRow.id,
                        ArticleRow.slug,
                        ArticleRow.title,
                        ArticleRow.answer,
                        ArticleRow.url,
                    ).where(ArticleRow.id.in_(chunk))
                ).all()
            }
            questions = {
                int(r[0]): r[1]
                for chunk in _chunks(list(question_ids))
                for r in s.execute(
                    select(QuestionRow.id, QuestionRow.text).where(QuestionRow.id.in_(chunk))
                ).all()
            }
        return articles, questions

    def article(self, article_id: int) -> Article:
        """Raises ArticleNotFound."""
        with self._session("reading an article") as s:
            row = s.get(ArticleRow, article_id, options=[selectinload(ArticleRow.questions)])
            if row is None:
                raise ArticleNotFound(article_id)
            return Article(
                id=row.id,
                slug=row.slug,
                title=row.title,
                answer=row.answer,
                url=row.url,
                tags=list(row.tags or []),
                questions=[q.text for q in row.questions if q.position > 0],
                created_at=_utc(row.created_at),
                updated_at=_utc(row.updated_at),
            )


def _same(row: ArticleRow, spec: ArticleSpec, dimensions: int, model: str) -> bool:
    return (
        (row.title, row.answer, row.url, list(row.tags or []))
        == (spec.title, spec.answer, spec.url, list(spec.tags))
        and [q.text for q in row.questions] == spec.indexed_texts()
        and all(q.vector(dimensions, model) is not None for q in row.questions)
    )


def _sync_questions(
    row: ArticleRow,
    spec: ArticleSpec,
    vector_for: Callable[[str], np.ndarray],
    dimensions: int,
    model: str,
    result: UpsertResult,
) -> list[QuestionRow]:
    """Make ``row.questions`` match the spec; return the rows whose vector must be (re)indexed."""
    by_text = {q.text: q for q in row.questions}
    wanted = spec.indexed_texts()
    for q in list(row.questions):
        if q.text not in wanted:
            if q.id is not None:
                result.removed_ids.append(q.id)
            row.questions.remove(q)  # delete-orphan cascade deletes the row
    changed = []
    for position, text in enumerate(wanted):
        q = by_text.get(text)
        if q is None:
            q = QuestionRow(text=text)
            row.questions.append(q)
        q.position = position
        if q.vector(dimensions, model) is None:
            q.set_vector(vector_for(text), model)
            changed.append(q)
    row.questions.sort(key=lambda q: q.position)
    return changed


def _utc(moment: datetime) -> datetime:
    # SQLite drops the zone of timezone-aware columns; every stored time is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _chunks(items: list[_T]) -> Iterator[list[_T]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
