"""What a search hit shows (article slug, title, answer, url; the matched text), remembered.

Reading them from SQL was a third of a search's time under load (two ``IN`` queries per
search, BENCHMARKS.md). They change only with the knowledge base's version, which every write
bumps and the live index follows, so they are remembered per version and forgotten when it
moves. A search racing an edit may show the article as it was a moment before, as it would have
if it had run a moment earlier; the next search reads the new version.

The first search of a version reads the first ``PREFILL`` articles and texts at once (one
query each; all of them for most help centres): reading one hit's details cold cost as much as
the rest of the search (BENCHMARKS.md, "2026-12-06 (2)"), and otherwise every article's first
question after a start or an edit paid it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from knowledge_base.store import ArticleStore

ArticleFields = tuple[str, str, str, "str | None"]  # slug, title, answer, url
MAX_REMEMBERED = 100_000  # articles + texts; past it the memory starts over
PREFILL = 5_000  # articles, and texts, read at a version's first search


class HitDetails:
    """`ArticleStore.describe` with a per-version memory."""

    def __init__(self, store: ArticleStore, prefill: int = PREFILL) -> None:
        self._store = store
        self._prefill = prefill
        self._lock = threading.Lock()
        self._version: int | None = None
        self._prefilled: int | None = None  # the version whose first rows were read
        self._articles: dict[int, ArticleFields] = {}
        self._questions: dict[int, str] = {}

    def describe(
        self, version: int | None, article_ids: Sequence[int], question_ids: Sequence[int]
    ) -> tuple[dict[int, ArticleFields], dict[int, str]]:
        """Fields of ``article_ids`` and texts of ``question_ids`` (absent ids are left out)."""
        if version is not None and version != self._prefilled and self._prefill > 0:
            self._fill(version)
        with self._lock:
            if version is None or version != self._version or (
                len(self._articles) + len(self._questions) > MAX_REMEMBERED
            ):
                self._version, self._articles, self._questions = version, {}, {}
            articles, questions = self._articles, self._questions
            missing_a = [a for a in article_ids if a not in articles]
            missing_q = [q for q in question_ids if q not in questions]
        if missing_a or missing_q:
            fresh_a, fresh_q = self._store.describe(missing_a, missing_q)
            with self._lock:
                if self._version == version:
                    self._articles.update(fresh_a)
                    self._questions.update(fresh_q)
            articles = {**articles, **fresh_a}
            questions = {**questions, **fresh_q}
        return (
            {a: articles[a] for a in article_ids if a in articles},
            {q: questions[q] for q in question_ids if q in questions},
        )

    def _fill(self, version: int) -> None:
        """Remember the first ``prefill`` articles and texts as of ``version``."""
        articles, questions = self._store.describe_first(self._prefill)
        with self._lock:
            if self._version != version:
                self._version, self._articles, self._questions = version, {}, {}
            self._articles.update(articles)
            self._questions.update(questions)
            self._prefilled = version


__all__ = ["HitDetails"]
