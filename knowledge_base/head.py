"""``ArticleHead``: a learned classifier from question vectors to articles.

A multinomial logistic regression over the frozen embeddings, fitted on every indexed
question (one class per article) when the knowledge base is built or changed. It answers
"which article is this about" far better than the nearest single question (CLINC150 top-1
88.0 -> 95.6, BANKING77 92.0 -> 93.1; see benchmarks/QUALITY.md); ``scoring.py`` combines it
with the nearest-question cosine, which says "is this anywhere near the knowledge base".
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from knowledge_base.errors import VectorIndexError

_FORMAT = 1


class ArticleHead:
    """Softmax weights ``(articles, dimensions)`` plus biases, keyed by article id.

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
    ) -> None:
        self.article_ids = np.asarray(article_ids, dtype=np.int64)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.version = int(version)
        self.model = model
        self._row = {int(a): i for i, a in enumerate(self.article_ids.tolist())}

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
    ) -> ArticleHead | None:
        """Fit on one row per indexed question; return None when fewer than 2 articles.

        Args:
            article_ids: the article of each row of ``vectors``.
            vectors: unit-norm question vectors.
            C: inverse regularisation strength (sklearn's ``C``).
            version, model: the knowledge-base version and embedder the vectors reflect.
            previous: a head fitted earlier on (mostly) the same articles; its weights start
                the optimiser (warm start), so a refit after a small edit converges quickly.
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        article_ids = np.asarray(article_ids, dtype=np.int64)
        classes = np.unique(article_ids)
        if len(classes) < 2:
            return None
        lr = LogisticRegression(C=C, max_iter=max_iter, multi_class="multinomial", warm_start=True)
        compatible = previous is not None and previous.model == model
        if compatible and len(classes) > 2 and previous.coef.shape[1] == vectors.shape[1]:
            # sklearn warm-starts from coef_/intercept_ when their shape matches the classes:
            # carry over known articles, start new ones at zero.
            coef = np.zeros((len(classes), vectors.shape[1]), dtype=np.float64)
            intercept = np.zeros(len(classes), dtype=np.float64)
            for i, a in enumerate(classes.tolist()):
                row = previous._row.get(a)
                if row is not None:
                    coef[i], intercept[i] = previous.coef[row], previous.intercept[row]
            lr.coef_, lr.intercept_ = coef, intercept
        with warnings.catch_warnings():
            # An unconverged fit after max_iter is still a good classifier; do not alarm admins.
            warnings.simplefilter("ignore", ConvergenceWarning)
            lr.fit(np.asarray(vectors, dtype=np.float64), article_ids)
        coef, intercept = lr.coef_, lr.intercept_
        if coef.shape[0] == 1:
            # sklearn stores a binary multinomial model as one row for class 1; class 0 is
            # its negation (predict_proba takes the softmax of [-z, z]).
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        return cls(lr.classes_, coef, intercept, version=version, model=model)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """p(article | query) for each query row; columns follow ``article_ids``."""
        logits = np.asarray(vectors, dtype=np.float32) @ self.coef.T + self.intercept
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
        np.savez(
            buf,
            format=np.int64(_FORMAT),
            article_ids=self.article_ids,
            coef=self.coef,
            intercept=self.intercept,
            version=np.int64(self.version),
            model=np.array(self.model),
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
                if int(data["format"]) != _FORMAT:
                    raise ValueError(f"format {int(data['format'])}, expected {_FORMAT}")
                return cls(
                    data["article_ids"],
                    data["coef"],
                    data["intercept"],
                    version=int(data["version"]),
                    model=str(data["model"]),
                )
        except (OSError, ValueError, KeyError) as e:
            raise VectorIndexError(
                f"{path} is not a readable article head ({e}); delete it: tier1 refits it "
                "from the stored vectors"
            ) from e
