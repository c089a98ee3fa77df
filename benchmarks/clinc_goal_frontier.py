"""Where CLINC150's goal (in-scope >= 96.5 %, out-of-scope recall >= 75 %) stands (issue 16).

Runs the product's evaluation (``run_evaluation``: KB = ``train``, the configured head and
n-grams) once per scoring and reads three things from it:

- the points the validation-chosen thresholds land on in the test split: the rules of
  benchmarks/QUALITY.md (``mcc``; ``mix``: <= 5 % wrong answers at the test's 18 %
  out-of-scope share; ``goal``: the best validation in-scope accuracy with validation
  out-of-scope recall >= 75 %), each chosen on ``val + oos_val`` and, with
  ``--with-oos-train``, also on ``val + oos_val + oos_train`` (the 100 training out-of-scope
  questions the KB never sees: twice the out-of-scope questions to place the threshold);
- the same with the clarify step off (``clarify_margin: 0``): a clarification is neither an
  answer nor a handoff, so it costs both rates of this benchmark;
- for reference only (never to choose anything): the test frontier's best in-scope accuracy
  at out-of-scope recall >= 75 % and the test thresholds that meet both goals.

``--models A B`` embeds with several encoders at once (each vector unit-length, the
concatenation scaled back to unit length): an ensemble, at the sum of their costs.
``--tune`` first fine-tunes the (single) encoder on the training split only
(``knowledge_base.evaluation.tuned.tune_on_train``, the tuning ``tier1 kb eval --tune`` runs;
no validation or test text), saves it under .tier1/bench-cache/tuned-clinc150-KEY/ (an
identical earlier run is reused) and encodes with the tuned model (ONNX, cached by its
fingerprint).
``--distance-scores`` also adds, with the clarify step off, the head's score plus
``w`` x a distance score (z-scores from the validation predictions; Mahalanobis, relative
Mahalanobis and the mean cosine of the k nearest training texts, as
benchmarks/unknown_mahalanobis.py), the product's top-1 article kept.

Vectors come from model_table.py's cache (.tier1/bench-cache/kbeval-clinc150-MODEL.npz: run
``benchmarks/model_table.py --stage encode --datasets clinc150 --models MODEL`` first). Writes
one JSON line per scoring and the frontier plot artifacts/clinc-goal-frontier.png.

Example:
    nice -n 5 .venv/bin/python benchmarks/clinc_goal_frontier.py --models all-mpnet-base-v2 \
        --methods 'learned_head+lexical0.5^1' --with-oos-train
    nice -n 5 .venv/bin/python benchmarks/clinc_goal_frontier.py \
        --models all-MiniLM-L6-v2 all-mpnet-base-v2 --methods 'learned_head+lexical0.5^1'
    nice -n 5 .venv/bin/python benchmarks/clinc_goal_frontier.py --models all-mpnet-base-v2 \
        --tune --tune-epochs 1 --with-oos-train
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
from kb_eval import DATA, load, scoring_of
from model_table import CACHE, MODELS_DIR, ONNX_CACHE, cached, dataset_texts, fill
from unknown_mahalanobis import _rescored, _unit, unknown_scores

from knowledge_base import encoder_catalog
from knowledge_base.evaluation import CachedEmbedder, calibrate, compute_metrics
from knowledge_base.evaluation.datasets import load_clinc
from knowledge_base.evaluation.evaluator import run_evaluation
from knowledge_base.evaluation.unknown_intents import fast_sweep
from knowledge_base.settings import KnowledgeBaseSettings

GOAL_IN_SCOPE, GOAL_OOS = 0.965, 0.75
OOS_SHARE = 1000 / 5500  # the test split's out-of-scope share
RULES = {"mcc": {"objective": "mcc"}, "mix": {"max_wrong_rate": 0.05, "oos_share": OOS_SHARE}}
DISTANCE_SCORES = ("mahalanobis", "relative_mahalanobis", "knn1", "knn5")
WEIGHTS = (0.25, 0.5, 1.0)
PLOT = REPO / "artifacts" / "clinc-goal-frontier.png"


class ConcatenatedEmbedder:
    """Several encoders' unit vectors side by side, scaled to unit length (an ensemble)."""

    def __init__(self, parts) -> None:
        self.parts = parts
        self.name = "concat:" + "+".join(p.name for p in parts)
        self.dimensions = sum(p.dimensions for p in parts)

    def encode(self, texts, *, progress: bool = False) -> np.ndarray:
        scale = 1.0 / np.sqrt(len(self.parts))
        vectors = [scale * p.encode(texts, progress=progress) for p in self.parts]
        return np.hstack(vectors).astype(np.float32)

    def save(self) -> None:
        for p in self.parts:
            p.save()


def tuned(data, model: str, options, *, chunk: int = 512) -> tuple[CachedEmbedder, dict]:
    """``model`` tuned on ``data.train`` (or an identical earlier run), every text encoded.

    Vectors are cached under the tuned model's fingerprint (``model_table.fill``).
    """
    from knowledge_base.evaluation.tuned import tune_on_train

    inner, manifest, reused = tune_on_train(
        data, encoder_catalog.setting_for(model), CACHE, options, models_dir=MODELS_DIR,
        runtime="onnx", threads=2, cache_dir=ONNX_CACHE,
    )
    cache = CachedEmbedder(inner, CACHE / f"kbeval-{data.name}-{manifest.fingerprint}.npz")
    missing = [t for t in dataset_texts(data) if t not in cache._vectors]
    fill(cache, missing, chunk, f"encode with {manifest.name}")
    info = {"name": manifest.name, "steps": manifest.steps, "epochs_done": manifest.epochs_done,
            "stopped_by": manifest.stopped_by, "seconds": manifest.seconds, "reused": reused,
            "options": manifest.options}
    return cache, info


def _point(predictions, decision, oos: str) -> list[float]:
    m = compute_metrics(predictions, decision, oos)
    return [round(decision.answer_threshold, 4), round(100 * m.in_scope_accuracy, 2),
            round(100 * m.oos_recall, 1)]


def frontier(predictions, decision, oos: str) -> list[tuple[float, float, float]]:
    """(threshold, in-scope accuracy, oos recall) at every score to 3 decimals (``fast_sweep``:
    the product's ``decide``, clarify included, in numpy)."""
    grid = np.unique(np.round([p.score for p in predictions], 3))
    return [
        (m.answer_threshold, m.in_scope_accuracy, m.oos_recall)
        for m in fast_sweep(predictions, decision, oos, grid)
    ]


def best_at_oos(rows, min_oos: float = GOAL_OOS):
    """The row with the best in-scope accuracy among those with oos recall >= ``min_oos``."""
    rows = [r for r in rows if r[2] >= min_oos]
    return max(rows, key=lambda r: r[1]) if rows else None


def read(test, vals: dict, decision, oos: str) -> dict:
    """The validation-chosen points on test, and the test frontier's reference readings.

    Rules: ``mcc`` and ``mix`` through ``calibrate``; ``goal``: the threshold with the best
    validation in-scope accuracy at validation oos recall >= 75 % (kb_eval's goal rule, on
    validation scores to 3 decimals).
    """
    out: dict = {}
    for vname, val in vals.items():
        for rule, kwargs in RULES.items():
            chosen = calibrate(val, decision, oos, **kwargs).decision
            out[f"{vname}:{rule}"] = _point(test, chosen, oos)
        g = best_at_oos(frontier(val, decision, oos))
        if g is not None:
            at = decision.copy(update={"answer_threshold": g[0]})
            out[f"{vname}:goal"] = _point(test, at, oos)
    rows = frontier(test, decision, oos)
    best = best_at_oos(rows)
    out["test_best_in_scope_at_oos75"] = best and [
        best[0], round(100 * best[1], 2), round(100 * best[2], 1)
    ]
    window = [r[0] for r in rows if r[2] >= GOAL_OOS and r[1] >= GOAL_IN_SCOPE]
    out["test_thresholds_meeting_goal"] = [min(window), max(window)] if window else None
    out["_frontier"] = rows
    return out


def distance_rows(run, data, emb, n_val: int, decision, oos: str) -> list[dict]:
    """head + w x distance score (clarify off), z-scored on the validation predictions."""
    train = _unit(emb.encode([" ".join(t.split()) for t in data.train.texts]))

    def scores(preds):
        q = _unit(emb.encode([p.text for p in preds]))
        found = unknown_scores(train, data.train.labels, q, [p.predicted for p in preds])
        found["head"] = np.array([p.score for p in preds])
        return found

    test, val = scores(run.test), scores(run.val[:n_val])
    hv = val["head"]
    rows = []
    for name in DISTANCE_SCORES:
        sv = val[name]
        for w in WEIGHTS:
            combined = {
                side: (s["head"] - hv.mean()) / hv.std() + w * (s[name] - sv.mean()) / sv.std()
                for side, s in (("test", test), ("val", val))
            }
            # calibrate's grid lives in [0, 1]: map by the validation range (monotone)
            lo, hi = combined["val"].min(), combined["val"].max()
            unit = {k: np.clip(0.05 + 0.9 * (v - lo) / (hi - lo), 0, 1) for k, v in combined.items()}
            r = read(
                _rescored(run.test, unit["test"], 0.0),
                {"val": _rescored(run.val[:n_val], unit["val"], 0.0)},
                decision,
                oos,
            )
            r.pop("_frontier")
            rows.append({"score": f"head+{w:g}*{name}", **r})
    return rows


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for label, (rows, points) in curves.items():
        line = ax.plot([100 * r[2] for r in rows], [100 * r[1] for r in rows], label=label)[0]
        for name, p in points.items():
            ax.plot(p[2], p[1], "o", color=line.get_color())
            ax.annotate(name, (p[2], p[1]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.axhline(100 * GOAL_IN_SCOPE, color="grey", lw=0.8, ls="--")
    ax.axvline(100 * GOAL_OOS, color="grey", lw=0.8, ls="--")
    ax.set(xlim=(55, 90), ylim=(94, 97.5), xlabel="out-of-scope recall on test (%)",
           ylabel="in-scope accuracy on test (%)",
           title="CLINC150 test frontier; dots: validation-chosen thresholds")
    ax.legend(fontsize=7, loc="lower left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", nargs="+", default=["all-mpnet-base-v2"],
                   help="one encoder, or several to concatenate (default: %(default)s)")
    p.add_argument("--methods", nargs="+", default=["learned_head+lexical0.5^1"],
                   help="scorings, as benchmarks/model_table.py names them (default: %(default)s)")
    p.add_argument("--with-oos-train", action="store_true",
                   help="also choose thresholds on val + oos_val + oos_train")
    p.add_argument("--distance-scores", action="store_true",
                   help="also head + w x Mahalanobis / kNN scores (clarify off)")
    g = p.add_argument_group("tuning (contrastive fine-tuning on the training split first)")
    g.add_argument("--tune", action="store_true",
                   help="fine-tune the encoder on CLINC150's train split (one model only)")
    g.add_argument("--tune-epochs", type=int, default=1)
    g.add_argument("--tune-max-steps", type=int, default=None)
    g.add_argument("--tune-batch-size", type=int, default=32)
    g.add_argument("--tune-budget-minutes", type=float, default=None)
    g.add_argument("--tune-lr", type=float, default=5e-5)
    g.add_argument("--tune-seed", type=int, default=0,
                   help="pairing, batch order and initialisation (default: %(default)s)")
    p.add_argument("--plot", type=Path, default=PLOT)
    args = p.parse_args()
    if args.tune and len(args.models) != 1:
        p.error("--tune fine-tunes one encoder: give one --models name")

    data = load("clinc150")
    n_val = len(data.val)
    if args.with_oos_train:  # the same KB and test; validation gains oos_train at its end
        data = load_clinc(DATA / "clinc150" / "data_full.json", oos_train_in_val=True)
    tuning = None
    if args.tune:
        from knowledge_base.tuning import TuningOptions

        options = TuningOptions(
            epochs=args.tune_epochs, max_steps=args.tune_max_steps,
            batch_size=args.tune_batch_size, budget_minutes=args.tune_budget_minutes,
            lr=args.tune_lr, seed=args.tune_seed,
        )
        emb, tuning = tuned(data, args.models[0], options)
        print(json.dumps({"models": args.models, "tuning": tuning}), flush=True)
    else:
        parts = [cached("clinc150", m) for m in args.models]
        emb = parts[0] if len(parts) == 1 else ConcatenatedEmbedder(parts)
    settings = KnowledgeBaseSettings(seed_file=None, index={"type": "faiss"})
    oos = data.oos_label
    curves = {}
    for method in args.methods:
        s = settings.copy(update={"scoring": settings.scoring.copy(update=scoring_of(method))})
        print(f"== {'+'.join(args.models)} / {method}", file=sys.stderr, flush=True)
        run = run_evaluation(data, s, embedder=emb, progress=True, include_val=True)
        emb.save()
        vals = {"val": run.val[:n_val]}
        if args.with_oos_train:
            vals["val+oos_train"] = run.val
        top1 = compute_metrics(run.test, s.decision, oos).top1_accuracy
        for margin in (s.decision.clarify_margin, 0.0):
            decision = s.decision.copy(update={"clarify_margin": margin})
            r = read(run.test, vals, decision, oos)
            rows = r.pop("_frontier")
            label = f"{method}, clarify {margin:g}"
            curves[label] = (rows, {k: v for k, v in r.items() if ":" in k})
            print(json.dumps({"models": args.models, "tuned": tuning is not None,
                              "method": method, "top1": round(100 * top1, 2),
                              "clarify_margin": margin, **r}), flush=True)
        if args.distance_scores:
            decision = s.decision.copy(update={"clarify_margin": 0.0})
            for row in distance_rows(run, data, emb, n_val, decision, oos):
                print(json.dumps({"models": args.models, "method": method, **row}), flush=True)
    plot(curves, args.plot)
    print(f"plot: {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
