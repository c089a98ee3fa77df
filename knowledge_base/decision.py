"""THE answer-or-handoff decision.

The bot, the evaluation command and the admin's "test a question" preview all call
``decide``, so what is measured is what runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol, TypeVar

from knowledge_base.settings import DecisionSettings


class Decision(str, Enum):
    """What the assistant should do with a question, given the search hits."""

    ANSWER = "answer"  # one article is confidently the best
    CLARIFY = "clarify"  # two or more confident articles are too close to pick: ask
    HANDOFF = "handoff"  # nothing confident: a person should take over


class Scored(Protocol):
    """What ``decide`` reads from a hit (``Hit`` satisfies it)."""

    @property
    def article_id(self) -> int: ...

    @property
    def score(self) -> float: ...


_H = TypeVar("_H", bound=Scored)


def decide(hits: Sequence[Scored], settings: DecisionSettings) -> Decision:
    """Decide from per-article hits (any order).

    - no hits, or the best score < ``answer_threshold`` -> HANDOFF;
    - else a second article scoring >= ``answer_threshold`` and less than
      ``clarify_margin`` below the best -> CLARIFY;
    - else ANSWER.
    """
    if not _confident(hits, settings):
        return Decision.HANDOFF
    if len(clarify_options(hits, settings)) >= 2:
        return Decision.CLARIFY
    return Decision.ANSWER


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
