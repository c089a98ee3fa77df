"""THE answer-or-handoff decision.

The bot, the evaluation command and the admin's "test a question" preview all call
``decide``, so what is measured is what runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, Protocol, TypeVar

from knowledge_base.settings import DecisionSettings


class Decision(str, Enum):
    """What the assistant should do with a question, given the search hits."""

    ANSWER = "answer"  # one article is confidently the best
    CLARIFY = "clarify"  # two or more confident articles are too close to pick: ask
    HANDOFF = "handoff"  # nothing confident: a person should take over


class Scored(Protocol):
    """What ``decide`` reads from a hit (``Hit`` satisfies it)."""

    @property
    def article_id(self) -> int:
        """The article the hit is for."""
        ...

    @property
    def score(self) -> float:
        """The article's score; higher is better."""
        ...


_H = TypeVar("_H", bound=Scored)


def decide(hits: Sequence[Scored], settings: DecisionSettings) -> Decision:
    """Decide from per-article hits (any order).

    - no hits, or the best score < ``answer_threshold`` -> HANDOFF;
    - else a second article scoring >= ``answer_threshold`` and less than
      ``clarify_margin`` below the best -> CLARIFY;
    - else ANSWER.
    """
    return decide_explained(hits, settings)[0]


def decide_explained(
    hits: Sequence[Scored], settings: DecisionSettings
) -> tuple[Decision, dict[str, Any]]:
    """``decide``, plus which rule and threshold decided it (for the admin's preview).

    Returns:
        ``(decision, explanation)``; the explanation's ``rule`` is one of ``no_hits``,
        ``below_answer_threshold`` (with ``threshold`` and the best ``score``),
        ``within_clarify_margin`` (with ``threshold`` = the margin, the best ``score``, the
        runner-up's ``second_score``, ``candidates`` and the ``answer_threshold`` the best
        score passed) or ``confident_answer`` (with
        ``threshold``, ``score`` and the runner-up's ``second_score`` or None).
    """
    if not hits:
        return Decision.HANDOFF, {"rule": "no_hits", "threshold": settings.answer_threshold}
    ranked = _best_per_article(hits)
    best = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else None
    if best < settings.answer_threshold:
        return Decision.HANDOFF, {
            "rule": "below_answer_threshold",
            "threshold": settings.answer_threshold,
            "score": best,
        }
    options = clarify_options(hits, settings)
    if len(options) >= 2:
        return Decision.CLARIFY, {
            "rule": "within_clarify_margin",
            "threshold": settings.clarify_margin,
            "score": best,
            "second_score": second,
            "candidates": len(options),
            "answer_threshold": settings.answer_threshold,
        }
    return Decision.ANSWER, {
        "rule": "confident_answer",
        "threshold": settings.answer_threshold,
        "score": best,
        "second_score": second,
    }


def clarify_options(hits: Sequence[_H], settings: DecisionSettings) -> list[_H]:
    """The candidates to offer when ``decide`` says CLARIFY.

    Returns:
        Up to ``clarify_max_options`` hits, one per article: the best, then every other
        confident article less than ``clarify_margin`` below it. Empty when nothing is
        confident; a single hit means there is nothing to clarify.
    """
    if not _confident(hits, settings):
        return []
    best, *rest = _best_per_article(hits)
    close = [
        h
        for h in rest
        if h.score >= settings.answer_threshold and best.score - h.score < settings.clarify_margin
    ]
    return [best, *close][: settings.clarify_max_options]


def _confident(hits: Sequence[Scored], settings: DecisionSettings) -> bool:
    return bool(hits) and max(h.score for h in hits) >= settings.answer_threshold


def _best_per_article(hits: Sequence[_H]) -> list[_H]:
    ranked = sorted(hits, key=lambda h: -h.score)
    seen: set[int] = set()
    out = []
    for h in ranked:
        if h.article_id not in seen:
            seen.add(h.article_id)
            out.append(h)
    return out
