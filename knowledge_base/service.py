"""``KnowledgeBase``: the service that keeps SQL and the vector index in step and searches.

Policy lives here, above the primitives: what gets indexed (title, questions and the
passages of long answers of published articles), every write's path (SQL commit, then the
index updated in place, so a change is searchable as soon as the call returns), and the
decision taken on search hits. Scoring lives in ``scoring``, the index's life in
``live_index``, SQL in ``store``, file formats in ``ingest``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from knowledge_base import ingest
from knowledge_base.decision import decide_explained
from knowledge_base.editing import ArticleEditing
from knowledge_base.embedder import Embedder, create_embedder
from knowledge_base.errors import (
    InvalidQuery,
    KnowledgeFileError,
    NotReady,
    StorageError,
)
from knowledge_base.hit_details import HitDetails
from knowledge_base.import_preview import ImportPreview, build_preview
from knowledge_base.index import VectorIndex
from knowledge_base.knowledge_file import ArticleSpec
from knowledge_base.live_index import LiveIndex
from knowledge_base.query_vectors import QueryVectors
from knowledge_base.records import (
    ArticleStatus,
    Hit,
    ImportReport,
    SearchResult,
)
from knowledge_base.scoring import create_scorer
from knowledge_base.settings import KnowledgeBaseSettings
from knowledge_base.store import ArticleStore, UpsertResult
from knowledge_base.tuned_model import tuned_model_dir

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000
MAX_TOP_K = 100


class KnowledgeBase(ArticleEditing):
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
        self._store = ArticleStore(
            engine,
            passage_chars=settings.passage_chars,
            short_answers=settings.index_answers == "always",
        )
        self._embedder = embedder
        self._configured = embedder is None  # the embedder follows settings + the tuned model
        self._index_path = Path(index_path)
        self._live = LiveIndex(
            settings.index, Path(index_path), index, create_scorer(settings.scoring)
        )
        self._writer = threading.RLock()  # one write or rebuild at a time
        # Set by the composition root: called with (stage, seconds) for the stages of a search
        # (kb_embed, kb_rank, kb_describe, kb_search), e.g. to feed latency histograms.
        self.observe_stage: Callable[[str, float], None] | None = None
        self._query_vectors = QueryVectors()
        self._hit_details = HitDetails(self._store)

    @property
    def settings(self) -> KnowledgeBaseSettings:
        """The ``knowledge_base`` settings this service was built with."""
        return self._settings

    @property
    def scoring(self) -> str:
        """The scoring in use: ``scoring.type``, or for ``auto`` the one the data supports."""
        return self._live.scoring

    @property
    def decision_settings(self):
        """The decision thresholds of the scoring in use (``decision.by_scoring``)."""
        return self._settings.decision.for_scoring(self._live.scoring)

    @property
    def index_path(self) -> Path:
        """Where the index file lives (the tuned model and scorer state sit beside it)."""
        return self._index_path

    @property
    def embedder(self) -> Embedder:
        """The embedder searches encode with.

        Raises:
            NotReady: ``start()`` has not loaded it yet.
        """
        if self._embedder is None:
            raise NotReady("the knowledge base is not started yet; call start() first")
        return self._embedder

    def start(self, *, progress: bool = False) -> None:
        """Create tables, load the embedder and make the index reflect the database.

        The embedder is the configured one, or the model ``tier1 kb tune`` saved beside the
        index when it was tuned from the configured model (``embedder.create_embedder``).

        The index file is used when its recorded version, model and dimensions match the
        database; otherwise the index is rebuilt from the stored vectors (only questions
        without a vector of this model are encoded) and saved atomically. Blocking.

        Raises:
            StorageError, EmbedderError: the database or the model is unusable.
        """
        self._store.create_schema()
        if self._embedder is None:
            self._embedder = create_embedder(
                self._settings.embedder, tuned_model_dir(self._index_path)
            )
        with self._writer:
            if not self._live.load(self._store, self._embedder):
                self._live.rebuild(self._store, self._embedder, progress=progress)

    def refresh(self) -> bool:
        """Rebuild the index if another process changed the database; return whether it did.

        A model ``tier1 kb tune`` saved meanwhile (it re-encodes, so the version moves) is
        adopted here, so processes sharing the index directory do not re-encode each other's
        vectors back and forth.
        """
        self._require_started()
        with self._writer:
            if self._store.version() == self._live.version:
                return False
            embedder = self.embedder
            if self._configured:
                latest = create_embedder(self._settings.embedder, tuned_model_dir(self._index_path))
                if latest.name != embedder.name:
                    log.info("switching the embedder from %s to %s", embedder.name, latest.name)
                    embedder = latest
            self._live.rebuild(self._store, embedder)
            self._embedder = embedder
            return True

    def reindex(self, *, progress: bool = False) -> dict:
        """Rebuild the index from the stored vectors now and save it; returns ``status()``.

        Only missing vectors are encoded. For an admin who suspects the index, or after a
        model change.
        """
        self._require_started()
        with self._writer:
            self._live.rebuild(self._store, self.embedder, progress=progress)
        return self.status()

    def switch_embedder(self, embedder: Embedder, *, progress: bool = False) -> dict:
        """Search with ``embedder`` from now on; returns ``status()``.

        Every stored text without a vector of its model is re-encoded and the index rebuilt
        and saved (minutes for a large KB; searches keep using the old index until the new
        one is in).
        """
        self._require_started()
        with self._writer:
            self._live.rebuild(self._store, embedder, progress=progress)
            self._embedder = embedder
        return self.status()

    def question_groups(self) -> list[list[str]]:
        """The title and question variants of each published article (for ``kb tune``)."""
        self._require_started()
        return [s.indexed_texts() for s in self._store.specs(ArticleStatus.PUBLISHED)]

    def import_file(
        self, path: Path | str, *, progress: bool = False, actor: str = "import"
    ) -> ImportReport:
        """Upsert the articles of a file by slug, in one transaction.

        The file is YAML, CSV, JSON, Markdown, HTML or a ZIP of them. Only new or changed
        texts are encoded; the index is updated in place and saved. Articles absent from the
        file are left alone.

        Raises:
            KnowledgeFileError: the file is invalid (nothing is written).
            UnsupportedFormat: the file's extension is not a known format.
        """
        self._require_started()
        return self._import(ingest.read_source(path), progress, actor)

    def import_bytes(
        self, filename: str, data: bytes, *, actor: str = "import", actor_name: str | None = None
    ) -> ImportReport:
        """``import_file`` for an upload.

        ``filename``'s extension picks the format; ``actor_name`` names the person in the
        revisions.
        """
        self._require_started()
        return self._import(ingest.parse_source(filename, data), False, actor, actor_name)

    def preview_bytes(self, filename: str, data: bytes) -> ImportPreview:
        """What ``import_bytes`` would do with this upload, row by row; writes nothing.

        Raises:
            UnsupportedFormat: the extension is not a known format.
        """
        self._require_started()
        try:
            specs = list(enumerate(ingest.parse_source(filename, data), start=1))
            error = None
        except KnowledgeFileError as e:
            specs, error = e.valid, e
        slugs = {spec.slug for _, spec in specs}
        stored = {s.slug: s for s in self._store.specs() if s.slug in slugs}
        return build_preview(filename, specs, error, stored)

    def export(self, fmt: str, status: ArticleStatus | None = None) -> bytes:
        """Every article (optionally of one status) in ``fmt`` (csv, json or yaml).

        ``import_bytes`` reads the result back to the same articles.

        Raises:
            UnsupportedFormat: an unknown format.
        """
        self._require_started()
        return ingest.export(self._store.specs(status), fmt)

    def _import(
        self, specs: list[ArticleSpec], progress: bool, actor: str, actor_name: str | None = None
    ) -> ImportReport:
        who = {"actor": actor, "actor_name": actor_name}
        with self._writer:
            try:
                result, encoded = self._upsert(specs, progress, **who)
            except StorageError as e:
                if not isinstance(e.__cause__, IntegrityError):
                    raise
                # Another replica inserted one of these slugs concurrently: now they exist.
                result, encoded = self._upsert(specs, progress, **who)
            if result.version is not None:
                self._live.apply(result, self._store, self.embedder)
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
            return self.import_file(path, actor="seed").created

    def search(self, text: str, top_k: int | None = None) -> SearchResult:
        """Rank articles for a question and decide what to do with it.

        The question's vector is looked up in the vector index (exact with the ``faiss`` and
        ``memory`` backends, approximate with ``hnsw``): the candidates are the articles of the
        nearest indexed texts (title, question variants, passages), each with its best cosine.
        The scoring in use (``scoring.type``, for ``auto`` the one it chose; see
        `knowledge_base.scoring`) gives each candidate one score from that cosine, the query
        vector and, for a lexical scorer, the question's text. The top ``top_k`` (default
        ``settings.search_top_k``) are returned best first with the decision (answer, clarify
        or handoff) made by ``decision``'s thresholds, as ``decision.by_scoring`` sets them for
        the scoring in use.

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
        started = time.perf_counter()
        version = self._live.version  # before ranking: details remembered for this version
        vectors = self._encode_questions(queries)
        embedded = time.perf_counter()
        rankings = self._live.rank(vectors, top_k, queries)
        ranked_at = time.perf_counter()
        articles, questions = self._hit_details.describe(
            version,
            list({a for ranked in rankings for a, _ in ranked}),
            list({qid for ranked in rankings for _, (_, qid) in ranked}),
        )
        described = time.perf_counter()
        results = []
        decision_settings = self.decision_settings
        for ranked in rankings:
            hits = [
                Hit(article_id, *articles[article_id], score=score, matched_question=questions[qid])
                for article_id, (score, qid) in ranked
                if article_id in articles and qid in questions  # deleted since the index was built
            ]
            decision, explanation = decide_explained(hits, decision_settings)
            results.append(SearchResult(decision, hits, explanation))
        if self.observe_stage is not None:
            self.observe_stage("kb_embed", embedded - started)
            self.observe_stage("kb_rank", ranked_at - embedded)
            self.observe_stage("kb_describe", described - ranked_at)
            self.observe_stage("kb_search", time.perf_counter() - started)
        return results

    def embed_question(self, text: str) -> np.ndarray:
        """The question's vector (as `search` would encode it), remembered for a later search.

        Raises:
            InvalidQuery: as for `search`.
        """
        self._require_started()
        return self._encode_questions([_valid_query(text)])[0]

    def _encode_questions(self, queries: Sequence[str]) -> np.ndarray:
        """Vectors of valid queries: recently encoded ones from memory, the rest encoded."""
        embedder = self.embedder
        name = embedder.name
        cached = [self._query_vectors.get(name, q) for q in queries]
        missing = [i for i, v in enumerate(cached) if v is None]
        if missing:
            fresh = embedder.encode([queries[i] for i in missing])
            for i, vector in zip(missing, fresh):
                self._query_vectors.put(name, queries[i], vector)
                cached[i] = vector
        return np.stack(cached).astype(np.float32, copy=False)

    def status(self) -> dict:
        """Counts and versions for health checks and the admin console."""
        self._require_started()
        articles, questions = self._store.counts()
        index_size, index_version, index_type = self._live.state()
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
            "index_type": index_type,
            "scoring": self._live.scoring,
        }

    # -- index maintenance (callers hold self._writer) --------------------------------------

    def _require_started(self) -> None:
        if self._embedder is None or not self._live.started:
            raise NotReady("the knowledge base is not started yet; call start() first")

    def _upsert(self, specs, progress: bool, **options: Any) -> tuple[UpsertResult, int]:
        name, dims = self.embedder.name, self.embedder.dimensions
        usable = self._store.usable_texts([s.slug for s in specs], dims, name)
        # Encode before the write transaction so the database is locked only briefly.
        chars = self._settings.passage_chars
        todo = list(
            dict.fromkeys(
                t
                for s in specs
                for _, t in s.indexed(chars, self._settings.index_answers == "always")
                if (s.slug, t) not in usable
            )
        )
        cache = dict(zip(todo, self.embedder.encode(todo, progress=progress))) if todo else {}
        encoded = len(todo)

        def vector_for(text: str) -> np.ndarray:
            nonlocal encoded
            if text not in cache:  # the database changed since usable_texts(): rare
                cache[text] = self.embedder.encode([text])[0]
                encoded += 1
            return cache[text]

        return self._store.upsert(specs, vector_for, dims, name, **options), encoded


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
