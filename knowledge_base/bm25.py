"""``ArticleBM25``: Okapi BM25 over one document per article, scored on a fixed 0-1 scale.

Sentence embeddings match meaning but blur the exact words a help center is full of
(product names, "PUK", "eSIM", "top-up"); BM25 matches exactly those. An article's document
is every text the knowledge base indexes for it (title, question variants, answer passages).

The raw BM25 sum grows with the query's length, so it cannot be thresholded or mixed with a
cosine as it is. ``scores`` divides it by the most the query could score — every query term
at full saturation, ``sum(idf(t) * (k1 + 1))`` — where a term the knowledge base has never
seen counts with the IDF of a term in no document. The result is the share of the query's
information the article matches: 0 when nothing, about 1 when everything, whatever the
query's length; a question full of words the knowledge base does not know scores low
everywhere, which is what the answer-or-handoff decision needs.

Tokens: lower-cased words and numbers, English stop words dropped, a light suffix stripping
(``charges``/``charged``/``charging`` -> ``charg``) so inflections meet. ``rank_bm25`` (PyPI)
was not used: it scores every document in Python per query; here the per-term weights are
precomputed into one sparse matrix and a query is a sparse row product.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.errors import VectorIndexError

K1, B = 1.2, 0.75
_FORMAT = 1
_WORD = re.compile(r"[a-z0-9]+")


# Function words only. sklearn's ENGLISH_STOP_WORDS also drops words a help center needs
# ("top" of "top up", "bill", "call", "back", "find", "system", "full").
_STOP_WORDS = """a about above after again against all am an and any are as at be because been before
    being below between both but by could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his i if in into is it
    its itself just me more most my myself of off on once only or other our ours ourselves
    out over own same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until very was we were while whom will
    with would you your yours yourself yourselves please hi hello thanks thank"""
_STOP = frozenset(_STOP_WORDS.split())


def tokens(text: str) -> list[str]:
    """The BM25 terms of ``text`` (lower-cased, stop words dropped, suffixes stripped)."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


def _stem(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            word = word[: len(word) - len(suffix)] + repl
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


class ArticleBM25:
    """Fitted BM25 weights: ``weights[article row, term]`` = idf x saturated tf.

    Immutable once built; ``fit`` returns a new one.
    """

    def __init__(
        self,
        article_ids: np.ndarray,
        terms: Sequence[str],
        idf: np.ndarray,
        weights,
        version: int = 0,
    ) -> None:
        from scipy import sparse

        self.version = int(version)  # the knowledge-base version the texts came from
        self.article_ids = np.asarray(article_ids, dtype=np.int64)
        self.terms = list(terms)
        self.idf = np.asarray(idf, dtype=np.float32)
        self.weights = sparse.csc_matrix(weights, dtype=np.float32)  # (articles, terms)
        self._column = {t: i for i, t in enumerate(self.terms)}
        self._row = {int(a): i for i, a in enumerate(self.article_ids.tolist())}
        n = len(self.article_ids)
        self._unseen_idf = float(np.log(1 + (n + 0.5) / 0.5))  # a term in no document

    @classmethod
    def fit(cls, article_ids: Sequence[int], texts: Sequence[str], version: int = 0) -> ArticleBM25:
        """One document per article: the texts of ``article_ids[i] == a`` joined."""
        from scipy import sparse

        docs: dict[int, list[str]] = {}
        for article, text in zip(article_ids, texts):
            docs.setdefault(int(article), []).extend(tokens(text))
        ids = sorted(docs)
        vocab: dict[str, int] = {}
        rows, cols, counts = [], [], []
        for r, article in enumerate(ids):
            tf: dict[int, int] = {}
            for t in docs[article]:
                c = vocab.setdefault(t, len(vocab))
                tf[c] = tf.get(c, 0) + 1
            rows += [r] * len(tf)
            cols += list(tf)
            counts += list(tf.values())
        n = len(ids)
        lengths = np.array([len(docs[a]) for a in ids], dtype=np.float64)
        avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        tf_matrix = sparse.csr_matrix(
            (np.asarray(counts, np.float64), (rows, cols)), shape=(n, len(vocab))
        )
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        tf_matrix = tf_matrix.tocoo()
        norm = K1 * (1 - B + B * lengths[tf_matrix.row] / avg)
        data = idf[tf_matrix.col] * tf_matrix.data * (K1 + 1) / (tf_matrix.data + norm)
        weights = sparse.csr_matrix((data, (tf_matrix.row, tf_matrix.col)), shape=tf_matrix.shape)
        terms = sorted(vocab, key=vocab.__getitem__)
        return cls(np.asarray(ids, np.int64), terms, idf, weights, version)

    def scores(self, text: str, article_ids: Sequence[int] | None = None) -> dict[int, float]:
        """Normalised BM25 (0..1) of ``text`` for ``article_ids`` (default: every article)."""
        wanted = self.article_ids.tolist() if article_ids is None else list(article_ids)
        terms = set(tokens(text))
        cols = [self._column[t] for t in terms if t in self._column]
        best = sum(float(self.idf[c]) for c in cols) + self._unseen_idf * (len(terms) - len(cols))
        if not cols or best <= 0:
            return {int(a): 0.0 for a in wanted}
        raw = np.asarray(self.weights[:, cols].sum(axis=1)).ravel() / (best * (K1 + 1))
        return {
            int(a): float(raw[self._row[int(a)]]) if int(a) in self._row else 0.0 for a in wanted
        }

    def save(self, path: Path | str) -> None:
        """Write atomically (temporary file + rename) as ``.npz``."""
        from scipy import sparse

        path = Path(path)
        w = sparse.csr_matrix(self.weights)
        buffer = io.BytesIO()
        np.savez(
            buffer,
            format=np.int64(_FORMAT),
            version=np.int64(self.version),
            article_ids=self.article_ids,
            terms=np.asarray(self.terms, dtype=str),
            idf=self.idf,
            data=w.data,
            indices=w.indices,
            indptr=w.indptr,
            shape=np.asarray(w.shape, np.int64),
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buffer.getvalue())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path | str) -> ArticleBM25:
        """Raises VectorIndexError: unreadable, or another format."""
        from scipy import sparse

        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format"]) != _FORMAT:
                    raise VectorIndexError(f"{path}: BM25 format {int(z['format'])}, not {_FORMAT}")
                weights = sparse.csr_matrix(
                    (z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"])
                )
                return cls(
                    z["article_ids"], z["terms"].tolist(), z["idf"], weights, int(z["version"])
                )
        except (OSError, KeyError, ValueError) as e:
            raise VectorIndexError(f"{path}: unreadable BM25 state ({e})") from e
