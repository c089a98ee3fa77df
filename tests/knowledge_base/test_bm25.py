"""BM25 over articles (``bm25``) and its fusion with the dense score (``adaptive_scoring``)."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.adaptive_scoring import AutoScorer, HybridScorer
from knowledge_base.bm25 import ArticleBM25, tokens
from knowledge_base.scoring import LearnedHeadScorer, MaxCosineScorer, create_scorer, head_path
from knowledge_base.scoring_choice import Scoring
from knowledge_base.settings import ScoringSettings

pytestmark = pytest.mark.unit

IDS = [1, 1, 2, 3, 4]
TEXTS = [
    "How do I reset my password?",
    "Tap Forgot password on the sign-in screen and follow the emailed link.",
    "Where is my parcel? Follow the courier tracking link in Orders.",
    "What is my PUK code? The PUK unlocks a blocked SIM card.",
    "How do I top up my balance?",
]


def test_tokens_keep_domain_words_and_meet_inflections():
    assert tokens("How do I top-up my cards?") == ["how", "top", "up", "card"]
    assert tokens("charged") == tokens("charges") == tokens("charging") == tokens("charge")
    assert tokens("the of and") == []
    assert tokens("PUK 1234") == ["puk", "1234"]


def test_scores_are_normalised_and_rank_by_shared_rare_words():
    bm25 = ArticleBM25.fit(IDS, TEXTS)
    s = bm25.scores("my SIM is blocked, what is the PUK")
    assert max(s, key=s.get) == 3 and set(s) == {1, 2, 3, 4}
    assert all(0.0 <= v <= 1.0 for v in s.values())
    assert s[1] == s[2] == s[4] == 0.0
    # Words the knowledge base has never seen pull the score down: off-topic queries score low.
    assert bm25.scores("PUK")[3] > bm25.scores("PUK lasagne recipe tonight")[3] > 0
    assert bm25.scores("lasagne recipe") == {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    assert bm25.scores("parcel", [2, 99]) == {2: pytest.approx(bm25.scores("parcel")[2]), 99: 0.0}


def test_save_and_load_round_trip(tmp_path):
    bm25 = ArticleBM25.fit(IDS, TEXTS, version=7)
    bm25.save(tmp_path / "kb.bm25.npz")
    loaded = ArticleBM25.load(tmp_path / "kb.bm25.npz")
    assert loaded.version == 7
    assert loaded.scores("reset my password") == pytest.approx(bm25.scores("reset my password"))


def test_hybrid_fuses_cosine_and_bm25_at_the_weight():
    vector = np.zeros((1, 4), np.float32)
    cosines = {1: 0.60, 3: 0.58}
    dense_only = HybridScorer(0.0)
    dense_only.fit(np.array(IDS), np.zeros((5, 4)), 1, "m", TEXTS)
    assert dense_only.score(vector, cosines, "PUK blocked SIM") == pytest.approx(cosines)
    hybrid = HybridScorer(0.3)
    hybrid.fit(np.array(IDS), np.zeros((5, 4)), 1, "m", TEXTS)
    fused = hybrid.score(vector, cosines, "PUK blocked SIM")
    lexical = ArticleBM25.fit(IDS, TEXTS).scores("PUK blocked SIM", [1, 3])
    assert fused[1] == pytest.approx(0.7 * 0.60 + 0.3 * lexical[1])
    assert fused[3] == pytest.approx(0.7 * 0.58 + 0.3 * lexical[3])
    assert max(fused, key=fused.get) == 3  # the exact word moved the right article up
    assert hybrid.score(vector, cosines, None) == cosines  # no text: the cosine alone


def test_hybrid_restores_only_its_own_version(tmp_path):
    path = head_path(tmp_path / "kb.index")
    hybrid = HybridScorer(0.3)
    hybrid.fit(np.array(IDS), np.zeros((5, 4)), 4, "m", TEXTS)
    hybrid.save(path)
    assert (tmp_path / "kb.index.bm25.npz").exists()
    assert HybridScorer(0.3).restore(path, 4, "m")
    assert not HybridScorer(0.3).restore(path, 5, "m")  # the knowledge base changed since


def test_auto_needs_one_scorer_per_scoring():
    with pytest.raises(ValueError, match="one scorer per scoring"):
        AutoScorer({Scoring.HYBRID: HybridScorer(0.2)}, min_phrasings=1)


def test_create_scorer_knows_hybrid_and_auto():
    assert isinstance(create_scorer(ScoringSettings(type="hybrid", bm25_weight=0.2)), HybridScorer)
    auto = create_scorer(ScoringSettings(type="auto"))
    assert isinstance(auto, AutoScorer) and auto.name == "max_cosine"  # until fitted


def test_auto_switches_with_the_data_and_restores_its_choice(tmp_path):
    rng = np.random.default_rng(0)
    path = head_path(tmp_path / "kb.index")
    make = lambda: AutoScorer(
        {
            Scoring.MAX_COSINE: MaxCosineScorer(),
            Scoring.HYBRID: HybridScorer(0.3),
            Scoring.LEARNED_HEAD: LearnedHeadScorer(),
        },
        min_phrasings=2,
    )
    auto = make()
    titles = ["title", "title", "title"]
    auto.fit(np.array([1, 2, 3]), rng.normal(size=(3, 8)), 1, "m", ["a b", "c d", "e f"], titles)
    assert auto.name == "hybrid"
    ids = np.array([1, 1, 1, 2, 2, 2, 3, 3, 3])
    kinds = ["title", "question", "question"] * 3
    texts = [f"text {i}" for i in range(9)]
    auto.fit(ids, rng.normal(size=(9, 8)), 2, "m", texts, kinds)
    assert auto.name == "learned_head" and auto.shape.phrasings == 2
    auto.save(path)
    again = make()
    assert again.restore(path, 2, "m") and again.name == "learned_head"
    assert not make().restore(path, 3, "m")  # stale: the service rebuilds and refits
