"""Hit details are read once per knowledge-base version and forgotten when it moves."""

from __future__ import annotations

import pytest

from knowledge_base.hit_details import HitDetails

pytestmark = pytest.mark.unit


class FakeStore:
    def __init__(self) -> None:
        self.titles = {1: "Reset your password", 2: "Track an order"}
        self.calls: list[tuple[list[int], list[int]]] = []

    def describe(self, article_ids, question_ids):
        self.calls.append((list(article_ids), list(question_ids)))
        articles = {a: (f"a{a}", self.titles[a], "answer", None)
                    for a in article_ids if a in self.titles}
        return articles, {q: f"question {q}" for q in question_ids if q < 100}

    def describe_first(self, limit):
        self.calls.append(("first", limit))
        articles = {a: (f"a{a}", self.titles[a], "answer", None) for a in sorted(self.titles)[:limit]}
        return articles, {q: f"question {q}" for q in range(1, limit + 1)}


def test_details_are_remembered_per_version_and_reread_when_it_moves():
    store = FakeStore()
    details = HitDetails(store, prefill=0)
    articles, questions = details.describe(7, [1, 2], [10, 20])
    assert articles[1][1] == "Reset your password" and questions == {10: "question 10",
                                                                       20: "question 20"}
    assert details.describe(7, [2, 1], [20]) == ({2: articles[2], 1: articles[1]},
                                                 {20: "question 20"})
    assert store.calls == [([1, 2], [10, 20])]  # the second search read nothing

    store.titles[1] = "Reset or change your password"  # an edit: the version moves
    articles, _ = details.describe(8, [1], [10])
    assert articles[1][1] == "Reset or change your password"
    assert store.calls[-1] == ([1], [10])

    # deleted since the index was built: left out, and asked again next time
    assert details.describe(8, [3], [500]) == ({}, {})
    details.describe(8, [3], [])
    assert store.calls[-1] == ([3], [])


def test_a_versions_first_search_reads_the_first_rows_at_once_and_the_rest_as_asked():
    store = FakeStore()
    store.titles[3] = "Cancel an order"
    details = HitDetails(store, prefill=2)
    articles, questions = details.describe(7, [2], [5])
    assert articles == {2: ("a2", "Track an order", "answer", None)} and questions == {5: "question 5"}
    assert store.calls == [("first", 2), ([], [5])]  # a text past the first 2: asked for
    store.calls.clear()
    assert details.describe(7, [1], [2]) == ({1: ("a1", "Reset your password", "answer", None)},
                                             {2: "question 2"})
    assert store.calls == []  # remembered from the first read
    assert details.describe(7, [3], [50])[0][3][1] == "Cancel an order"
    assert store.calls == [([3], [50])]  # past the prefill: read when a hit needs it

    store.titles[1] = "Reset or change your password"
    store.calls.clear()
    assert details.describe(8, [1], [2])[0][1][1] == "Reset or change your password"
    assert store.calls == [("first", 2)]  # the next version reads afresh
