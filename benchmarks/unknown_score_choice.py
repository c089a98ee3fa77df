"""Choose the learned head's settings for unknown-intent handoff on VALIDATION only.

For each seed, the test's unknown intents are held out first (``hold_out_intents``, as in
benchmarks/unknown_intents.py); then ``nested_validation`` holds out a quarter of the KNOWN
intents as pseudo-unknown inside the training split. The head is fitted on the remaining
known texts (``ArticleHead.fit``, the product's head) and each candidate exponent ``a`` scores
the validation questions as ``p ** a x best cosine`` (exact cosines in numpy: what the flat
FAISS index returns, without building a knowledge base per exponent). The exponent handing off
the most pseudo-unknown validation questions at >= 90 % known accuracy, averaged over seeds,
is chosen; the test split's frontier point is printed beside it for reference only. The same
grid can also span the head's C (``--cs``), its n-gram weight (``--lexical-weights``) and a
per-article normalisation of the score (``--norms``: divided by the article's median score on
its own texts, each scored by a head fitted without it, to that power; DOC-style per-class
thresholds).

Reads the vectors benchmarks/unknown_intents.py caches (.tier1/bench-cache/kbeval-*.npz):
run that first. Not a product path: the chosen exponent is then measured through one with
``benchmarks/unknown_intents.py --methods learned_head^A``.

Example:
    nice -n 10 .venv/bin/python benchmarks/unknown_score_choice.py --datasets banking77 clinc150
    nice -n 10 .venv/bin/python benchmarks/unknown_score_choice.py --datasets banking77 \
        --exponents 0.25 0.5 --cs 1 10 100 --lexical-weights 0 0.5 --norms 0 0.5 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np
from tqdm import tqdm

from knowledge_base.evaluation import CachedEmbedder
from knowledge_base.evaluation.unknown_intents import (
    GOAL_IN_SCOPE,
    hold_out_intents,
    nested_validation,
)
from knowledge_base.head import ArticleHead

EXPONENTS = (0.25, 0.5, 1.0, 2.0)


def _vectors(cache: CachedEmbedder, texts) -> np.ndarray:
    missing = [t for t in texts if t not in cache._vectors]
    if missing:
        raise SystemExit(f"{len(missing)} texts are not cached: run benchmarks/unknown_intents.py")
    return np.vstack([cache._vectors[t] for t in texts]).astype(np.float32)


def handed_off_at_goal(top, score, truth, known) -> float | None:
    """The most unknown questions any threshold hands off while >= 90 % of known ones are
    answered right (None: no threshold keeps 90 %).

    ``top``: each question's answer (article column); ``score``: its score; ``truth``: the
    right column (-1 for unknown questions); ``known``: ``truth >= 0``.
    """
    order = np.argsort(-score)
    accuracy = np.cumsum(((top == truth) & known)[order]) / known.sum()
    handed = 1 - np.cumsum(~known[order]) / max(1, (~known).sum())
    ok = np.where(accuracy >= GOAL_IN_SCOPE)[0]
    return float(handed[ok[0]]) if len(ok) else None


def best_cosines(Q, X, y, n) -> np.ndarray:
    """Each query's best cosine to each of the ``n`` articles' texts (-1 for an article
    with no text in ``X``): what the flat FAISS index and ``rank_articles`` give."""
    cos = Q @ X.T
    return np.stack(
        [cos[:, y == a].max(1) if (y == a).any() else np.full(len(Q), -1.0) for a in range(n)],
        axis=1,
    )


def _head_scores(X, y, texts, Q, q_texts, n, C, lexical_weight):
    """(p, best cosine) of every query for each of the ``n`` articles (columns = labels)."""
    head = ArticleHead.fit(
        y, X, C=C, version=1, model="choice", texts=texts, lexical_weight=lexical_weight
    )
    best = best_cosines(Q, X, y, n)
    p = np.zeros_like(best)
    p[:, head.article_ids] = head.probabilities(Q, list(q_texts) if lexical_weight else None)
    return p, best


def article_medians(X, y, texts, n, C, lexical_weight, exponents, folds=5, seed=0):
    """Per exponent, each article's median score of its own texts, each text scored by a head
    fitted without it (``folds``-fold cross-validation inside the training texts)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for a in range(n):
        idx = np.flatnonzero(y == a)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % folds
    own = {a: np.zeros(len(y)) for a in exponents}
    for f in range(folds):
        tr, te = fold != f, fold == f
        p, best = _head_scores(
            X[tr],
            y[tr],
            [t for t, k in zip(texts, tr) if k],
            X[te],
            [t for t, k in zip(texts, te) if k],
            n,
            C,
            lexical_weight,
        )
        rows = np.arange(te.sum())
        for a in exponents:
            own[a][te] = (p**a * best)[rows, y[te]]
    return {a: np.array([np.median(own[a][y == c]) for c in range(n)]) for a in exponents}


def handed_off_at(
    data, cache, exponents, C: float = 10.0, lexical_weight: float = 0.0, norms=(0.0,)
) -> dict[tuple[float, float], float | None]:
    """Share of unknown questions handed off at the best threshold keeping known >= 90 %.

    Keyed by (exponent, norm): the top article's score ``p ** exponent x best cosine``,
    divided by that article's median own-text score to the power ``norm`` (0: undivided).
    """
    labels = sorted(set(data.train.labels))
    column = {label: i for i, label in enumerate(labels)}
    y = np.array([column[label] for label in data.train.labels])
    texts = [" ".join(t.split()) for t in data.train.texts]
    X = _vectors(cache, texts)
    Q = _vectors(cache, data.test.texts)
    p, best = _head_scores(X, y, texts, Q, data.test.texts, len(labels), C, lexical_weight)
    medians = (
        article_medians(X, y, texts, len(labels), C, lexical_weight, exponents)
        if any(norms)
        else {}
    )
    truth = np.array([column.get(label, -1) for label in data.test.labels])
    known = truth >= 0
    out = {}
    for a in exponents:
        scores = p**a * best
        top = scores.argmax(1)
        for w in norms:
            s = scores[np.arange(len(scores)), top]
            if w:
                s = s / medians[a][top] ** w
            out[a, w] = handed_off_at_goal(top, s, truth, known)
    return out


def _rank(key, val) -> tuple:
    """Most handed off on nested validation; ties: the shipped settings, exponent near 0.5."""
    c, lw, a, w = key
    return (np.mean(val[key]), (c == 10.0) + (lw == 0.0) + (w == 0.0), -abs(a - 0.5))


def nested_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every nested-validation check takes: datasets, seeds, encoder."""
    p = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="encoder (tier1 models list)")
    return p


def main() -> int:
    from unknown_intents import load

    p = nested_parser(__doc__)
    p.add_argument("--exponents", nargs="+", type=float, default=list(EXPONENTS))
    p.add_argument(
        "--cs",
        nargs="+",
        type=float,
        default=[10.0],
        help="the head's C (scoring.C) to try (default: %(default)s)",
    )
    p.add_argument(
        "--lexical-weights",
        nargs="+",
        type=float,
        default=[0.0],
        help="the head's n-gram weight (scoring.lexical_weight) to try (default: %(default)s)",
    )
    p.add_argument(
        "--norms",
        nargs="+",
        type=float,
        default=[0.0],
        help="divide the score by the top article's median own-text score to this power "
        "(0: not at all; medians from 5 folds of the training texts) (default: %(default)s)",
    )
    args = p.parse_args()
    grid = [
        (c, lw, a, w)
        for c in args.cs
        for lw in args.lexical_weights
        for a in args.exponents
        for w in args.norms
    ]
    for name in args.datasets:
        data = load(name)
        cache = CachedEmbedder(
            None, REPO / ".tier1" / "bench-cache" / f"kbeval-{name}-{args.model}.npz"
        )
        val, test = {}, {}
        for seed in tqdm(args.seeds, desc=f"{name} seeds"):
            split = hold_out_intents(data, 0.25, seed)
            nested = nested_validation(split).data
            for c in args.cs:
                for lw in args.lexical_weights:
                    inner = handed_off_at(nested, cache, args.exponents, c, lw, args.norms)
                    outer = handed_off_at(split.data, cache, args.exponents, c, lw, args.norms)
                    for (a, w), h in inner.items():
                        val.setdefault((c, lw, a, w), []).append(h or 0.0)
                        test.setdefault((c, lw, a, w), []).append(outer[a, w] or 0.0)

        chosen = max(grid, key=lambda key, val=val: _rank(key, val))
        for key in grid:
            c, lw, a, w = key
            mark = "  <- chosen on validation" if key == chosen else ""
            print(
                f"{name} C {c:g} lexical {lw:g} exponent {a:g} norm {w:g}: nested validation "
                f"handed off @ known>=90 {100 * np.mean(val[key]):.1f} "
                f"({', '.join(f'{100 * v:.1f}' for v in val[key])}); test (reference) "
                f"{100 * np.mean(test[key]):.1f} "
                f"({', '.join(f'{100 * v:.1f}' for v in test[key])}){mark}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
