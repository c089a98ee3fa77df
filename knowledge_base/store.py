"""``ArticleStore``: every SQL read and write of the knowledge base, in one place.

The store owns transactions and the version counter; it knows nothing about indexes or
models beyond "which stored vectors are usable for this embedder name and size".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from knowledge_base.article_filters import filtered
from knowledge_base.article_rows import (
    apply_spec,
    changed_fields,
    now,
    revision_action,
    same,
    snapshot,
    spec_snapshot,
    sync_texts,
    to_article,
    to_revision,
    to_spec,
)
from knowledge_base.errors import ArticleConflict, ArticleNotFound, StorageError
from knowledge_base.knowledge_file import ArticleSpec
from knowledge_base.models import (
    ArticleRow,
    QuestionRow,
    RevisionRow,
    bump_version,
    decode_vector,
    ensure_version_row,
    read_version,
)
from knowledge_base.records import Article, ArticleStatus, Revision
from knowledge_base.schema import migrate

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
    texts: list[str] = field(default_factory=list)  # the text of each usable row
    kinds: list[str] = field(default_factory=list)  # title, question or passage, per usable row
    stale_kinds: list[str] = field(default_factory=list)  # the same, per stale row


@dataclass
class UpsertResult:
    """What one upsert transaction changed (``version`` is None when nothing was written)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed_ids: list[int] = field(default_factory=list)
    added: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (qid, article, vec)
    articles: list[int] = field(default_factory=list)  # ids of created or updated articles
    version: int | None = None


class ArticleStore:
    """SQL access for articles, indexed texts, stored vectors, revisions and the version.

    Args:
        engine: the caller's engine.
        passage_chars: answers longer than this are also indexed as passages.
        short_answers: index shorter answers too, as one passage each.
    """

    def __init__(
        self, engine: Engine, passage_chars: int = 500, short_answers: bool = False
    ) -> None:
        self._engine = engine
        self._passage_chars = passage_chars
        self._short_answers = short_answers

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
        """Create or migrate the kb_* tables (``knowledge_base.schema``) and the version counter."""
        try:
            migrate(self._engine)
        except SQLAlchemyError as e:
            raise StorageError(f"cannot create or migrate the knowledge base tables: {e}") from e
        with self._session("creating the version counter", write=True) as s:
            ensure_version_row(s)

    def version(self) -> int:
        """The version counter every write bumps (0 before the first)."""
        with self._session("reading the version") as s:
            return read_version(s)

    def counts(self) -> tuple[int, int]:
        """(articles of any status, texts to index: those of published articles)."""
        with self._session("counting articles") as s:
            articles = s.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
            questions = s.execute(
                select(func.count()).select_from(_live_texts(select(QuestionRow.id)).subquery())
            ).scalar_one()
            return int(articles), int(questions)

    def question_articles(self) -> tuple[int, dict[int, int]]:
        """(version, text id -> article id) for every text to index."""
        with self._session("listing questions") as s:
            version = read_version(s)
            rows = s.execute(_live_texts(select(QuestionRow.id, QuestionRow.article_id))).all()
            return version, {int(q): int(a) for q, a in rows}

    def stored_vectors(self, dimensions: int, model: str) -> StoredVectors:
        """Every text to index, with ``model``'s vector where stored, else marked stale."""
        with self._session("reading stored vectors") as s:
            version = read_version(s)
            rows = s.execute(
                _live_texts(
                    select(
                        QuestionRow.id,
                        QuestionRow.article_id,
                        QuestionRow.text,
                        QuestionRow.embedding,
                        QuestionRow.embedding_model,
                        QuestionRow.kind,
                    )
                ).order_by(QuestionRow.id)
            ).all()
        ids, article_ids, vectors, texts, stale = [], [], [], [], []
        kinds, stale_kinds = [], []
        for qid, article_id, text, blob, blob_model, kind in rows:
            vector = decode_vector(blob, blob_model, dimensions, model)
            if vector is None:
                stale.append((qid, article_id, text))
                stale_kinds.append(kind)
            else:
                ids.append(qid)
                article_ids.append(article_id)
                vectors.append(vector)
                texts.append(text)
                kinds.append(kind)
        return StoredVectors(
            version=version,
            ids=np.asarray(ids, dtype=np.int64),
            article_ids=np.asarray(article_ids, dtype=np.int64),
            vectors=np.vstack(vectors) if vectors else np.zeros((0, dimensions), np.float32),
            stale=stale,
            texts=texts,
            kinds=kinds,
            stale_kinds=stale_kinds,
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
        *,
        actor: str = "import",
        actor_name: str | None = None,
        article_id: int | None = None,
        create_only: bool = False,
        publish: bool = False,
    ) -> UpsertResult:
        """Create or update articles by slug in ONE transaction, bumping the version once.

        Indexed texts are matched by text, so an unchanged one keeps its id and vector;
        ``vector_for`` supplies vectors for new texts and for stored vectors of another model.
        Every created or changed article gets a revision row naming ``actor``.

        Args:
            specs: the articles to write, by slug.
            vector_for: encodes a text that has no vector of ``model`` yet.
            dimensions: the vector length ``model`` produces.
            model: the embedder's name; stored vectors of another model count as missing.
            actor: who wrote, kept in each revision (a stable id such as ``agent:3``).
            actor_name: the person's name, kept in the revision beside ``actor``.
            article_id: update this article (one spec; its slug may change) instead of
                matching by slug.
            create_only: refuse specs whose slug exists instead of updating them.
            publish: the write publishes the article's draft: the draft is cleared (even when
                nothing else changes) and the revision is named ``published``.

        Raises:
            ArticleNotFound: ``article_id`` does not exist.
            ArticleConflict: a slug belongs to another article (or exists, with create_only).
        """
        result = UpsertResult()
        with self._session("writing articles", write=True) as s:
            existing = self._rows_by_slug(s, [spec.slug for spec in specs])
            touched = []
            for spec in specs:
                row = _target_row(s, spec, existing.get(spec.slug), article_id, create_only)
                wanted = spec.indexed(self._passage_chars, self._short_answers)
                if publish and row is not None:
                    row.draft = None
                if row is None:
                    row, before, was_live, old_ids = ArticleRow(), None, False, []
                    apply_spec(row, spec)
                    s.add(row)
                    result.created.append(spec.slug)
                elif same(row, spec, wanted, dimensions, model):
                    if publish:  # only the draft goes: the live version keeps its date
                        flag_modified(row, "updated_at")
                    result.unchanged.append(spec.slug)
                    continue
                else:
                    before, was_live = snapshot(row), row.status == ArticleStatus.PUBLISHED.value
                    old_ids = [q.id for q in row.questions]
                    apply_spec(row, spec)
                    row.updated_at = now()
                    result.updated.append(spec.slug)
                fresh = sync_texts(row, wanted, vector_for, dimensions, model, result.removed_ids)
                touched.append((row, fresh, was_live, old_ids, before, spec))
            if not touched:
                return result
            s.flush()  # assigns ids to new articles and texts
            for row, fresh, was_live, old_ids, before, spec in touched:
                if row.status == ArticleStatus.PUBLISHED.value:
                    indexed = fresh if was_live else row.questions
                    result.added += [(q.id, row.id, q.vector(dimensions, model)) for q in indexed]
                else:  # drafts and archived articles leave the index (their vectors stay stored)
                    result.removed_ids += old_ids
                action = revision_action(before, row.status)
                s.add(
                    RevisionRow(
                        article_id=row.id,
                        slug=row.slug,
                        action="published" if publish and before is not None else action,
                        actor=actor,
                        actor_name=actor_name,
                        changed=changed_fields(before, spec_snapshot(spec)),
                        previous=before,
                    )
                )
                result.articles.append(row.id)
            result.version = bump_version(s)
        return result

    def delete(
        self, article_id: int, *, actor: str, actor_name: str | None = None
    ) -> UpsertResult:
        """Delete an article and its indexed texts, recording a revision with its last state.

        Raises:
            ArticleNotFound: no such article.
        """
        with self._session("deleting an article", write=True) as s:
            row = s.get(ArticleRow, article_id, options=[selectinload(ArticleRow.questions)])
            if row is None:
                raise ArticleNotFound(article_id)
            before = snapshot(row)
            removed = [q.id for q in row.questions]
            s.add(
                RevisionRow(
                    article_id=row.id,
                    slug=row.slug,
                    action="deleted",
                    actor=actor,
                    actor_name=actor_name,
                    changed=[],
                    previous=before,
                )
            )
            s.delete(row)
            return UpsertResult(removed_ids=removed, version=bump_version(s))

    def list_articles(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        status: ArticleStatus | None = None,
        tag: str | None = None,
        locale: str | None = None,
        text: str | None = None,
    ) -> tuple[list[Article], int]:
        """A page of articles by ascending id, and how many match the filters in total.

        ``text`` matches the title, slug, answer or a question, case-insensitively (the live
        version: a draft is not searched); ``tag`` is an exact tag.
        """
        query = filtered(select(ArticleRow), status=status, tag=tag, locale=locale, text=text)
        with self._session("listing articles") as s:
            total = s.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = s.execute(
                query.order_by(ArticleRow.id)
                .offset(offset)
                .limit(limit)
                .options(selectinload(ArticleRow.questions))
            ).scalars()
            return [to_article(r) for r in rows], int(total)

    def specs(self, status: ArticleStatus | None = None) -> list[ArticleSpec]:
        """Every article (optionally of one status) as a spec, by slug: what export writes."""
        query = select(ArticleRow).options(selectinload(ArticleRow.questions))
        if status is not None:
            query = query.where(ArticleRow.status == ArticleStatus(status).value)
        with self._session("exporting articles") as s:
            return [to_spec(r) for r in s.execute(query.order_by(ArticleRow.slug)).scalars()]

    def revisions(self, article_id: int) -> list[Revision]:
        """The article's recorded changes, newest first (also after it was deleted)."""
        with self._session("reading revisions") as s:
            rows = s.execute(
                select(RevisionRow)
                .where(RevisionRow.article_id == article_id)
                .order_by(RevisionRow.id.desc())
            ).scalars().all()
            return [to_revision(r, len(rows) - i) for i, r in enumerate(rows)]

    def write_draft(
        self,
        article_id: int,
        make: Callable[[ArticleRow], dict[str, Any] | None],
    ) -> Article:
        """Replace an article's draft with ``make(row)`` (None removes it), in one transaction.

        The article's own columns, its texts and the version stay as they are: a draft is not
        indexed, so other replicas have nothing to rebuild.

        Raises:
            ArticleNotFound: no such article.
            ArticleConflict: the draft's slug belongs to another article.
        """
        with self._session("saving a draft", write=True) as s:
            row = s.get(ArticleRow, article_id, options=[selectinload(ArticleRow.questions)])
            if row is None:
                raise ArticleNotFound(article_id)
            draft = make(row)
            slug = (draft or {}).get("fields", {}).get("slug", row.slug)
            if slug != row.slug:
                other = s.execute(select(ArticleRow.id).where(ArticleRow.slug == slug)).scalar()
                if other is not None:
                    raise ArticleConflict(
                        f"the slug {slug!r} belongs to article {other}; choose another slug"
                    )
            row.draft = draft
            # updated_at dates the live version: a draft save must not move it (onupdate).
            flag_modified(row, "updated_at")
            s.flush()
            return to_article(row)

    @staticmethod
    def _rows_by_slug(s: Session, slugs: list[str]) -> dict[str, ArticleRow]:
        found: dict[str, ArticleRow] = {}
        for chunk in _chunks(slugs):
            found.update(
                (a.slug, a)
                for a in s.execute(
                    select(ArticleRow)
                    .where(ArticleRow.slug.in_(chunk))
                    .options(selectinload(ArticleRow.questions))
                ).scalars()
            )
        return found

    def describe(
        self, article_ids: Sequence[int], question_ids: Sequence[int]
    ) -> tuple[dict[int, tuple[str, str, str, str | None]], dict[int, str]]:
        """Article fields (slug, title, answer, url) and question texts for search hits."""
        with self._session("reading search hits") as s:
            articles = {
                int(r[0]): (r[1], r[2], r[3], r[4])
                for chunk in _chunks(list(article_ids))
                for r in s.execute(_hit_fields().where(ArticleRow.id.in_(chunk))).all()
            }
            questions = {
                int(r[0]): r[1]
                for chunk in _chunks(list(question_ids))
                for r in s.execute(
                    select(QuestionRow.id, QuestionRow.text).where(QuestionRow.id.in_(chunk))
                ).all()
            }
        return articles, questions

    def describe_first(
        self, limit: int
    ) -> tuple[dict[int, tuple[str, str, str, str | None]], dict[int, str]]:
        """`describe` for the first ``limit`` articles and the first ``limit`` texts (by id)."""
        with self._session("reading search hits") as s:
            articles = {
                int(r[0]): (r[1], r[2], r[3], r[4])
                for r in s.execute(_hit_fields().order_by(ArticleRow.id).limit(limit)).all()
            }
            questions = {
                int(r[0]): r[1]
                for r in s.execute(
                    select(QuestionRow.id, QuestionRow.text).order_by(QuestionRow.id).limit(limit)
                ).all()
            }
        return articles, questions

    def article(self, article_id: int) -> Article:
        """Raises ArticleNotFound."""
        with self._session("reading an article") as s:
            row = s.get(ArticleRow, article_id, options=[selectinload(ArticleRow.questions)])
            if row is None:
                raise ArticleNotFound(article_id)
            return to_article(row)


def _hit_fields():
    """The article fields a search hit shows: id, slug, title, answer, url."""
    return select(ArticleRow.id, ArticleRow.slug, ArticleRow.title, ArticleRow.answer, ArticleRow.url)


def _live_texts(query):
    """Restrict a query over kb_questions to texts of published articles (the indexed ones)."""
    return query.join(ArticleRow, ArticleRow.id == QuestionRow.article_id).where(
        ArticleRow.status == ArticleStatus.PUBLISHED.value
    )


def _chunks(items: list[_T]) -> Iterator[list[_T]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _target_row(
    s: Session,
    spec: ArticleSpec,
    by_slug: ArticleRow | None,
    article_id: int | None,
    create_only: bool,
) -> ArticleRow | None:
    """The row `ArticleStore.upsert` writes ``spec`` to; None to create one.

    Raises:
        ArticleNotFound: ``article_id`` does not exist.
        ArticleConflict: the slug belongs to another article (or exists, with create_only).
    """
    if article_id is not None:
        if by_slug is not None and by_slug.id != article_id:
            raise ArticleConflict(
                f"the slug {spec.slug!r} belongs to article {by_slug.id}; choose another slug"
            )
        row = s.get(ArticleRow, article_id, options=[selectinload(ArticleRow.questions)])
        if row is None:
            raise ArticleNotFound(article_id)
        return row
    if create_only and by_slug is not None:
        raise ArticleConflict(
            f"an article with the slug {spec.slug!r} exists (id {by_slug.id}); "
            f"update it with PUT /api/kb/articles/{by_slug.id} or choose another slug"
        )
    return by_slug
