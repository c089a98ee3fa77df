"""Articles without question variants: the help-center case, as a reproducible public benchmark.

Three knowledge bases, each built the way ``tier1 kb import`` builds one from titles and
answers only, and queried with every question a user could ask (benchmarks/QUALITY.md,
"Articles without variants"):

- ``demo``: knowledge_base/demo/articles.yml with its question variants removed (title +
  real answer). Every variant is a query. Out-of-scope: CLINC150's 100 ``oos_val``
  questions. Validation = a seeded 30 % of each slug's queries (and of the out-of-scope
  ones), test = the rest.
- ``banking77`` / ``clinc150``: there is NO answer text in these datasets. Each label becomes
  an article generated deterministically from its name: title ``card_arrival`` ->
  "Card arrival", and, with ``--bodies template``, the answer "Card arrival. This article
  explains card arrival." (no information beyond the label name; without it the answer is
  the title again). Queries: the TEST split (CLINC150: test + oos_test). Validation, for the
  thresholds only: BANKING77 a seeded sample of 20 training utterances per label (no
  out-of-scope, target "wrong answers <= 10 %"); CLINC150 val + oos_val (target best MCC).

``--attach K`` simulates the admin's unanswered-inbox Attach: K validation queries per article
are added to it as question variants before the test (and are then no longer used to pick
thresholds); ``--attach 0 1 2 4 8`` sweeps it.

Data is read from ../shared/datasets (never copied here). Vectors are cached in
.tier1/bench-cache/articles-<dataset>-all-MiniLM-L6-v2.npz.

Example:
    nice -n 10 .venv/bin/python benchmarks/articles_eval.py
    nice -n 10 .venv/bin/python benchmarks/articles_eval.py --datasets demo --methods max_cosine learned_head
    nice -n 10 .venv/bin/python benchmarks/articles_eval.py --datasets banking77 --attach 0 1 2 4 8
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "datasets"
CACHE = REPO / ".tier1" / "bench-cache"

import yaml

from knowledge_base.evaluation import CachedEmbedder, EvalData, LabelledSplit
from knowledge_base.evaluation.articles import ArticlesEval, split_queries
from knowledge_base.evaluation.articles_command import evaluate_articles
from knowledge_base.settings import PACKAGED_MODEL, KnowledgeBaseSettings

OOS = "oos"


def title_of(label: str) -> str:
    """``card_arrival`` -> "Card arrival" (BANKING77 and CLINC150 label names)."""
    words = label.replace("_", " ").replace("-", " ").split()
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def slug_of(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def generated_articles(labels: list[str], bodies: str) -> list[dict]:
    out = []
    for label in labels:
        title = title_of(label)
        answer = (
            f"{title}. This article explains {title.lower()}." if bodies == "template" else title
        )
        out.append({"slug": slug_of(label), "title": title, "answer": answer})
    return out


def _split(rows: list[tuple[str, str]]) -> LabelledSplit:
    return LabelledSplit([" ".join(t.split()) for t, _ in rows], [lab for _, lab in rows])


def load_demo(seed: int) -> tuple[list[dict], LabelledSplit, LabelledSplit, str]:
    raw = yaml.safe_load((REPO / "knowledge_base" / "demo" / "articles.yml").read_text())
    articles, rows = [], []
    for a in raw["articles"]:
        rows += [(q, a["slug"]) for q in a.get("questions", [])]
        articles.append({k: v for k, v in a.items() if k != "questions"})
    oos = json.loads((DATA / "clinc150" / "data_full.json").read_text())["oos_val"]
    queries = _split(rows + [(t, OOS) for t, _ in oos])
    val, test = split_queries(queries, 0.3, seed)
    return (
        articles,
        val,
        test,
        f"30 % of each slug's variants + of 100 CLINC150 oos_val (seed {seed})",
    )


def load_banking77(bodies: str, seed: int):
    def read(split: str) -> list[tuple[str, str]]:
        with open(DATA / "banking77" / f"{split}.csv", encoding="utf-8", newline="") as f:
            return [(r["text"], r["category"]) for r in csv.DictReader(f)]

    train, test = read("train"), read("test")
    labels = sorted({lab for _, lab in train})
    by_label: dict[str, list] = {}
    for row in train:
        by_label.setdefault(row[1], []).append(row)
    rng = random.Random(seed)
    val = [r for lab in labels for r in rng.sample(by_label[lab], 20)]
    relabel = lambda rows: [(t, slug_of(lab)) for t, lab in rows]
    return (
        generated_articles(labels, bodies),
        _split(relabel(val)),
        _split(relabel(test)),
        f"20 training utterances per label (seed {seed})",
    )


def load_clinc150(bodies: str, seed: int):
    raw = json.loads((DATA / "clinc150" / "data_full.json").read_text())
    labels = sorted({lab for _, lab in raw["train"]})
    relabel = lambda rows: [(t, slug_of(lab) if lab != OOS else OOS) for t, lab in rows]
    return (
        generated_articles(labels, bodies),
        _split(relabel(raw["val"] + raw["oos_val"])),
        _split(relabel(raw["test"] + raw["oos_test"])),
        "CLINC150 val + oos_val",
    )


def attach(articles: list[dict], val: LabelledSplit, k: int, seed: int):
    """Move ``k`` validation queries per article into it as question variants."""
    if k == 0:
        return articles, val
    rng = random.Random(seed)
    by_slug: dict[str, list[int]] = {}
    for i, lab in enumerate(val.labels):
        if lab != OOS:
            by_slug.setdefault(lab, []).append(i)
    moved: set[int] = set()
    out = []
    for a in articles:
        idx = by_slug.get(a["slug"], [])
        take = rng.sample(idx, min(k, len(idx)))
        moved.update(take)
        out.append({**a, "questions": [val.texts[i] for i in take]} if take else a)
    keep = [i for i in range(len(val)) if i not in moved]
    return out, LabelledSplit([val.texts[i] for i in keep], [val.labels[i] for i in keep])


def settings_for(method: str, passages: str) -> KnowledgeBaseSettings:
    kind, _, weight = method.partition(":")  # e.g. hybrid:0.3
    scoring = {"type": kind}
    if weight:
        scoring["bm25_weight"] = float(weight)
    extra = {} if passages == "long" else {"index_answers": passages}
    return KnowledgeBaseSettings(
        scoring=scoring,
        index={"type": "faiss"},
        seed_file=None,
        decision={"clarify_margin": 0.04},
        **extra,
    )


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--datasets", nargs="+", default=["demo", "banking77", "clinc150"])
    p.add_argument("--methods", nargs="+", default=["max_cosine", "learned_head"])
    p.add_argument(
        "--bodies",
        choices=["title", "template"],
        default="title",
        help="banking77/clinc150: answer = the title, or title + a templated sentence",
    )
    p.add_argument(
        "--passages",
        default="long",
        help="which answers are indexed as passages: long (the shipped rule), always",
    )
    p.add_argument("--attach", nargs="+", type=int, default=[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--max-wrong-rate",
        type=float,
        default=None,
        help="threshold target on validation (default: best MCC with out-of-scope, else 0.10)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = p.parse_args()
    if not DATA.exists():
        print(f"no datasets at {DATA}")
        return 2
    from knowledge_base import SentenceTransformerEmbedder

    rows = []
    for name in args.datasets:
        if name == "demo":
            articles, val, test, where = load_demo(args.seed)
        elif name == "banking77":
            articles, val, test, where = load_banking77(args.bodies, args.seed)
        else:
            articles, val, test, where = load_clinc150(args.bodies, args.seed)
        embedder = CachedEmbedder(
            SentenceTransformerEmbedder(PACKAGED_MODEL, batch_size=128),
            CACHE / f"articles-{name}-all-MiniLM-L6-v2.npz",
        )
        for k in args.attach:
            kb_articles, kb_val = attach(articles, val, k, args.seed)
            slugs = [a["slug"] for a in kb_articles]
            data = EvalData(LabelledSplit(slugs, slugs), test, kb_val, OOS, name)
            ev = ArticlesEval(data, [], Path(f"{name}.yml"), where)
            knowledge = ({"version": 1, "articles": kb_articles}, {s: s for s in slugs})
            for method in args.methods:
                _, report = evaluate_articles(
                    ev,
                    settings_for(method, args.passages),
                    embedder=embedder,
                    knowledge=knowledge,
                    max_wrong_rate=args.max_wrong_rate,
                )
                embedder.save()
                r, m = report["ranking"], report["metrics"]
                row = {
                    "dataset": name,
                    "method": method,
                    "attach": k,
                    "bodies": args.bodies if name != "demo" else "real",
                    "passages": args.passages,
                    **{
                        key: report[key]
                        for key in (
                            "articles",
                            "indexed_texts",
                            "scoring",
                            "validation_queries",
                            "test_queries",
                        )
                    },
                    "top1": r["top1"],
                    "recall5": r["recall_at_k"],
                    "mrr": r["mrr"],
                    "val_top1": report["validation_ranking"]["top1"],
                    "val_mrr": report["validation_ranking"]["mrr"],
                    "val_mcc": (report["validation_metrics"] or {}).get("mcc"),
                    "val_in_scope": (report["validation_metrics"] or {}).get("in_scope_accuracy"),
                    "threshold": report["thresholds"]["answer_threshold"],
                    "target": report["thresholds"]["target"],
                    "in_scope": m["in_scope_accuracy"],
                    "oos_recall": m["oos_recall"],
                    "wrong": m["wrong_answer_rate"],
                    "build_s": report["build_seconds"],
                    "ms_per_query": report["ms_per_query"],
                }
                rows.append(row)
                pct = lambda v: "   -" if v is None else f"{100 * v:5.1f}"
                print(
                    f"{name:9} {method:16} attach {k}: val top-1 {pct(row['val_top1'])} MRR "
                    f"{row['val_mrr'] or 0:.3f} MCC {row['val_mcc'] or 0:.3f} in-scope "
                    f"{pct(row['val_in_scope'])} | "
                    f"top-1 {pct(row['top1'])} r@5 "
                    f"{pct(row['recall5'])} MRR {row['mrr']:.3f} | thr {row['threshold']:.3f} "
                    f"({row['target']}) in-scope {pct(row['in_scope'])} oos {pct(row['oos_recall'])}"
                    f" wrong {pct(row['wrong'])} | scoring {row['scoring']}, "
                    f"{row['indexed_texts']} texts, val {row['validation_queries']}, "
                    f"test {row['test_queries']}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
