"""``CharNgrams``: character n-gram TF-IDF features of question texts, for the article head.

Sentence embeddings blur surface forms the knowledge base cares about ("top up" vs "top-up
limit", card vs. cash, product names, typos); character 2-4-grams inside word boundaries keep
them. The article head (``head.py``) fits its logistic regression on
``[embedding, weight * char n-grams]``: on BANKING77 this lifts top-1 from 93.4 to 94.1
(benchmarks/QUALITY.md). The vocabulary and IDF weights are learned from the indexed texts
when the head is fitted and travel with it, so a query is featurised exactly as its training
texts were.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NGRAMS = (2, 4)


class CharNgrams:
    """A fitted ``char_wb`` 2-4-gram TF-IDF vectoriser (sublinear tf, L2 rows) times ``weight``.

    Immutable once fitted; ``fit`` returns a new one.
    """

    def __init__(self, terms: Sequence[str], idf: np.ndarray, weight: float) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if len(terms) != len(idf):
            raise ValueError(f"{len(terms)} terms but {len(idf)} IDF weights")
        self.terms = np.asarray(terms, dtype=str)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.weight = float(weight)
        self._vectoriser = TfidfVectorizer(
            **_OPTIONS, vocabulary={t: i for i, t in enumerate(self.terms.tolist())}
        )
        self._vectoriser.idf_ = self.idf

    @classmethod
    def fit(cls, texts: Sequence[str], weight: float) -> CharNgrams:
        """Learn the vocabulary and IDF weights from ``texts`` (raises ValueError when empty)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectoriser = TfidfVectorizer(**_OPTIONS).fit(list(texts))
        vocabulary = vectoriser.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        return cls(terms, vectoriser.idf_, weight)

    def __len__(self) -> int:
        return len(self.terms)

    def transform(self, texts: Sequence[str]):
        """A sparse ``(len(texts), len(self))`` float32 CSR matrix, rows scaled by ``weight``.

        float32 like the head's weights, so scoring never converts the weight matrix.
        """
        # sklearn's IDF step is float64 whatever ``dtype`` says; a float64 matrix times the
        # head's float32 weights would convert all of them on every query (~1 ms at 18k n-grams)
        return (self._vectoriser.transform(list(texts)) * self.weight).astype(np.float32)

    def columns_in(self, other: CharNgrams) -> np.ndarray:
        """For each of this vocabulary's terms, its column in ``other`` (-1 where absent)."""
        where = {t: i for i, t in enumerate(other.terms.tolist())}
        return np.fromiter((where.get(t, -1) for t in self.terms.tolist()), np.int64, len(self))


_OPTIONS = {
    "analyzer": "char_wb",
    "ngram_range": NGRAMS,
    "sublinear_tf": True,
    "lowercase": True,
}
