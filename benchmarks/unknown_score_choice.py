"""Choose the learned head's probability exponent for unknown-intent handoff on VALIDATION only.

For each seed, the test's unknown intents are held out first (``hold_out_intents``, as in
benchmarks/unknown_intents.py); then ``nested_validation`` holds out a quarter of the KNOWN
intents as pseudo-unknown inside the training split. The head is fitted on the remaining
known texts (``ArticleHead.fit``, the product's head) and each candidate exponent ``a`` scores
the validation questions as ``p ** a x best cosine`` (exact cosines in numpy: what the flat
FAISS index returns, without building a knowledge base per exponent). The exponent handing off
the most pseudo-unknown validation questions at >= 90 % known accuracy, averaged over seeds,
is chosen; the test split's frontier point is printed beside it for reference only.

Reads the vectors benchmarks/unknown_intents.py caches (.tier1/bench-cache/kbeval-*.npz):
run that first. Not a product path: the chosen exponent is then measured through one with
``benchmarks/unknown_intents.py --methods learned_head^A``.

Example:
    nice -n 10 .venv/bin/python benchmarks/unknown_score_choice.py --datasets banking77 clinc150
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


def handed_off_at(data, cache, exponents) -> dict[float, float | None]:
    """Share of unknown questions handed off at the best threshold keeping known >= 90 %."""
    labels = sorted(set(data.train.labels))
    column = {label: i for i, label in enumerate(labels)}
    y = np.array([column[label] for label in data.train.labels])
    X = _vectors(cache, [" ".join(t.split()) for t in data.train.texts])
    head = ArticleHead.fit(y, X, C=10.0, version=1, model="choice")
    Q = _vectors(cache, data.test.texts)
    cos = Q @ X.T
    best = np.stack([cos[:, y == a].max(1) for a in range(len(labels))], axis=1)
    p = np.zeros_like(best)
    p[:, head.article_ids] = head.probabilities(Q)
    truth = np.array([column.get(label, -1) for label in data.test.labels])
    known = truth >= 0
    out = {}
    for a in exponents:
        scores = p**a * best
        top = scores.argmax(1)
        s = scores[np.arange(len(scores)), top]
        order = np.argsort(-s)
        accuracy = np.cumsum(((top == truth) & known)[order]) / known.sum()
        handed = 1 - np.cumsum(~known[order]) / max(1, (~known).sum())
        ok = np.where(accuracy >= GOAL_IN_SCOPE)[0]
        out[a] = float(handed[ok[0]]) if len(ok) else None
    return out


def main() -> int:
    from unknown_intents import load

    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--model", default="all-MiniLM-L6-v2")
    p.add_argument("--exponents", nargs="+", type=float, default=list(EXPONENTS))
    args = p.parse_args()
    for name in args.datasets:
        data = load(name)
        cache = CachedEmbedder(
            None, REPO / ".tier1" / "bench-cache" / f"kbeval-{name}-{args.model}.npz"
        )
        val, test = {}, {}
        for seed in tqdm(args.seeds, desc=f"{name} seeds"):
            split = hold_out_intents(data, 0.25, seed)
            for a, h in handed_off_at(nested_validation(split).data, cache, args.exponents).items():
                val.setdefault(a, []).append(h or 0.0)
            for a, h in handed_off_at(split.data, cache, args.exponents).items():
                test.setdefault(a, []).append(h or 0.0)
        chosen = max(args.exponents, key=lambda a: (np.mean(val[a]), -abs(a - 0.5)))
        for a in args.exponents:
            mark = "  <- chosen on validation" if a == chosen else ""
            print(
                f"{name} exponent {a:g}: nested validation handed off @ known>=90 "
                f"{100 * np.mean(val[a]):.1f} ({', '.join(f'{100 * v:.1f}' for v in val[a])}); "
                f"test (reference) {100 * np.mean(test[a]):.1f}{mark}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
