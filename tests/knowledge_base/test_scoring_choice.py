"""``scoring_choice``: which scoring ``auto`` picks for a knowledge base's shape (a pure table)."""

from __future__ import annotations

import pytest

from knowledge_base.scoring_choice import KnowledgeShape, Scoring, choose_scoring

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("articles", "phrasings", "min_phrasings", "lexical", "expected"),
    [
        (0, 0.0, 3, True, Scoring.MAX_COSINE),  # empty: nothing to tell apart
        (1, 9.0, 3, True, Scoring.MAX_COSINE),  # one article: nothing to classify
        (38, 0.0, 3, True, Scoring.HYBRID),  # an imported help center: titles and answers
        (38, 0.0, 3, False, Scoring.MAX_COSINE),  # ... with BM25 turned off (bm25_weight 0)
        (38, 2.5, 3, True, Scoring.HYBRID),  # some attached questions, not enough yet
        (38, 3.0, 3, True, Scoring.LEARNED_HEAD),  # enough phrasings: the head learns from them
        (38, 3.0, 3, False, Scoring.LEARNED_HEAD),
        (150, 100.0, 3, True, Scoring.LEARNED_HEAD),  # CLINC150-like
        (2, 1.0, 1, True, Scoring.LEARNED_HEAD),  # the threshold is the setting's
        (2, 0.0, 0, True, Scoring.LEARNED_HEAD),  # min 0: always the head (with 2+ articles)
    ],
)
def test_choose_scoring_table(articles, phrasings, min_phrasings, lexical, expected):
    shape = KnowledgeShape(articles, phrasings)
    assert choose_scoring(shape, min_phrasings, lexical) is expected


def test_shape_counts_question_variants_only_median_per_article():
    # article 1: title + 3 questions + 2 passages; 2: title + passage; 3: title + 1 question
    ids = [1, 1, 1, 1, 1, 1, 2, 2, 3, 3]
    kinds = ["title", "question", "question", "question", "passage", "passage"]
    kinds += ["title", "passage", "title", "question"]
    assert KnowledgeShape.of(ids, kinds) == KnowledgeShape(3, 1.0)  # counts 3, 0, 1
    assert KnowledgeShape.of([1, 2], ["title", "title"]) == KnowledgeShape(2, 0.0)
    assert KnowledgeShape.of(
        [1, 1, 2, 2, 2], ["title", "question", "title", "question", "question"]
    ) == (
        KnowledgeShape(2, 1.5)  # even count: the mean of the middle two
    )
    assert KnowledgeShape.of([], []) == KnowledgeShape(0, 0.0)
