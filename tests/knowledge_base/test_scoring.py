"""knowledge_base/scoring.py: the learned head's probability exponent (head_score)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from knowledge_base.scoring import LearnedHeadScorer, create_scorer, head_score
from knowledge_base.settings import ScoringSettings

pytestmark = pytest.mark.unit


def test_head_score_is_p_to_the_exponent_times_cosine():
    assert head_score(0.25, 0.8) == pytest.approx(0.5 * 0.8)  # default: sqrt
    assert head_score(0.25, 0.8, 0.5) == float(np.sqrt(0.25) * 0.8)  # bit-identical to before
    assert head_score(0.25, 0.8, 1.0) == pytest.approx(0.2)
    assert head_score(0.0625, 0.8, 0.25) == pytest.approx(0.4)
    assert head_score(1.0, 0.7, 3.0) == pytest.approx(0.7)  # a sure article keeps its cosine
    # a lower exponent leans on the cosine: two articles' gap in p shrinks
    assert head_score(0.9, 0.6, 0.25) - head_score(0.1, 0.6, 0.25) < (
        head_score(0.9, 0.6, 1.0) - head_score(0.1, 0.6, 1.0)
    )


def test_the_exponent_flows_from_settings_to_the_scores():
    assert ScoringSettings().probability_exponent == 0.5  # the shipped default is unchanged
    with pytest.raises(ValidationError):
        ScoringSettings(probability_exponent=0)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    ids = np.repeat(np.arange(10, 13), 6)
    vectors = centres[ids - 10] + 0.3 * rng.normal(size=(len(ids), 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    scorers = {
        e: create_scorer(ScoringSettings(type="learned_head", probability_exponent=e))
        for e in (0.5, 1.0)
    }
    for scorer in scorers.values():
        assert isinstance(scorer, LearnedHeadScorer)
        scorer.fit(ids, vectors, 1, "m")
    p = scorers[1.0].head.probabilities(vectors[:1])[0]
    for e, scorer in scorers.items():
        got = scorer.score(vectors[:1], {10: 0.9, 11: 0.5})
        assert got[10] == pytest.approx(p[0] ** e * 0.9, rel=1e-4)
        assert got[11] == pytest.approx(p[1] ** e * 0.5, rel=1e-4)
