"""Scorers for knowledge bases without many phrasings: ``hybrid`` and ``auto``.

- ``HybridScorer`` (``scoring.type: hybrid``): ``(1 - w) * best cosine + w * BM25`` where BM25
  is ``bm25.ArticleBM25``'s 0-1 score over the article's indexed texts (title, questions,
  answer passages) and ``w`` is ``scoring.bm25_weight``. Dense retrieval finds the candidates
  (``scoring.rank_articles``); BM25 re-scores them, so the exact words of a help center count.
- ``AutoScorer`` (``scoring.type: auto``): after every change it asks
  ``scoring_choice.choose_scoring`` which scoring the knowledge base's shape supports and
  scores with that one; ``name`` says which, so the service takes the decision thresholds of
  that scoring (``decision.by_scoring``).

Both save their state beside the index: ``<index>.bm25.npz`` and ``<index>.scoring.json``
(the head keeps ``<index>.head.npz``).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.bm25 import ArticleBM25
from knowledge_base.errors import VectorIndexError
from knowledge_base.scoring_choice import KnowledgeShape, Scoring, choose_scoring

log = logging.getLogger(__name__)


def sibling(head_file: Path, part: str) -> Path:
    """``<index>.<part>`` beside ``<index>.head.npz`` (the path scorers are given)."""
    head_file = Path(head_file)
    base = head_file.name.removesuffix(".head.npz")
    return head_file.with_name(f"{base}.{part}")


class HybridScorer:
    """Best cosine fused with normalised BM25 at ``weight`` (0 = cosine only)."""

    name = Scoring.HYBRID.value
    needs_fit = True

    def __init__(self, weight: float) -> None:
        self._weight = float(weight)
        self._bm25: ArticleBM25 | None = None

    @property
    def weight(self) -> float:
        """BM25's share of the score (``scoring.bm25_weight``)."""
        return self._weight

    def score(
        self, vector: np.ndarray, best_cosine: dict[int, float], text: str | None = None
    ) -> dict[int, float]:
        """``(1 - weight) * cosine + weight * BM25`` for each candidate.

        Without a fitted BM25 or a query ``text``, the best cosines are returned unchanged.
        """
        bm25 = self._bm25  # one read: a concurrent fit swaps it whole
        if bm25 is None or text is None or not best_cosine:
            return dict(best_cosine)
        lexical = bm25.scores(text, list(best_cosine))
        w = self._weight
        return {a: (1 - w) * c + w * lexical[a] for a, c in best_cosine.items()}

    def fit(
        self,
        article_ids: np.ndarray,
        vectors: np.ndarray,
        version: int,
        model: str,
        texts: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """Fit BM25 on the indexed texts (``texts`` is required; vectors are not used).

        Raises:
            ValueError: ``texts`` is None.
        """
        if texts is None:
            raise ValueError("the hybrid scorer needs the indexed texts")
        self._bm25 = ArticleBM25.fit(np.asarray(article_ids).tolist(), texts, version)

    def restore(self, path: Path, version: int, model: str) -> bool:
        """Load ``<index>.bm25.npz`` if it reflects ``version``; return whether it did."""
        file = sibling(path, "bm25.npz")
        if not file.exists():
            return False
        try:
            bm25 = ArticleBM25.load(file)
        except VectorIndexError as e:
            log.warning("ignoring the BM25 state: %s", e)
            return False
        if bm25.version != version:
            return False
        self._bm25 = bm25
        return True

    def save(self, path: Path) -> None:
        """Save the fitted BM25 to ``<index>.bm25.npz`` (nothing before a fit)."""
        bm25 = self._bm25
        if bm25 is not None:
            bm25.save(sibling(path, "bm25.npz"))


class AutoScorer:
    """Scores with what ``choose_scoring`` picks for the knowledge base's current shape."""

    needs_fit = True

    def __init__(self, scorers: dict, min_phrasings: float, lexical: bool = True) -> None:
        """Take one ``ArticleScorer`` per ``Scoring`` as ``scorers``.

        ``scoring.create_scorer`` builds them; taking them here keeps this module free of an
        import back into ``scoring``.
        """
        if set(scorers) != set(Scoring):
            raise ValueError(f"need one scorer per scoring: {[s.value for s in Scoring]}")
        self._scorers = dict(scorers)
        self._min_phrasings = float(min_phrasings)
        self._lexical = lexical
        self._choice = Scoring.MAX_COSINE
        self.shape = KnowledgeShape(0, 0.0)

    @property
    def name(self) -> str:
        """The scoring in use now (``max_cosine``, ``hybrid`` or ``learned_head``)."""
        return self._choice.value

    def score(
        self, vector: np.ndarray, best_cosine: dict[int, float], text: str | None = None
    ) -> dict[int, float]:
        """Scores from the scorer chosen at the last fit or restore."""
        return self._scorers[self._choice].score(vector, best_cosine, text)

    def fit(
        self,
        article_ids: np.ndarray,
        vectors: np.ndarray,
        version: int,
        model: str,
        texts: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """Choose the scoring for the data's shape, fit that scorer, then switch to it.

        Raises:
            ValueError: ``kinds`` is None.
        """
        if kinds is None:
            raise ValueError("scoring auto needs the kind of each indexed text")
        shape = KnowledgeShape.of(np.asarray(article_ids).tolist(), kinds)
        choice = choose_scoring(shape, self._min_phrasings, self._lexical)
        # Fit first, switch after: searches keep the old scorer until the new one is ready.
        self._scorers[choice].fit(article_ids, vectors, version, model, texts, kinds)
        if choice is not self._choice:
            log.info(
                "scoring auto: %s -> %s (%d articles, median %.1f question variants)",
                self._choice.value,
                choice.value,
                shape.articles,
                shape.phrasings,
            )
        self._choice, self.shape, self._state = choice, shape, (version, model)

    def restore(self, path: Path, version: int, model: str) -> bool:
        """Restore the saved choice and its scorer's state; return whether both loaded.

        Fails (False) when ``<index>.scoring.json`` is missing or unreadable, was saved for
        another version, model or ``min_phrasings``, or its shape would now choose otherwise.
        """
        file = sibling(path, "scoring.json")
        try:
            saved = json.loads(file.read_text(encoding="utf-8"))
            choice = Scoring(saved["choice"])
            shape = KnowledgeShape(int(saved["articles"]), float(saved["phrasings"]))
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if (saved.get("version"), saved.get("model"), saved.get("min_phrasings")) != (
            version,
            model,
            self._min_phrasings,
        ) or choice is not choose_scoring(shape, self._min_phrasings, self._lexical):
            return False
        if not self._scorers[choice].restore(path, version, model):
            return False
        self._choice, self.shape, self._state = choice, shape, (version, model)
        return True

    def save(self, path: Path) -> None:
        """Save the chosen scorer's state and the choice to ``<index>.scoring.json`` atomically."""
        self._scorers[self._choice].save(path)
        version, model = getattr(self, "_state", (None, None))
        doc = {
            "choice": self._choice.value,
            "articles": self.shape.articles,
            "phrasings": self.shape.phrasings,
            "min_phrasings": self._min_phrasings,
            "version": version,
            "model": model,
        }
        file = sibling(path, "scoring.json")
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=file.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f)
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
