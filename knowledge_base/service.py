"""``KnowledgeBase``: the service that keeps SQL and the vector index in step and searches.

Policy lives here, above the primitives: what gets indexed (every question, the title
included), when the index file is trusted or rebuilt, how question hits become ranked
articles, and the decision taken on them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from knowledge_base.decision import decide
from knowledge_base.embedder import Embedder, create_embedder
from knowledge_base.errors import InvalidQuery, NotReady, StorageError, VectorIndexError
from knowledge_base.index import VectorIndex, create_index, load_index
from knowledge_base.knowledge_file import read_knowledge_file
from knowledge_base.records import Article, Hit, ImportReport, SearchResult
from knowledge_base.rwlock import ReadWriteLock
from knowledge_base.scoring import create_scorer, head_path, rank_articles
from knowledge_base.settings import KnowledgeBaseSettings
from knowledge_base.store import ArticleStore, UpsertResult

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000
MAX_TOP_K = 100


class KnowledgeBase:
    """Articles in SQL, their question vectors in an index, and search over both.

    Args:
        settings: the ``knowledge_base`` section of the config.
        engine: a SQLAlchemy engine (``create_engine(url, future=True)``) owned by the caller.
        index_path: where the index file lives (usually ``Settings.kb_index_path``).
        embedder: overrides the configured embedder (tests pass a ``HashingEmbedder``).
        index: an EMPTY index to use instead of the configured backend; it is filled from
            the stored vectors by ``start()`` (never loaded from the file) and kept for life.

    Construction does no work; call ``start()`` (blocking) before anything else. Searches
    may run concurrently with each other and with imports; writes are serialised.
    """

    def __init__(
        self,
        settings: KnowledgeBaseSettings,
        engine: Engine,
        index_path: Path,
        *,
        embedder: Embedder | None = None,
        index: VectorIndex | None = None,
    ) -> None:
        self._settings = settings
        self._store = ArticleStore(engine)
        self._index_path = Path(index_path)
        self._embedder = embedder
        self._index = index
        self._own_index = index is None
        self._scorer = create_scorer(settings.scoring)
        self._index_version: int | None = None
        self._question_article: dict[int, int] = {}
        self._rw = ReadWriteLock()  # index + question map: concurrent searches, exclusive writes
        self._writer = threading.RLock()  # one import or rebuild at a time

    @property
    def settings(self) -> KnowledgeBaseSettings:
        return self._settings

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise NotReady("the knowledge base is not started yet; call start() first")
        return self._embedder

    def start(self, *, progress: bool = False) -> None:
        """Create tables, load the embedder and make the index reflect the database.

        The index file is used when its recorded version, model and dimensions match the
        database; otherwise the index is rebuilt from the stored vectors (only questions
        without a vector of this model are encoded) and saved atomically. Blocking.

        Raises:
            StorageError, EmbedderError: the database or the model is unusable.
        """
        self._store.create_schema()
        if self._embedder is None:
            self._embedder = create_embedder(self._settings.embedder)
        with self._writer:
            if not (self._own_index and self._load_saved_index()):
                self._rebuild(progress=progress)

    def refresh(self) -> bool:
        """Rebuild the index if another process changed the database; return whether it did."""
        self._require_started()
        with self._writer:
            if self._store.version() == self._index_version:
                return False
            self._rebuild()
            return True

    def import_file(self, path: Path | str, *, progress: bool = False) -> ImportReport:
        """Upsert the articles of a knowledge file by slug, in one transaction.

        Only new or changed questions are encoded; the index is updated in place and saved.
        Articles absent from the file are left alone.

        Raises:
            KnowledgeFileError: the file is invalid (nothing is written).
        """
        self._require_started()
        specs = read_knowledge_file(path)
        with self._writer:
            try:
                result, encoded = self._upsert(specs, progress)
            except StorageError as e:
                if not isinstance(e.__cause__, IntegrityError):
                    raise
                # Another replica inserted one of these slugs concurrently: now they exist.
                result, encoded = self._upsert(specs, progress)
            if result.version is not None:
                self._apply(result)
        return ImportReport(
            created=len(result.created),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
            questions_encoded=encoded,
            version=result.version if result.version is not None else self._store.version(),
            slugs_created=result.created,
            slugs_updated=result.updated,
        )

    def seed_if_empty(self, path: Path | str) -> int:
        """Import ``path`` if the knowledge base has no articles; return articles created."""
        self._require_started()
        with self._writer:
            if self._store.counts()[0]:
                return 0
            return self.import_file(path).created

    def search(self, text: str, top_k: int | None = None) -> SearchResult:
        """Rank articles for a question and decide what to do with it.

        Each article scores the best cosine similarity of any of its questions; the top
        ``top_k`` (default ``settings.search_top_k``) are returned best first.

        Raises:
            InvalidQuery: empty or longer than 2000 characters, or top_k out of 1..100.
        """
        return self.search_many([text], top_k)[0]

    def search_many(self, texts: Sequence[str], top_k: int | None = None) -> list[SearchResult]:
        """``search`` for several questions at once (one encoding batch), e.g. for evaluation.

        Raises:
            InvalidQuery: any text or top_k is invalid (nothing is searched).
        """
        self._require_started()
        queries = [_valid_query(t) for t in texts]
        top_k = self._settings.search_top_k if top_k is None else top_k
        if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise InvalidQuery(f"top_k must be an integer from 1 to {MAX_TOP_K}, got {top_k!r}")
        if not queries:
            return []
        vectors = self.embedder.encode(queries)
        with self._rw.read():
            rankings = [self._rank(vectors[i : i + 1], top_k) for i in range(len(queries))]
        articles, questions = self._store.describe(
            list({a for ranked in rankings for a, _ in ranked}),
            list({qid for ranked in rankings for _, (_, qid) in ranked}),
        )
        results = []
        for ranked in rankings:
            hits = [
                Hit(article_id, *articles[article_id], score=score, matched_question=questions[qid])
                for article_id, (score, qid) in ranked
                if article_id in articles and qid in questions  # deleted since the index was built
            ]
            results.append(SearchResult(decide(hits, self._settings.decision), hits))
        return results

    def _rank(self, vector: np.ndarray, top_k: int) -> list[tuple[int, tuple[float, int]]]:
        """Top (article id, (score, question id)) pairs for one query; hold the read lock."""
        return rank_articles(self._index, self._question_article, vector, top_k, self._scorer)

    def get_article(self, article_id: int) -> Article:
        """Raises ArticleNotFound."""
        self._require_started()
        return self._store.article(article_id)

    def status(self) -> dict:
        """Counts and versions for health checks and the admin console."""
        self._require_started()
        articles, questions = self._store.counts()
        with self._rw.read():
            index_size, index_version = len(self._index), self._index_version
        version = self._store.version()
        return {
            "articles": articles,
            "questions": questions,
            "index_size": index_size,
            "version": version,
            "index_version": index_version,
            "stale": index_version != version,
            "model": self.embedder.name,
            "dimensions": self.embedder.dimensions,
            "index_type": self._settings.index.type,
        }

    # -- index maintenance (callers hold self._writer) --------------------------------------

    def _require_started(self) -> None:
        if self._embedder is None or self._index_version is None:
            raise NotReady("the knowledge base is not started yet; call start() first")

    def _load_saved_index(self) -> bool:
        if not self._index_path.exists():
            log.info("no index file at %s: building it from the database", self._index_path)
            return False
        try:
            index, manifest = load_index(self._settings.index, self._index_path)
        except VectorIndexError as e:
            log.warning("ignoring the index file: %s", e)
            return False
        version, question_article = self._store.question_articles()
        expected = (version, self.embedder.name, self.embedder.dimensions, len(question_article))
        found = (manifest.version, manifest.model, manifest.dimensions, manifest.count)
        if found != expected:
            log.info(
                "index file %s is stale (version, model, dimensions, count = %s; database: %s): "
                "rebuilding it",
                self._index_path,
                found,
                expected,
            )
            return False
        if not self._scorer.restore(head_path(self._index_path), version, self.embedder.name):
            log.info("the article scorer does not match the index: rebuilding both")
            return False
        with self._rw.write():
            self._index, self._question_article, self._index_version = (
                index,
                question_article,
                version,
            )
        return True

    def _rebuild(self, *, progress: bool = False) -> None:
        """Fill a fresh index from the stored vectors, encoding only unusable ones, and save."""
        name, dims = self.embedder.name, self.embedder.dimensions
        stored = self._store.stored_vectors(dims, name)
        ids, article_ids, vectors, version = (
            stored.ids,
            stored.article_ids,
            stored.vectors,
            stored.version,
        )
        if stored.stale:
            log.info("encoding %d question(s) without a %s vector", len(stored.stale), name)
            fresh = self.embedder.encode([t for _, _, t in stored.stale], progress=progress)
            version = self._store.save_vectors([q for q, _, _ in stored.stale], fresh, name)
            ids = np.concatenate([ids, [q for q, _, _ in stored.stale]]).astype(np.int64)
            article_ids = np.concatenate([article_ids, [a for _, a, _ in stored.stale]]).astype(
                np.int64
            )
            vectors = np.vstack([vectors, fresh])
            if version != stored.version + 1:
                version = -1  # someone else wrote meanwhile: stamp stale so refresh() rebuilds
        question_article = dict(zip(ids.tolist(), article_ids.tolist()))
        if self._own_index:
            index = create_index(self._settings.index, dims)
            index.add(ids, vectors)
            with self._rw.write():
                self._index = index
                self._question_article, self._index_version = question_article, version
        else:
            with self._rw.write():
                self._index.remove(np.asarray(list(self._question_article), dtype=np.int64))
                self._index.add(ids, vectors)
                self._question_article, self._index_version = question_article, version
        self._scorer.fit(article_ids, vectors, version, name)
        self._save()

    def _upsert(self, specs, progress: bool) -> tuple[UpsertResult, int]:
        name, dims = self.embedder.name, self.embedder.dimensions
        usable = self._store.usable_texts([s.slug for s in specs], dims, name)
        # Encode before the write transaction so the database is locked only briefly.
        todo = list(
            dict.fromkeys(t for s in specs for t in s.indexed_texts() if (s.slug, t) not in usable)
        )
        cache = dict(zip(todo, self.embedder.encode(todo, progress=progress))) if todo else {}
        encoded = len(todo)

        def vector_for(text: str) -> np.ndarray:
            nonlocal encoded
            if text not in cache:  # the database changed since usable_texts(): rare
                cache[text] = self.embedder.encode([text])[0]
                encoded += 1
            return cache[text]

        return self._store.upsert(specs, vector_for, dims, name), encoded

    def _apply(self, result: UpsertResult) -> None:
        if result.version != (self._index_version or 0) + 1:
            self._rebuild()  # the index missed another process's write: in-place is not enough
            return
        ids = np.asarray([q for q, _, _ in result.added], dtype=np.int64)
        vectors = (
            np.vstack([v for _, _, v in result.added])
            if result.added
            else np.zeros((0, self.embedder.dimensions), np.float32)
        )
        with self._rw.write():
            self._index.remove(np.asarray(result.removed_ids, dtype=np.int64))
            self._index.add(ids, vectors)
            for qid in result.removed_ids:
                self._question_article.pop(qid, None)
            self._question_article.update((q, a) for q, a, _ in result.added)
            self._index_version = result.version
        if self._scorer.needs_fit:
            stored = self._store.stored_vectors(self.embedder.dimensions, self.embedder.name)
            self._scorer.fit(stored.article_ids, stored.vectors, result.version, self.embedder.name)
        self._save()

    def _save(self) -> None:
        with self._rw.read():  # concurrent searches are fine; writers wait
            self._index.save(self._index_path, self._index_version, self.embedder.name)
        self._scorer.save(head_path(self._index_path))


def _valid_query(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidQuery(f"the question must be text, got {type(text).__name__}")
    query = text.strip()
    if not query:
        raise InvalidQuery("the question is empty; send the user's text")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(
            f"the question is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    return query
