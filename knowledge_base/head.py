"""``ArticleHead``: a learned classifier from question vectors to articles.

A multinomial logistic regression over the frozen embeddings, fitted on every indexed
question (one class per article) when the knowledge base is built or changed. It answers
"which article is this about" far better than the nearest single question (CLINC150 top-1
88.0 -> 95.6, BANKING77 92.0 -> 93.1; see benchmarks/QUALITY.md); ``scoring.py`` combines it
with the nearest-question cosine, which says "is this anywhere near the knowledge base".

With ``lexical_weight > 0`` the regression also sees the texts' character n-grams
(``lexical.CharNgrams``): its input is ``[embedding, weight * char n-gram TF-IDF]``, and a
query must then come with its text.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.errors import VectorIndexError
from knowledge_base.lexical import CharNgrams

_FORMAT = 2
_READABLE = (1, 2)  # format 1: no lexical part


class ArticleHead:
    """A fitted article classifier: softmax weights and biases, keyed by article id.

    The weights are ``(articles, dimensions)`` over the embeddings, optionally plus
    ``(articles, n-grams)`` over the texts' character n-grams.

    Immutable once built: ``fit`` returns a new head, so searches can keep using the old one
    while a refit runs.
    """

    def __init__(
        self,
        article_ids: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        *,
        version: int,
        model: str,
        ngrams: CharNgrams | None = None,
        ngram_coef: np.ndarray | None = None,
    ) -> None:
        self.article_ids = np.asarray(article_ids, dtype=np.int64)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.version = int(version)
        self.model = model
        if (ngrams is None) != (ngram_coef is None):
            raise ValueError("ngrams and ngram_coef come together")
        self.ngrams = ngrams
        # stored (n-grams, articles): a query's few non-zero n-grams select rows
        self.ngram_coef = (
            None if ngram_coef is None else np.ascontiguousarray(ngram_coef.T, np.float32)
        )
        self._row = {int(a): i for i, a in enumerate(self.article_ids.tolist())}

    @property
    def lexical_weight(self) -> float:
        """The n-gram features' weight; 0.0 for an embeddings-only head."""
        return 0.0 if self.ngrams is None else self.ngrams.weight

    @classmethod
    def fit(
        cls,
        article_ids: np.ndarray,
        vectors: np.ndarray,
        *,
        C: float,
        version: int,
        model: str,
        max_iter: int = 300,
        previous: ArticleHead | None = None,
        texts: Sequence[str] | None = None,
        lexical_weight: float = 0.0,
    ) -> ArticleHead | None:
        """Fit on one row per indexed question; return None when fewer than 2 articles.

        Args:
            article_ids: the article of each row of ``vectors``.
            vectors: unit-norm question vectors.
            C: inverse regularisation strength (sklearn's ``C``).
            version: the knowledge-base version the vectors reflect.
            model: the embedder the vectors come from.
            max_iter: the most optimiser iterations (an unconverged fit is still kept).
            previous: a head fitted earlier on (mostly) the same articles; its weights start
                the optimiser (warm start), so a refit after a small edit converges quickly.
            texts: the text of each row; needed when ``lexical_weight > 0``.
            lexical_weight: weight of the character n-gram features (0: embeddings only).
        """
        from scipy import sparse
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        article_ids = np.asarray(article_ids, dtype=np.int64)
        classes = np.unique(article_ids)
        if len(classes) < 2:
            return None
        vectors = np.asarray(vectors, dtype=np.float64)
        ngrams = None
        if lexical_weight > 0:
            if texts is None or len(texts) != len(vectors):
                raise ValueError("a lexical head needs one text per vector")
            ngrams = CharNgrams.fit(texts, lexical_weight)
            features = sparse.hstack([sparse.csr_matrix(vectors), ngrams.transform(texts)]).tocsr()
        else:
            features = vectors
        lr = LogisticRegression(C=C, max_iter=max_iter, multi_class="multinomial", warm_start=True)
        start = _warm_start(previous, model, classes, vectors.shape[1], ngrams)
        if start is not None:
            lr.coef_, lr.intercept_ = start
        with warnings.catch_warnings():
            # An unconverged fit after max_iter is still a good classifier; do not alarm admins.
            warnings.simplefilter("ignore", ConvergenceWarning)
            lr.fit(features, article_ids)
        coef, intercept = lr.coef_, lr.intercept_
        if coef.shape[0] == 1:
            # sklearn stores a binary multinomial model as one row for class 1; class 0 is
            # its negation (predict_proba takes the softmax of [-z, z]).
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        dims = vectors.shape[1]
        return cls(
            lr.classes_,
            coef[:, :dims],
            intercept,
            version=version,
            model=model,
            ngrams=ngrams,
            ngram_coef=coef[:, dims:] if ngrams is not None else None,
        )

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """p(article | query) for each query row; columns follow ``article_ids``.

        Raises:
            ValueError: the head has a lexical part and ``texts`` is missing.
        """
        logits = np.asarray(vectors, dtype=np.float32) @ self.coef.T + self.intercept
        if self.ngrams is not None:
            if texts is None or len(texts) != len(logits):
                raise ValueError("this article head scores character n-grams: pass the query texts")
            logits += np.asarray(self.ngrams.transform(texts) @ self.ngram_coef, dtype=np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def column(self, article_id: int) -> int | None:
        """The column of ``article_id`` in ``probabilities``, or None if the head never saw it."""
        return self._row.get(int(article_id))

    def save(self, path: Path) -> None:
        """Write atomically (temp file, fsync, rename) so a crash never leaves half a head."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        lexical = {}
        if self.ngrams is not None:
            lexical = {
                "ngram_terms": self.ngrams.terms,
                "ngram_idf": self.ngrams.idf,
                "ngram_weight": np.float64(self.ngrams.weight),
                "ngram_coef": self.ngram_coef,
            }
        np.savez(
            buf,
            format=np.int64(_FORMAT),
            article_ids=self.article_ids,
            coef=self.coef,
            intercept=self.intercept,
            version=np.int64(self.version),
            model=np.array(self.model),
            **lexical,
        )
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buf.getvalue())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> ArticleHead:
        """Raises VectorIndexError when the file is unreadable or of another format."""
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                if int(data["format"]) not in _READABLE:
                    raise ValueError(f"format {int(data['format'])}, expected one of {_READABLE}")
                ngrams = ngram_coef = None
                if "ngram_terms" in data.files:
                    ngrams = CharNgrams(
                        data["ngram_terms"], data["ngram_idf"], float(data["ngram_weight"])
                    )
                    ngram_coef = data["ngram_coef"].T
                return cls(
                    data["article_ids"],
                    data["coef"],
                    data["intercept"],
                    version=int(data["version"]),
                    model=str(data["model"]),
                    ngrams=ngrams,
                    ngram_coef=ngram_coef,
                )
        except (OSError, ValueError, KeyError) as e:
            raise VectorIndexError(
                f"{path} is not a readable article head ({e}); delete it: tier1 refits it "
                "from the stored vectors"
            ) from e


def _warm_start(
    previous: ArticleHead | None,
    model: str,
    classes: np.ndarray,
    dims: int,
    ngrams: CharNgrams | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Initial (coef, intercept) from ``previous`` for the columns of the new fit, or None.

    sklearn warm-starts from ``coef_``/``intercept_`` when their shape matches the classes:
    known articles carry over their weights, new articles and new n-grams start at zero.
    """
    if previous is None or previous.model != model or len(classes) <= 2:
        return None
    if previous.coef.shape[1] != dims:
        return None
    width = dims + (len(ngrams) if ngrams is not None else 0)
    coef = np.zeros((len(classes), width), dtype=np.float64)
    intercept = np.zeros(len(classes), dtype=np.float64)
    if ngrams is not None and previous.ngrams is not None:
        old = ngrams.columns_in(previous.ngrams)
        have = old >= 0
    for i, a in enumerate(classes.tolist()):
        row = previous._row.get(a)
        if row is None:
            continue
        coef[i, :dims], intercept[i] = previous.coef[row], previous.intercept[row]
        if ngrams is not None and previous.ngrams is not None:
            coef[i, dims:][have] = previous.ngram_coef[old[have], row]
    return coef, intercept
