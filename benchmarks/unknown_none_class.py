"""A "none of these" class of synthetic outliers in the learned head (issue 16; QUALITY.md).

Asks whether teaching the head what lies *between* known intents hands off more in-domain
unknown questions at the same known accuracy. An unknown BANKING77 intent's questions sit
between known neighbours (card delivery vs card arrival); the head, trained on known intents
only, splits its probability between them but never has a class for "neither".

Each variant adds one extra class to the head (``ArticleHead.fit``, the product's head, C=10)
whose examples are synthetic outliers (Zhan et al. 2021, "Out-of-scope intent detection with
self-supervision and discriminative training": convex combinations of two training vectors of
*different* intents): for a random training vector x_i, a random vector x_j of one of its
intent's ``k`` nearest intents (by centroid cosine), ``o = unit(t x_i + (1 - t) x_j)`` with
``t ~ U(lo, hi)``; ``ratio`` x (training texts) of them. A question's score is
``p(article)^A x best cosine`` as the product's, with ``p`` from the softmax that includes the
extra class (its mass is what the question gives to "neither"); the article is the best known
one. Nothing about any unknown intent is used to make the outliers.

Measured like benchmarks/unknown_score_choice.py (exact cosines in numpy, the best share of
unknown questions handed off at >= 90 % known accuracy): on NESTED validation (a quarter of
the known intents as pseudo-unknown, the test's unknown intents absent) to choose, and on test
for reference. Reads the vectors benchmarks/unknown_intents.py caches.

Example:
    nice -n 10 .venv/bin/python benchmarks/unknown_none_class.py --datasets banking77 --seeds 0
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np
from unknown_score_choice import best_cosines, handed_off_at_goal, nested_parser

from knowledge_base.evaluation.unknown_intents import hold_out_intents, nested_validation
from knowledge_base.head import ArticleHead

NONE = -1


@dataclass(frozen=True)
class Outliers:
    """How the synthetic "none" examples are drawn."""

    ratio: float  # outliers per training text
    k: int  # mix with one of the k nearest intents (by centroid cosine)
    lo: float = 0.3
    hi: float = 0.7

    @property
    def name(self) -> str:
        return f"none r={self.ratio:g} k={self.k} t~U({self.lo:g},{self.hi:g})"


def outliers(X: np.ndarray, y: np.ndarray, spec: Outliers, seed: int) -> np.ndarray:
    """Unit-norm mixes of two training vectors of different, nearby intents."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    centroids = np.stack([X[y == c].mean(0) for c in classes])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    sims = centroids @ centroids.T
    np.fill_diagonal(sims, -np.inf)
    k = min(spec.k, len(classes) - 1)  # "all": k >= the number of other intents
    near = np.argsort(-sims, axis=1)[:, :k]
    members = [np.flatnonzero(y == c) for c in classes]
    col = {int(c): i for i, c in enumerate(classes)}
    n = round(spec.ratio * len(X))
    i = rng.integers(0, len(X), n)
    ci = np.array([col[int(c)] for c in y[i]])
    cj = near[ci, rng.integers(0, k, n)]
    j = np.array([members[c][rng.integers(0, len(members[c]))] for c in cj])
    t = rng.uniform(spec.lo, spec.hi, n)[:, None]
    o = t * X[i] + (1 - t) * X[j]
    return (o / np.linalg.norm(o, axis=1, keepdims=True)).astype(np.float32)


def handed_off_at(data, vectors, exponents, specs, seed) -> dict[str, float | None]:
    """Share of unknown questions handed off at the best threshold keeping known >= 90 %."""
    labels = sorted(set(data.train.labels))
    column = {label: i for i, label in enumerate(labels)}
    y = np.array([column[label] for label in data.train.labels])
    X = vectors([" ".join(t.split()) for t in data.train.texts])
    Q = vectors(data.test.texts)
    best = best_cosines(Q, X, y, len(labels))
    truth = np.array([column.get(label, -1) for label in data.test.labels])
    known = truth >= 0
    out = {}
    for spec in [None, *specs]:
        if spec is None:
            head = ArticleHead.fit(y, X, C=10.0, version=1, model="none-class")
        else:
            O = outliers(X, y, spec, seed)
            head = ArticleHead.fit(
                np.concatenate([y, np.full(len(O), NONE)]),
                np.vstack([X, O]),
                C=10.0,
                version=1,
                model="none-class",
            )
        P = head.probabilities(Q)
        p = np.stack([P[:, head.column(a)] for a in range(len(labels))], axis=1)
        for a in exponents:
            scores = p**a * best
            top = scores.argmax(1)
            s = scores[np.arange(len(scores)), top]
            name = f"{'head' if spec is None else spec.name} ^{a:g}"
            out[name] = handed_off_at_goal(top, s, truth, known)
            top1 = float(((top == truth) & known).sum() / known.sum())
            out[name + " top1"] = top1
    return out


def main() -> int:
    from unknown_intents import embedder, load

    p = nested_parser(__doc__)
    p.add_argument("--exponents", nargs="+", type=float, default=[0.25, 0.5, 1.0])
    p.add_argument(
        "--ratios", nargs="+", type=float, default=[0.5, 1.0], help="outliers per training text"
    )
    p.add_argument(
        "--ks", nargs="+", type=int, default=[3, 10], help="mix with one of the k nearest intents"
    )
    p.add_argument(
        "--mix", nargs=2, type=float, default=[0.3, 0.7], metavar=("LO", "HI"), help="t ~ U(LO, HI)"
    )
    args = p.parse_args()
    specs = [Outliers(r, k, *args.mix) for r in args.ratios for k in args.ks]
    for name in args.datasets:
        data = load(name)
        emb = embedder(name, args.model)

        def vectors(texts, emb=emb):
            v = np.asarray(emb.encode(list(texts)), dtype=np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

        val, test = {}, {}
        for seed in args.seeds:
            split = hold_out_intents(data, 0.25, seed)
            inner = nested_validation(split).data
            for key, h in handed_off_at(inner, vectors, args.exponents, specs, seed).items():
                val.setdefault(key, []).append(h or 0.0)
            for key, h in handed_off_at(split.data, vectors, args.exponents, specs, seed).items():
                test.setdefault(key, []).append(h or 0.0)
            emb.save()
            print(f"{name} seed {seed} done", file=sys.stderr, flush=True)
        for key, handed in val.items():
            if key.endswith(" top1"):
                continue
            print(
                f"{name} {key:40s} nested val @90 {100 * np.mean(handed):5.1f} "
                f"({', '.join(f'{100 * v:.1f}' for v in handed)}) top1 "
                f"{100 * np.mean(val[key + ' top1']):.1f} | test (reference) "
                f"{100 * np.mean(test[key]):5.1f} ({', '.join(f'{100 * v:.1f}' for v in test[key])})"
                f" top1 {100 * np.mean(test[key + ' top1']):.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
