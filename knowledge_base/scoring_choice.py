"""THE choice of article scoring for ``scoring.type: auto``, from the knowledge base's own data.

A pure function, like ``decision.decide``: the scorer calls it after every change, the
evaluation reports it, the tests pin it with a table. The learned head classifies a question
into an article by learning from the article's phrasings; with a title and an answer only it
has one example per article and loses to the plain best cosine (benchmarks/QUALITY.md,
"Articles without variants"). Attached questions (the unanswered inbox) add phrasings, and
once most articles have enough of them the head wins: ``auto`` then switches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Scoring(str, Enum):
    """What ``auto`` can choose (each is also a ``scoring.type`` of its own)."""

    MAX_COSINE = "max_cosine"
    HYBRID = "hybrid"  # best cosine fused with BM25
    LEARNED_HEAD = "learned_head"


@dataclass(frozen=True)
class KnowledgeShape:
    """What the choice reads from the knowledge base.

    Attributes:
        articles: published articles in the index.
        phrasings: the median number of question variants per article (titles and answer
            passages not counted; attached questions count).
    """

    articles: int
    phrasings: float

    @classmethod
    def of(cls, article_ids: Iterable[int], kinds: Iterable[str]) -> KnowledgeShape:
        """From the indexed texts: each text's article and kind (title, question, passage)."""
        counts: dict[int, int] = {}
        for article, kind in zip(article_ids, kinds):
            counts[int(article)] = counts.get(int(article), 0) + (kind == "question")
        if not counts:
            return cls(0, 0.0)
        ordered = sorted(counts.values())
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        return cls(len(counts), float(median))


def choose_scoring(shape: KnowledgeShape, min_phrasings: float, lexical: bool = True) -> Scoring:
    """The scoring for a knowledge base of this shape.

    - fewer than two articles: nothing to tell apart, the best cosine (``max_cosine``);
    - at least ``min_phrasings`` question variants per article (median): ``learned_head``;
    - otherwise titles and answers carry the knowledge base: ``hybrid`` (cosine + BM25 over
      those words), or ``max_cosine`` when ``lexical`` is off.
    """
    if shape.articles < 2:
        return Scoring.MAX_COSINE
    if shape.phrasings >= min_phrasings:
        return Scoring.LEARNED_HEAD
    return Scoring.HYBRID if lexical else Scoring.MAX_COSINE
