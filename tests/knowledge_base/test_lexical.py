"""Character n-gram features for the article head."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.lexical import CharNgrams

pytestmark = pytest.mark.unit

TEXTS = ["top up my card", "top-up limit", "withdraw cash at an ATM", "card declined"]


def test_features_are_weighted_unit_rows_of_char_ngrams():
    ngrams = CharNgrams.fit(TEXTS, weight=0.5)
    x = ngrams.transform(["card", "zzzz qqqq"])
    assert x.shape == (2, len(ngrams))
    assert np.linalg.norm(x[0].toarray()) == pytest.approx(0.5)  # L2 rows, times the weight
    assert x[1].nnz == 0  # nothing in common with the vocabulary
    assert "car" in set(ngrams.terms.tolist()) and " c" in set(ngrams.terms.tolist())


def test_rebuilt_from_terms_and_idf_featurises_identically():
    ngrams = CharNgrams.fit(TEXTS, weight=2.0)
    again = CharNgrams(ngrams.terms.tolist(), ngrams.idf, ngrams.weight)
    query = ["my card was declined at the ATM"]
    assert np.allclose(again.transform(query).toarray(), ngrams.transform(query).toarray())
    with pytest.raises(ValueError, match="IDF"):
        CharNgrams(ngrams.terms[:3].tolist(), ngrams.idf, 1.0)


def test_columns_in_maps_shared_terms_and_marks_new_ones():
    old = CharNgrams.fit(["card"], weight=1.0)
    new = CharNgrams.fit(["card", "cash"], weight=1.0)
    cols = new.columns_in(old)
    terms = new.terms.tolist()
    for term, col in zip(terms, cols.tolist()):
        if col >= 0:
            assert old.terms[col] == term
        else:
            assert term not in set(old.terms.tolist())
    assert cols[terms.index("ca")] >= 0 and cols[terms.index("cas")] == -1
