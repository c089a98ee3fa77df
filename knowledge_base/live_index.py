"""``LiveIndex``: the in-memory vector index the service searches, kept equal to SQL.

The index is a cache of the vectors stored in SQL. At start-up the saved file is used only
if its manifest (knowledge-base version, model, dimensions, count, backend) matches the
database and it loads cleanly; otherwise — missing, stale, truncated or garbled — it is
rebuilt from the stored vectors (only texts without a vector of this model are encoded)
and saved atomically. Each write is then applied in place and saved again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.embedder import Embedder
from knowledge_base.errors import VectorIndexError
from knowledge_base.index import VectorIndex, create_index, index_class, load_index
from knowledge_base.rwlock import ReadWriteLock
from knowledge_base.scoring import ArticleScorer, MaxCosineScorer, Ranked, head_path, rank_articles
from knowledge_base.settings import IndexSettings
from knowledge_base.store import ArticleStore, UpsertResult

log = logging.getLogger(__name__)


class LiveIndex:
    """The searchable index, its text -> article map and the version it reflects.

    Args:
        settings: the ``knowledge_base.index`` section.
        path: the index file.
        index: an EMPTY index to use for life instead of the configured backend (never
            loaded from or replaced by the file's backend).
        scorer: turns candidates into article scores (``scoring``); fitted on every
            rebuild (and refitted after each write when it ``needs_fit``), saved beside the
            index file and restored with it.

    Searches take the read lock; ``load``/``rebuild``/``apply`` take the write lock and are
    called by one writer at a time (the service serialises them).
    """

    def __init__(
        self,
        settings: IndexSettings,
        path: Path,
        index: VectorIndex | None = None,
        scorer: ArticleScorer | None = None,
    ) -> None:
        self._settings = settings
        self._path = Path(path)
        self._index = index
        self._scorer = scorer if scorer is not None else MaxCosineScorer()
        self._own = index is None
        self._text_article: dict[int, int] = {}
        self.version: int | None = None
        self._rw = ReadWriteLock()

    @property
    def started(self) -> bool:
        """True once an index has been loaded or built."""
        return self.version is not None

    def rank(
        self, vectors: np.ndarray, top_k: int, texts: Sequence[str] | None = None
    ) -> list[Ranked]:
        """``scoring.rank_articles`` for each query row (with its text), under one read lock."""
        with self._rw.read():
            return [
                rank_articles(
                    self._index,
                    self._text_article,
                    vectors[i : i + 1],
                    top_k,
                    self._scorer,
                    None if texts is None else texts[i],
                )
                for i in range(len(vectors))
            ]

    @property
    def scoring(self) -> str:
        """The scoring in use (for ``auto``: the one it chose for the current data)."""
        return self._scorer.name

    def state(self) -> tuple[int, int | None, str]:
        """(size, version, backend type) read together."""
        with self._rw.read():
            return len(self._index), self.version, type(self._index).TYPE

    def load(self, store: ArticleStore, embedder: Embedder) -> bool:
        """Adopt the saved file if it matches the database exactly; return whether it did."""
        if not self._own:
            return False
        if not self._path.exists():
            log.info("no index file at %s: building it from the database", self._path)
            return False
        try:
            index, manifest = load_index(self._settings, self._path)
        except VectorIndexError as e:
            log.warning("ignoring the index file (it will be rebuilt): %s", e)
            return False
        version, text_article = store.question_articles()
        expected = (version, embedder.name, embedder.dimensions, len(text_article))
        found = (manifest.version, manifest.model, manifest.dimensions, manifest.count)
        wanted_class = index_class(self._settings, len(text_article))
        if found != expected or not isinstance(index, wanted_class):
            log.info(
                "index file %s is stale (version, model, dimensions, count = %s, %s; "
                "database: %s, %s): rebuilding it",
                self._path,
                found,
                type(index).__name__,
                expected,
                wanted_class.__name__,
            )
            return False
        if not self._scorer.restore(head_path(self._path), version, embedder.name):
            log.info("the article scorer does not match the index: rebuilding both")
            return False
        with self._rw.write():
            self._index, self._text_article, self.version = index, text_article, version
        return True

    def rebuild(self, store: ArticleStore, embedder: Embedder, *, progress: bool = False) -> None:
        """Fill a fresh index from the stored vectors, encoding only unusable ones, and save."""
        name, dims = embedder.name, embedder.dimensions
        stored = store.stored_vectors(dims, name)
        ids, article_ids, vectors, version = (
            stored.ids,
            stored.article_ids,
            stored.vectors,
            stored.version,
        )
        texts, kinds = list(stored.texts), list(stored.kinds)
        if stored.stale:
            log.info("encoding %d text(s) without a %s vector", len(stored.stale), name)
            fresh = embedder.encode([t for _, _, t in stored.stale], progress=progress)
            version = store.save_vectors([q for q, _, _ in stored.stale], fresh, name)
            ids = np.concatenate([ids, [q for q, _, _ in stored.stale]]).astype(np.int64)
            article_ids = np.concatenate([article_ids, [a for _, a, _ in stored.stale]]).astype(
                np.int64
            )
            vectors = np.vstack([vectors, fresh])
            texts += [t for _, _, t in stored.stale]
            kinds += stored.stale_kinds
            if version != stored.version + 1:
                version = -1  # someone else wrote meanwhile: stamp stale so refresh() rebuilds
        text_article = dict(zip(ids.tolist(), article_ids.tolist()))
        if self._own:
            index = create_index(self._settings, dims, size=len(ids))
            index.add(ids, vectors)
            with self._rw.write():
                self._index, self._text_article, self.version = index, text_article, version
        else:
            with self._rw.write():
                self._index.remove(np.asarray(list(self._text_article), dtype=np.int64))
                self._index.add(ids, vectors)
                self._text_article, self.version = text_article, version
        self._scorer.fit(article_ids, vectors, version, name, texts, kinds)
        self.save(name)

    def apply(self, result: UpsertResult, store: ArticleStore, embedder: Embedder) -> None:
        """Apply one committed write in place, or rebuild when that cannot be done.

        A rebuild happens if the index missed another write, or ``auto`` now wants the other
        backend for the new size.
        """
        size = len(self._text_article) + len(result.added) - len(result.removed_ids)
        if result.version != (self.version or 0) + 1 or (
            self._own and not isinstance(self._index, index_class(self._settings, max(size, 0)))
        ):
            self.rebuild(store, embedder)
            return
        ids = np.asarray([q for q, _, _ in result.added], dtype=np.int64)
        vectors = (
            np.vstack([v for _, _, v in result.added])
            if result.added
            else np.zeros((0, embedder.dimensions), np.float32)
        )
        with self._rw.write():
            self._index.remove(np.asarray(result.removed_ids, dtype=np.int64))
            self._index.add(ids, vectors)
            for qid in result.removed_ids:
                self._text_article.pop(qid, None)
            self._text_article.update((q, a) for q, a, _ in result.added)
            self.version = result.version
        if self._scorer.needs_fit:
            stored = store.stored_vectors(embedder.dimensions, embedder.name)
            self._scorer.fit(
                stored.article_ids,
                stored.vectors,
                result.version,
                embedder.name,
                stored.texts,
                stored.kinds,
            )
        self.save(embedder.name)

    def save(self, model: str) -> None:
        """Write the index file and the scorer's fitted state beside it."""
        with self._rw.read():  # concurrent searches are fine; writers wait
            self._index.save(self._path, self.version, model)
        self._scorer.save(head_path(self._path))
