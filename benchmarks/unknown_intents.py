"""Reproduce the "In-domain unknown questions" numbers of benchmarks/QUALITY.md.

For each dataset (BANKING77, CLINC150's in-scope intents) and seed, a quarter of the intents is
held out as UNKNOWN (``knowledge_base.evaluation.unknown_intents.hold_out_intents``); a
throwaway knowledge base is built from the known intents' training texts through
``KnowledgeBase`` (``run_evaluation``: the product's code path), the test questions of known
AND unknown intents are ranked with ``search_many`` and decided with ``decide``. The answer
threshold is chosen on validation questions of KNOWN intents only (the highest threshold whose
validation accuracy keeps >= 90 % at 90 % confidence; ``choose_threshold``): no text of an
unknown intent reaches the knowledge base or the threshold choice. CLINC150 has its own
validation split; BANKING77 has none, and is validated by 10-fold cross-validation over the
known intents' training texts (``--val-folds``; 0: the older 10 % carve).

Ranked predictions are cached per dataset + model + scoring + seed in .tier1/bench-cache/
(``unknown-*.json``), embeddings per dataset + model (``kbeval-<dataset>-<model>.npz``, shared
with kb_eval.py and model_table.py), so a rerun only re-decides.

Example:
    nice -n 10 .venv/bin/python benchmarks/unknown_intents.py                 # 3 seeds, both datasets
    nice -n 10 .venv/bin/python benchmarks/unknown_intents.py --seeds 0 --datasets banking77
    nice -n 10 .venv/bin/python benchmarks/unknown_intents.py --model all-mpnet-base-v2
    nice -n 10 .venv/bin/python benchmarks/unknown_intents.py --clarify-margins 0 0.2
    nice -n 10 .venv/bin/python benchmarks/unknown_intents.py --val-folds 0     # BANKING77: 10 % carve
    nice -n 5 .venv/bin/python benchmarks/unknown_intents.py --datasets banking77 --tune \
        --val-folds 0 --methods 'learned_head^0.25'                              # tuned encoder

``--tune`` first fine-tunes the encoder (``tune_on_train``, the tuning of ``tier1 kb tune``) on
the KNOWN intents' training texts of each seed, so no unknown intent's text and no validation
question reaches the encoder either; with validation folds, each fold's knowledge base gets
its own tune on that fold's training texts (one tune per fold: ten times the cost).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DATA = REPO.parent / "shared" / "datasets"
CACHE = REPO / ".tier1" / "bench-cache"
PLOTS = REPO / "benchmarks" / "plots"

import numpy as np
import yaml
from kb_eval import scoring_of

from knowledge_base.evaluation import CachedEmbedder, load_clinc, load_csv
from knowledge_base.evaluation.evaluator import run_evaluation
from knowledge_base.evaluation.folds import pooled_predictions
from knowledge_base.evaluation.metrics import Candidate, Prediction
from knowledge_base.evaluation.unknown_intents import (
    GOAL_HANDED_OFF,
    GOAL_IN_SCOPE,
    VAL_FOLDS,
    best_at,
    evaluate_split,
    frontier_auc,
    hold_out_intents,
    plot_frontiers,
)
from knowledge_base.settings import DecisionSettings, KnowledgeBaseSettings
from knowledge_base.tuning import TuningOptions

METHODS = ["max_cosine", "learned_head", "learned_head+lexical0.5"]


def load(name: str):
    if name == "banking77":
        return load_csv(
            DATA / "banking77" / "train.csv",
            DATA / "banking77" / "test.csv",
            text_col="text",
            label_col="category",
        )
    return load_clinc(DATA / "clinc150" / "data_full.json")


def embedder(name: str, model: str) -> CachedEmbedder:
    """Vectors cached per dataset + model; the model itself only loads for a missing text."""
    from knowledge_base import encoder_catalog
    from knowledge_base.embedder import SentenceTransformerEmbedder

    inner = SentenceTransformerEmbedder(
        encoder_catalog.setting_for(model),
        batch_size=64,
        runtime="onnx",
        threads=2,
        cache_dir=REPO / ".tier1" / "onnx",
        models_dir=REPO / ".tier1" / "encoders",
    )
    return CachedEmbedder(inner, CACHE / f"kbeval-{name}-{model}.npz")


def config_decision() -> DecisionSettings:
    raw = yaml.safe_load((REPO / "config.yml").read_text(encoding="utf-8"))
    return DecisionSettings(**raw["knowledge_base"]["decision"])


def _dump(preds: list[Prediction]) -> list:
    return [[p.text, p.label, [[h.article_id, h.label, h.score] for h in p.hits]] for p in preds]


def _undump(rows: list) -> list[Prediction]:
    return [
        Prediction(t, lab, tuple(Candidate(a, hl, s) for a, hl, s in hits)) for t, lab, hits in rows
    ]


def tuned_embedder(data, model: str, options) -> CachedEmbedder:
    """``model`` fine-tuned on ``data.train`` only (an identical earlier run is reused),
    its vectors cached under the tuned model's fingerprint."""
    from knowledge_base import encoder_catalog
    from knowledge_base.evaluation.tuned import tune_on_train

    inner, manifest, reused = tune_on_train(
        data,
        encoder_catalog.setting_for(model),
        CACHE,
        options,
        runtime="onnx",
        threads=2,
        cache_dir=REPO / ".tier1" / "onnx",
        models_dir=REPO / ".tier1" / "encoders",
    )
    print(
        f"   tuned {manifest.name}: {manifest.steps} steps, {manifest.seconds:.0f} s"
        f"{' (reused)' if reused else ''}",
        file=sys.stderr,
    )
    return CachedEmbedder(inner, CACHE / f"kbeval-{data.name}-{manifest.fingerprint}.npz")


def ranked(name, data, split, method, model, seed, fraction, emb_cache, tune=None) -> dict:
    """Test and validation predictions of one scoring on one split (cached).

    ``tune`` (TuningOptions): rank with the encoder tuned on the split's (or fold's) training
    texts instead of the frozen one.
    """
    folds = f"-folds{split.val_folds}" if split.val_folds else ""
    tuned = f"-tuned-e{tune.epochs}-s{tune.seed}" if tune else ""
    path = CACHE / f"unknown-{name}-{model}{tuned}-{method}-f{fraction:g}-seed{seed}{folds}.json"
    if path.exists():
        return json.loads(path.read_text())
    settings = KnowledgeBaseSettings(
        seed_file=None, index={"type": "faiss"}, scoring=scoring_of(method)
    )

    def encoder_for(part):
        if tune is None:
            return emb_cache.setdefault(name, embedder(name, model))
        return tuned_embedder(part, model, tune)

    t0 = time.perf_counter()
    emb = encoder_for(split.data)
    run = run_evaluation(split.data, settings, embedder=emb, progress=True, include_val=True)
    emb.save()
    val = run.val
    if split.val_folds:

        def rank(fold):
            fold_emb = encoder_for(fold)
            predictions = run_evaluation(fold, settings, embedder=fold_emb, progress=False).test
            fold_emb.save()
            return predictions

        val = pooled_predictions(split.folds(), rank)
    doc = {
        "dataset": name,
        "model": model,
        "method": method,
        "seed": seed,
        "fraction": fraction,
        "known": list(split.known),
        "unknown": list(split.unknown),
        "articles": run.articles,
        "indexed_texts": run.variants,
        "build_seconds": run.build_seconds,
        "ms_per_query": run.ms_per_query,
        "wall_seconds": time.perf_counter() - t0,
        "val_folds": split.val_folds,
        "tuning": asdict(tune) if tune else None,
        "test": _dump(run.test),
        "val": _dump(val),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return doc


def _pm(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean = 100 * float(np.mean(values))
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {100 * float(np.std(values, ddof=1)):.1f}"


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=["banking77", "clinc150"],
        choices=["banking77", "clinc150"],
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=METHODS,
        help="scorings; learned_head^A sets the probability exponent A (default 0.5), "
        "+lexicalW the n-gram weight (default: %(default)s)",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--fraction", type=float, default=0.25, help="share of intents held out")
    p.add_argument(
        "--model",
        default="all-MiniLM-L6-v2",
        help="encoder (tier1 models list); its vectors must be cached or encodable",
    )
    p.add_argument(
        "--clarify-margins",
        nargs="+",
        type=float,
        default=None,
        help="decision clarify margins to compare (default: 0 and config.yml's)",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=0.9,
        help="one-sided confidence of the validation accuracy bound (0: point estimate)",
    )
    p.add_argument(
        "--val-folds",
        type=int,
        default=VAL_FOLDS,
        help="a dataset without a validation split (BANKING77) is validated by this many folds "
        "of cross-validation over the known intents' training texts; 0: a 10 %% carve "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="fine-tune the encoder on each split's known training texts first (per fold with "
        "--val-folds > 0)",
    )
    p.add_argument("--tune-epochs", type=int, default=1, help="with --tune (default: %(default)s)")
    p.add_argument("--tune-seed", type=int, default=0, help="with --tune (default: %(default)s)")
    p.add_argument("--plots", type=Path, default=PLOTS, help="where the PNGs go")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    if not DATA.exists():
        print(f"no datasets at {DATA}: see ../shared/datasets/README.md", file=sys.stderr)
        return 2
    from tabulate import tabulate

    base = config_decision()
    margins = args.clarify_margins or [0.0, base.clarify_margin]
    confidence = args.confidence or None
    emb_cache: dict = {}
    tune = TuningOptions(epochs=args.tune_epochs, seed=args.tune_seed) if args.tune else None
    label = f"{args.model}-tuned-e{args.tune_epochs}" if tune else args.model
    rows, out = [], {"model": args.model, "fraction": args.fraction, "results": []}
    for name in args.datasets:
        data = load(name)
        splits = {
            s: hold_out_intents(data, args.fraction, s, val_folds=args.val_folds)
            for s in args.seeds
        }
        for seed, split in splits.items():
            print(f"== {name} seed {seed}: unknown = {', '.join(split.unknown)}", file=sys.stderr)
        for margin in margins:
            decision = base.copy(update={"clarify_margin": margin})
            curves, chosen, spread = {}, {}, {}
            for method in args.methods:
                per_seed = []
                for seed, split in splits.items():
                    print(
                        f"== {name} / {method} / seed {seed} / margin {margin:g}",
                        file=sys.stderr,
                        flush=True,
                    )
                    doc = ranked(
                        name, data, split, method, args.model, seed, args.fraction, emb_cache, tune
                    )
                    r = evaluate_split(
                        method,
                        _undump(doc["test"]),
                        _undump(doc["val"]),
                        decision,
                        data.oos_label,
                        confidence=confidence,
                    )
                    per_seed.append((r, doc))
                    out["results"].append(
                        {
                            "dataset": name,
                            "seed": seed,
                            "clarify_margin": margin,
                            "unknown_intents": doc["unknown"],
                            "build_seconds": doc["build_seconds"],
                            **r.to_dict(),
                        }
                    )
                first = per_seed[0][0]
                curves[method], chosen[method] = first.frontier, first.test
                spread[method] = [r.frontier for r, _ in per_seed[1:]]
                col = lambda f, runs=per_seed: [f(r) for r, _ in runs]
                best = lambda r: getattr(best_at(r.frontier), "oos_recall", None)
                rows.append(
                    [
                        name,
                        method,
                        f"{margin:g}",
                        len(per_seed),
                        _pm(col(lambda r: r.test.top1_accuracy)),
                        _pm(col(lambda r: r.test.in_scope_accuracy)),
                        _pm(col(lambda r: r.test.oos_recall)),
                        _pm(col(lambda r: r.test.wrong_answer_rate)),
                        _pm(col(lambda r: r.test.clarify_rate)),
                        f"{sum(r.goal_met for r, _ in per_seed)}/{len(per_seed)}",
                        _pm(col(best)),
                        f"{np.mean(col(lambda r: frontier_auc(r.frontier))):.3f}",
                    ]
                )
            path = args.plots / f"unknown-intents-{name}-{label}-clarify{margin:g}.png"
            plot_frontiers(
                curves,
                chosen,
                path,
                f"{name}, {label}: {args.fraction:.0%} of intents unknown, clarify margin "
                f"{margin:g}\n(seed {args.seeds[0]} bold, other seeds thin; dots: val-chosen)",
                spread=spread,
            )
            print(f"plot: {path}", file=sys.stderr)
    headers = [
        "dataset",
        "scoring",
        "clarify margin",
        "seeds",
        "known top-1",
        "known answered right",
        "unknown handed off",
        "wrong-answer rate",
        "clarify",
        "goal met",
        "best handed off @ known ≥ 90 (test: reference only)",
        "frontier area",
    ]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    print(
        f"\ngoal: >= {GOAL_HANDED_OFF:.0%} handed off with >= {GOAL_IN_SCOPE:.0%} known answered "
        f"right at the validation-chosen threshold; mean ± sd over seeds {args.seeds}"
    )
    out_path = args.out or CACHE / f"unknown_intents-{label}.json"
    out_path.write_text(json.dumps(out))
    print(f"JSON: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
