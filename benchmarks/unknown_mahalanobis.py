"""Mahalanobis and kNN unknown scores on held-out intents (issue 16; benchmarks/QUALITY.md).

Asks whether a distance-based out-of-distribution score hands off more of the unknown
intents' questions than the shipped ``learned_head`` score at the same known accuracy. The
splits, validation folds and threshold rule are benchmarks/unknown_intents.py's (same seeds,
``hold_out_intents(..., val_folds=10)``, ``evaluate_split``); the product's ranked predictions
are reused from its cache (``.tier1/bench-cache/unknown-*.json``; computed through the product
when missing), so every question keeps the product's top-1 article and only the score that
decides answer vs hand off is replaced:

- ``mahalanobis``: Podolskiy et al. 2021 — one mean per known intent of the (unit) training
  vectors, one shared (tied) covariance of the residuals (sklearn's ``LedoitWolf``), score =
  minus the smallest squared Mahalanobis distance; ``mahalanobis_ridge``: the empirical
  covariance plus 0.1 x its mean eigenvalue instead of Ledoit-Wolf; ``_top1``: the distance
  to the product's top-1 article's mean instead of the smallest.
- ``relative_mahalanobis``: Ren et al. 2021 — the class distance minus the distance under
  one Gaussian fitted to all training vectors.
- ``knnK``: the mean cosine of the K nearest training vectors.
- Combinations with the product's score (``head``): ``head+W*S`` adds the two z-scores
  (mean and sd of the pooled validation predictions; W the weight of S), ``rankavg(head,S)``
  averages their validation ECDFs, ``head*ecdf(S)^E`` multiplies.

Validation scores come fold by fold (each fold's means, covariance and neighbours from the
other nine folds' texts, as the product's pooled validation), in the product's pooled order.
The test's unknown intents reach no fitted quantity.

Example:
    nice -n 15 .venv/bin/python benchmarks/unknown_mahalanobis.py           # BANKING77, seeds 0-2
    nice -n 15 .venv/bin/python benchmarks/unknown_mahalanobis.py --seeds 0 --only head knn5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np
import unknown_intents as bench

from knowledge_base.evaluation.metrics import Candidate, Prediction
from knowledge_base.evaluation.unknown_intents import (
    best_at,
    evaluate_split,
    frontier_auc,
    hold_out_intents,
)

DATASET = "banking77"  # no validation split: the 10 folds are the case the goal is open on
KNN = (1, 5, 10)
WEIGHTS = (0.25, 0.5, 1.0)


def _unit(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _whitener(cov: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(cov)
    return v / np.sqrt(w)  # x @ W has identity covariance


class ClassGaussians:
    """Class means with one tied covariance: squared Mahalanobis distance to every class."""

    def __init__(self, X: np.ndarray, labels, ridge: float | None = None) -> None:
        from sklearn.covariance import LedoitWolf

        y = np.asarray(labels)
        self.labels = sorted(set(labels))
        means = np.stack([X[y == c].mean(0) for c in self.labels])
        col = {c: i for i, c in enumerate(self.labels)}
        resid = X - means[[col[c] for c in labels]]
        if ridge is None:
            cov = LedoitWolf(assume_centered=True).fit(resid).covariance_
        else:
            cov = resid.T @ resid / len(resid)
            cov += ridge * np.trace(cov) / len(cov) * np.eye(len(cov))
        self.W = _whitener(cov)
        self.mw = means @ self.W

    def distances(self, Q: np.ndarray) -> np.ndarray:
        z = Q @ self.W
        return (z**2).sum(1)[:, None] - 2 * z @ self.mw.T + (self.mw**2).sum(1)[None, :]


def background_distance(X: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance under one Gaussian over all of ``X`` (Ledoit-Wolf)."""
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(X)
    return (((Q - lw.location_) @ _whitener(lw.covariance_)) ** 2).sum(1)


def unknown_scores(X, labels, Q, top1) -> dict[str, np.ndarray]:
    """Every stand-alone score of the queries ``Q`` (higher = more like a known intent)."""
    g = ClassGaussians(X, labels)
    D = g.distances(Q)
    col = {c: i for i, c in enumerate(g.labels)}
    d_top = D[np.arange(len(Q)), [col[t] for t in top1]]
    bg = background_distance(X, Q)
    out = {
        "mahalanobis": -D.min(1),
        "mahalanobis_ridge": -ClassGaussians(X, labels, ridge=0.1).distances(Q).min(1),
        "mahalanobis_top1": -d_top,
        "relative_mahalanobis": -(D.min(1) - bg),
        "relative_mahalanobis_top1": -(d_top - bg),
    }
    sims = Q @ X.T
    for k in KNN:
        out[f"knn{k}"] = np.partition(sims, -k, axis=1)[:, -k:].mean(1)
    return out


def _ecdf(reference: np.ndarray):
    ref = np.sort(reference)
    return lambda v: np.searchsorted(ref, v, side="right") / len(ref)


def combinations(test: dict, val: dict) -> None:
    """Add ``head`` x each distance score, mapped by the VALIDATION scores only."""
    hv = val["head"]
    h_z = lambda s: (s - hv.mean()) / hv.std()
    h_f = _ecdf(hv)
    for name in [n for n in list(test) if n != "head"]:
        sv = val[name]
        s_z = lambda s, sv=sv: (s - sv.mean()) / sv.std()
        s_f = _ecdf(sv)
        for side in (test, val):
            h, s = side["head"], side[name]
            for w in WEIGHTS:
                side[f"head+{w:g}*{name}"] = h_z(h) + w * s_z(s)
            side[f"rankavg(head,{name})"] = 0.5 * (h_f(h) + s_f(s))
            side[f"head*ecdf({name})"] = h * s_f(s)
            side[f"head*ecdf({name})^0.5"] = h * np.sqrt(s_f(s))


def _rescored(preds: list[Prediction], scores: np.ndarray, shift: float) -> list[Prediction]:
    """The product's top-1 article of each question, with another score."""
    return [
        Prediction(p.text, p.label, (Candidate(p.hits[0].article_id, p.hits[0].label, s + shift),))
        for p, s in zip(preds, scores.tolist())
    ]


def _vectors(emb, texts) -> np.ndarray:
    return _unit(emb.encode([" ".join(t.split()) for t in texts]))


def run_seed(data, seed: int, args, emb_cache: dict) -> dict[str, dict]:
    split = hold_out_intents(data, args.fraction, seed, val_folds=args.val_folds)
    doc = bench.ranked(
        DATASET, data, split, args.method, args.model, seed, args.fraction, emb_cache
    )
    emb = emb_cache[DATASET] if DATASET in emb_cache else bench.embedder(DATASET, args.model)
    test_p, val_p = bench._undump(doc["test"]), bench._undump(doc["val"])
    if [p.text for p in test_p] != list(split.data.test.texts):
        raise SystemExit(f"cached test predictions of seed {seed} do not match the split")
    test = unknown_scores(
        _vectors(emb, split.data.train.texts),
        split.data.train.labels,
        _unit(emb.encode(split.data.test.texts)),
        [p.predicted for p in test_p],
    )
    parts, at = [], 0
    for fold in split.folds():
        top1 = [p.predicted for p in val_p[at : at + len(fold.test)]]
        if [p.text for p in val_p[at : at + len(fold.test)]] != list(fold.test.texts):
            raise SystemExit(f"cached validation predictions of seed {seed} are in another order")
        at += len(fold.test)
        parts.append(
            unknown_scores(
                _vectors(emb, fold.train.texts),
                fold.train.labels,
                _unit(emb.encode(fold.test.texts)),
                top1,
            )
        )
    val = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    emb.save()
    test["head"] = np.array([p.score for p in test_p])
    val["head"] = np.array([p.score for p in val_p])
    combinations(test, val)
    from sklearn.metrics import roc_auc_score

    decision = bench.config_decision().copy(update={"clarify_margin": 0.0})
    is_known = np.array([p.label != data.oos_label for p in test_p])
    out = {}
    for name in test:
        if args.only and name not in args.only:
            continue
        # the threshold grid starts at 0: shift every score above it (monotone, same decisions)
        low = min(test[name].min(), val[name].min())
        shift = 1.0 - low if low <= 0 else 0.0
        r = evaluate_split(
            name,
            _rescored(test_p, test[name], shift),
            _rescored(val_p, val[name], shift),
            decision,
            data.oos_label,
        )
        best = best_at(r.frontier)
        out[name] = {
            "threshold": r.choice.threshold - shift,
            "known_right": r.test.in_scope_accuracy,
            "handed_off": r.test.oos_recall,
            "wrong_answer_rate": r.test.wrong_answer_rate,
            "best_at_90": None if best is None else best.oos_recall,
            "frontier_area": frontier_auc(r.frontier),
            "auroc": float(roc_auc_score(is_known, test[name])),
        }
        x = out[name]
        print(
            f"seed {seed} {name:44s} rule {100 * x['known_right']:.1f} / "
            f"{100 * x['handed_off']:.1f}  best@90 {100 * (x['best_at_90'] or 0):.1f}  "
            f"area {x['frontier_area']:.3f}  AUROC {x['auroc']:.3f}",
            file=sys.stderr,
            flush=True,
        )
    return out


def _pm(values) -> str:
    values = [100 * (v or 0.0) for v in values]
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}"


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--fraction", type=float, default=0.25, help="share of intents held out")
    p.add_argument(
        "--val-folds", type=int, default=10, help="validation folds (default: %(default)s)"
    )
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="encoder (tier1 models list)")
    p.add_argument(
        "--method",
        default="learned_head^0.25",
        help="the product scoring whose ranking and score (head) are reused, as "
        "benchmarks/unknown_intents.py --methods names it (default: %(default)s)",
    )
    p.add_argument("--only", nargs="+", default=None, help="report only these scores")
    p.add_argument("--out", type=Path, default=None, help="JSON (default: in the bench cache)")
    args = p.parse_args()
    if not bench.DATA.exists():
        print(f"no datasets at {bench.DATA}: see ../shared/datasets/README.md", file=sys.stderr)
        return 2
    from tabulate import tabulate

    data = bench.load(DATASET)
    emb_cache: dict = {}
    per_seed = {seed: run_seed(data, seed, args, emb_cache) for seed in args.seeds}
    names = list(per_seed[args.seeds[0]])
    rows = []
    for name in names:
        runs = [per_seed[s][name] for s in args.seeds]
        col = lambda key, runs=runs: [r[key] for r in runs]
        rows.append(
            [
                name,
                _pm(col("known_right")),
                _pm(col("handed_off")),
                " / ".join(f"{100 * r['handed_off']:.1f}" for r in runs),
                _pm(col("best_at_90")),
                f"{np.mean(col('frontier_area')):.3f}",
                f"{np.mean(col('auroc')):.3f}",
            ]
        )
    print(
        tabulate(
            rows,
            headers=[
                "unknown score",
                "known answered right",
                "unknown handed off",
                "handed off per seed",
                "best handed off @ known ≥ 90 (test, reference)",
                "frontier area",
                "AUROC known vs unknown (test)",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    print(
        f"\n{DATASET}, {args.model}, ranking and head = {args.method}; threshold chosen on "
        f"{args.val_folds}-fold validation (known intents only); mean ± sd over seeds {args.seeds}"
    )
    out_path = args.out or bench.CACHE / f"unknown_mahalanobis-{DATASET}-{args.model}.json"
    out_path.write_text(json.dumps({str(s): r for s, r in per_seed.items()}, indent=1))
    print(f"JSON: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
