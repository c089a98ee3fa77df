"""How indexed-text hits become ranked articles: the one place search scoring lives.

``rank_articles`` finds candidate articles by their best indexed-text cosine (title, question
variants, passages: max over an article's texts) and hands them to an ``ArticleScorer``,
which turns them into the ONE score per article that ``decide`` thresholds. One factory,
keyed by ``knowledge_base.scoring.type``:

- ``max_cosine``: the best cosine itself (no fitting; useful thresholds ~0.45-0.65).
- ``learned_head``: ``sqrt(p(article | query)) * max_cosine`` where ``p`` comes from an
  ``ArticleHead`` fitted on all indexed vectors (and, with ``lexical_weight > 0``, on their
  texts' character n-grams, so scoring then needs the query text too). ``p`` says which
  article, the cosine says whether the query is near the knowledge base at all; the product
  beats either alone at every operating point measured (benchmarks/QUALITY.md). Scores are
  smaller (useful thresholds ~0.15-0.4), so ``decision.answer_threshold`` must be calibrated
  for the type in use (``tier1 kb calibrate``).
- ``hybrid``: the best cosine fused with BM25 over the article's words
  (``adaptive_scoring.HybridScorer``).
- ``auto``: one of the three, chosen from the knowledge base's own data after every change
  (``scoring_choice.choose_scoring``; ``adaptive_scoring.AutoScorer``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from knowledge_base.errors import UnsupportedBackend, VectorIndexError
from knowledge_base.head import ArticleHead
from knowledge_base.index import VectorIndex
from knowledge_base.settings import ScoringSettings

log = logging.getLogger(__name__)

# Texts fetched per wanted article: articles have several texts each, and the per-article
# max needs enough of them to fill top_k distinct articles.
OVERFETCH = 8

Ranked = list[tuple[int, tuple[float, int]]]  # (article id, (score, best text id))


def rank_articles(
    index: VectorIndex,
    text_article: Mapping[int, int],
    vector: np.ndarray,
    top_k: int,
    scorer: ArticleScorer | None = None,
    text: str | None = None,
) -> Ranked:
    """Top ``top_k`` articles for one query vector, best first (ties: lower article id).

    Args:
        index: the vector index (the caller holds its read lock).
        text_article: indexed text id -> article id; ids missing here are ignored.
        vector: the query, shape ``(1, dimensions)``.
        top_k: how many articles to return at most.
        scorer: turns the candidates' best cosines into article scores (default: the
            best cosine is the score).
        text: the query's text (a lexical scorer needs it).
    """
    best: dict[int, tuple[float, int]] = {}
    size = len(index)
    k = min(size, top_k * OVERFETCH)
    while k:
        scores, ids = index.search(vector, k)
        best.clear()
        for score, qid in zip(scores[0].tolist(), ids[0].tolist()):
            article = text_article.get(qid)
            if article is not None and article not in best:
                best[article] = (float(score), qid)  # rows are best-first: first is the max
        if len(best) >= top_k or k >= size:
            break
        k = min(size, k * 4)
    if scorer is not None:
        scores = scorer.score(vector, {a: s for a, (s, _) in best.items()}, text)
        best = {a: (scores[a], qid) for a, (_, qid) in best.items()}
    return sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:top_k]


class ArticleScorer(Protocol):
    """Scores candidate articles for one query.

    ``name`` is the scoring in use (``scoring.type``; for ``auto``, the one it chose): the
    decision thresholds are per scoring (``DecisionSettings.for_scoring``).

    ``score`` may run concurrently with ``fit``/``restore``: implementations swap their state
    in one assignment so a search sees either the old or the new model, never half of one.
    """

    @property
    def needs_fit(self) -> bool:
        """Whether ``fit`` must see every stored vector after each knowledge-base change."""
        ...

    def score(
        self, vector: np.ndarray, best_cosine: dict[int, float], text: str | None = None
    ) -> dict[int, float]:
        """Article scores for one query.

        Args:
            vector: the query vector, shape ``(1, dimensions)``.
            best_cosine: candidate article id -> its best question cosine.
            text: the query text (required by a scorer with a lexical part).

        Returns:
            candidate article id -> score (higher is better); the same keys.
        """
        ...

    def fit(
        self,
        article_ids: np.ndarray,
        vectors: np.ndarray,
        version: int,
        model: str,
        texts: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """Refit on every stored question vector.

        Row i belongs to ``article_ids[i]``, has the text ``texts[i]`` and is of kind
        ``kinds[i]``: title, question or passage.
        """
        ...

    def restore(self, path: Path, version: int, model: str) -> bool:
        """Load the state saved at ``path`` if it reflects ``version`` and ``model``."""
        ...

    def save(self, path: Path) -> None:
        """Persist the fitted state (beside the index) atomically; no-op when stateless."""
        ...


class MaxCosineScorer:
    """An article scores its best question cosine. Stateless."""

    name = "max_cosine"
    needs_fit = False

    def score(
        self, vector: np.ndarray, best_cosine: dict[int, float], text: str | None = None
    ) -> dict[int, float]:
        """Each candidate's best cosine, unchanged."""
        return dict(best_cosine)

    def fit(
        self,
        article_ids: np.ndarray,
        vectors: np.ndarray,
        version: int,
        model: str,
        texts: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """Nothing to fit: the scorer is stateless."""

    def restore(self, path: Path, version: int, model: str) -> bool:
        """Always succeeds: there is no state to load."""
        return True

    def save(self, path: Path) -> None:
        """Nothing to save: the scorer is stateless."""


def head_score(p: float, cosine: float, exponent: float = 0.5) -> float:
    """An article's learned-head score: ``p ** exponent * cosine`` (0.5: the square root).

    ``p`` (the head's probability) says which article, ``cosine`` (the best question's)
    whether the query is near the knowledge base at all; the exponent weighs the two.
    """
    if exponent == 0.5:
        return float(np.sqrt(p) * cosine)
    return float(np.power(p, exponent) * cosine)


class LearnedHeadScorer:
    """``sqrt(p(article | query)) * best cosine`` with an ``ArticleHead``.

    With fewer than two articles there is nothing to classify: the head is absent and the
    score is the best cosine alone. With ``lexical_weight > 0`` the head also reads character
    n-grams of the texts (``lexical.CharNgrams``).
    """

    name = "learned_head"
    needs_fit = True

    def __init__(
        self,
        C: float = 10.0,
        max_iter: int = 300,
        lexical_weight: float = 0.0,
        probability_exponent: float = 0.5,
    ) -> None:
        self._C = C
        self._max_iter = max_iter
        self._lexical_weight = float(lexical_weight)
        self._exponent = float(probability_exponent)
        self._head: ArticleHead | None = None

    @property
    def head(self) -> ArticleHead | None:
        """The fitted head, or None before a fit/restore or with fewer than two articles."""
        return self._head

    def score(
        self, vector: np.ndarray, best_cosine: dict[int, float], text: str | None = None
    ) -> dict[int, float]:
        """``head_score`` of each candidate; the best cosine alone while there is no head.

        A candidate the head has not seen (added mid-refit) scores 0.
        """
        head = self._head  # one read: a concurrent fit swaps the whole head
        if head is None:
            return dict(best_cosine)
        p = head.probabilities(vector, None if text is None else [text])[0]
        out = {}
        for article, cosine in best_cosine.items():
            col = head.column(article)
            # An article the head has not seen yet (mid-refit) cannot be vouched for.
            out[article] = head_score(p[col], cosine, self._exponent) if col is not None else 0.0
        return out

    def fit(
        self,
        article_ids: np.ndarray,
        vectors: np.ndarray,
        version: int,
        model: str,
        texts: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """Fit a new head on all indexed vectors (and texts), warm-started from the old one."""
        self._head = ArticleHead.fit(
            article_ids,
            vectors,
            C=self._C,
            max_iter=self._max_iter,
            version=version,
            model=model,
            previous=self._head,
            texts=texts,
            lexical_weight=self._lexical_weight,
        )

    def restore(self, path: Path, version: int, model: str) -> bool:
        """Load the head saved at ``path`` if it matches ``version``, ``model`` and weight.

        Returns:
            Whether a head was loaded; a missing, unreadable or stale file gives False.
        """
        path = Path(path)
        if not path.exists():
            return False
        try:
            head = ArticleHead.load(path)
        except VectorIndexError as e:
            log.warning("ignoring the article head: %s", e)
            return False
        if (head.version, head.model, head.lexical_weight) != (
            version,
            model,
            self._lexical_weight,
        ):
            return False
        self._head = head
        return True

    def save(self, path: Path) -> None:
        """Save the head to ``path``, or delete a stale file there when there is no head."""
        head = self._head
        if head is not None:
            head.save(path)
        else:
            Path(path).unlink(missing_ok=True)


def create_scorer(settings: ScoringSettings) -> ArticleScorer:
    """The scorer for ``settings.type``.

    Raises:
        UnsupportedBackend: an unknown type.
    """
    if settings.type == "max_cosine":
        return MaxCosineScorer()
    if settings.type == "learned_head":
        return LearnedHeadScorer(
            C=settings.C,
            max_iter=settings.max_iter,
            lexical_weight=settings.lexical_weight,
            probability_exponent=settings.probability_exponent,
        )
    if settings.type in ("hybrid", "auto"):
        from knowledge_base.adaptive_scoring import AutoScorer, HybridScorer
        from knowledge_base.scoring_choice import Scoring

        hybrid = HybridScorer(settings.bm25_weight)
        if settings.type == "hybrid":
            return hybrid
        head = LearnedHeadScorer(
            C=settings.C,
            max_iter=settings.max_iter,
            lexical_weight=settings.lexical_weight,
            probability_exponent=settings.probability_exponent,
        )
        scorers = {Scoring.MAX_COSINE: MaxCosineScorer(), Scoring.HYBRID: hybrid}
        scorers[Scoring.LEARNED_HEAD] = head
        return AutoScorer(scorers, settings.auto_min_phrasings, settings.bm25_weight > 0)
    raise UnsupportedBackend(
        f"unknown knowledge_base.scoring.type {settings.type!r}; use max_cosine, learned_head, "
        "hybrid or auto"
    )


def head_path(index_path: Path) -> Path:
    """Where the scorer's state lives: beside the index file."""
    index_path = Path(index_path)
    return index_path.with_name(index_path.name + ".head.npz")
