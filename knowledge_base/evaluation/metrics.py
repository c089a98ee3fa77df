"""Answer-or-handoff metrics over per-query predictions, and threshold sweeps.

Every decision here is taken by ``knowledge_base.decide`` on the query's ranked hits, with
the thresholds under test: the numbers describe what the bot would do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from knowledge_base.decision import Decision, decide
from knowledge_base.settings import DecisionSettings


@dataclass(frozen=True)
class Candidate:
    """One ranked article for a query (satisfies ``decision.Scored``)."""

    article_id: int
    label: str
    score: float


@dataclass(frozen=True)
class Prediction:
    """A query, its true label, and the articles the knowledge base ranked for it (best first)."""

    text: str
    label: str
    hits: tuple[Candidate, ...]

    @property
    def predicted(self) -> str | None:
        """The label of the best-ranked article; None when nothing was ranked."""
        return self.hits[0].label if self.hits else None

    @property
    def score(self) -> float:
        """The best article's score; -inf when nothing was ranked."""
        return self.hits[0].score if self.hits else float("-inf")


@dataclass(frozen=True)
class Metrics:
    """Rates in [0, 1]; None where undefined (no out-of-scope queries, nothing answered).

    Attributes:
        top1_accuracy: best article is right / in-scope queries (no threshold).
        in_scope_accuracy: answered AND right / in-scope queries.
        oos_recall: handed off / out-of-scope queries.
        wrong_answer_rate: answered but wrong (incl. out-of-scope answered) / answered.
        clarify_rate, handoff_rate, coverage: clarified / handed off / answered, over all queries.
        mcc: Matthews correlation of "handed off" with "is out of scope".
    """

    queries: int
    in_scope: int
    out_of_scope: int
    answer_threshold: float
    clarify_margin: float
    top1_accuracy: float | None
    in_scope_accuracy: float | None
    oos_recall: float | None
    wrong_answer_rate: float | None
    clarify_rate: float
    handoff_rate: float
    coverage: float
    mcc: float | None

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict."""
        return asdict(self)


def decisions(predictions: Sequence[Prediction], settings: DecisionSettings) -> list[Decision]:
    """``decide`` on each prediction's hits."""
    return [decide(p.hits, settings) for p in predictions]


def compute_metrics(
    predictions: Sequence[Prediction], settings: DecisionSettings, oos_label: str
) -> Metrics:
    """Metrics of the decisions ``decide`` takes at ``settings``."""
    return _metrics(predictions, decisions(predictions, settings), settings, oos_label)


def _metrics(
    predictions: Sequence[Prediction],
    taken: Sequence[Decision],
    settings: DecisionSettings,
    oos_label: str,
) -> Metrics:
    n = len(predictions)
    is_oos = np.array([p.label == oos_label for p in predictions], dtype=bool)
    right = np.array([p.predicted == p.label for p in predictions], dtype=bool) & ~is_oos
    answered = np.array([d is Decision.ANSWER for d in taken], dtype=bool)
    handoff = np.array([d is Decision.HANDOFF for d in taken], dtype=bool)
    clarify = np.array([d is Decision.CLARIFY for d in taken], dtype=bool)
    n_in, n_oos, n_ans = int((~is_oos).sum()), int(is_oos.sum()), int(answered.sum())
    return Metrics(
        queries=n,
        in_scope=n_in,
        out_of_scope=n_oos,
        answer_threshold=settings.answer_threshold,
        clarify_margin=settings.clarify_margin,
        top1_accuracy=_rate(right.sum(), n_in),
        in_scope_accuracy=_rate((answered & right).sum(), n_in),
        oos_recall=_rate((handoff & is_oos).sum(), n_oos),
        wrong_answer_rate=_rate((answered & ~right).sum(), n_ans),
        clarify_rate=_rate(clarify.sum(), n) or 0.0,
        handoff_rate=_rate(handoff.sum(), n) or 0.0,
        coverage=_rate(n_ans, n) or 0.0,
        mcc=matthews(handoff, is_oos) if n_oos else None,
    )


def matthews(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Matthews correlation of two boolean arrays; 0.0 when either is constant."""
    predicted, actual = np.asarray(predicted, bool), np.asarray(actual, bool)
    tp = float((predicted & actual).sum())
    tn = float((~predicted & ~actual).sum())
    fp = float((predicted & ~actual).sum())
    fn = float((~predicted & actual).sum())
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / denominator if denominator else 0.0


def threshold_grid(predictions: Sequence[Prediction], steps: int = 81) -> list[float]:
    """Evenly spaced thresholds spanning the predictions' top scores (rounded to 1e-4)."""
    scores = [p.score for p in predictions if p.hits]
    if not scores:
        return [0.0]
    low, high = min(scores), max(scores)
    return sorted({round(float(t), 4) for t in np.linspace(low, high, steps)})


def sweep(
    predictions: Sequence[Prediction],
    settings: DecisionSettings,
    oos_label: str,
    thresholds: Iterable[float] | None = None,
) -> list[Metrics]:
    """``compute_metrics`` at each answer threshold (other decision settings unchanged)."""
    # Only the best two articles can change decide()'s outcome (answer vs clarify needs a
    # second one); trimming the hits keeps a fine sweep over thousands of queries fast.
    keep = max(2, settings.clarify_max_options)
    trimmed = [Prediction(p.text, p.label, p.hits[:keep]) for p in predictions]
    grid = threshold_grid(predictions) if thresholds is None else list(thresholds)
    out = []
    for t in grid:
        at = settings.copy(update={"answer_threshold": float(t)})
        out.append(_metrics(trimmed, decisions(trimmed, at), at, oos_label))
    return out


def _rate(numerator, denominator) -> float | None:
    return float(numerator) / denominator if denominator else None


@dataclass(frozen=True)
class Ranking:
    """How well the ranked articles match the expected one, in-scope queries only.

    Attributes:
        top1: the right article is ranked first; recall_at_k: it is in the first ``k``;
        mrr: mean of 1 / its rank (0 when it is not ranked at all).
    """

    queries: int
    k: int
    top1: float | None
    recall_at_k: float | None
    mrr: float | None

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict."""
        return asdict(self)


def ranking(predictions: Sequence[Prediction], oos_label: str, k: int = 5) -> Ranking:
    """Top-1, recall@k and MRR over the in-scope predictions (their hits, best first)."""
    ranks = []
    for p in predictions:
        if p.label == oos_label:
            continue
        labels = [h.label for h in p.hits]
        ranks.append(labels.index(p.label) + 1 if p.label in labels else None)
    n = len(ranks)
    return Ranking(
        queries=n,
        k=k,
        top1=_rate(sum(r == 1 for r in ranks), n),
        recall_at_k=_rate(sum(r is not None and r <= k for r in ranks), n),
        mrr=_rate(sum(1.0 / r for r in ranks if r is not None), n),
    )
