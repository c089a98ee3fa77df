"""Choose the article head's ``lexical_weight`` on validation data only (never test).

For each weight, fits the head's logistic regression (``knowledge_base.head.ArticleHead``, the
product's own class: embeddings + weight x character n-grams) on the training texts and reports
top-1 of p(article | query) on a validation split: for BANKING77 a stratified 10 % carve of its
training split (it has no validation split), for CLINC150 its in-scope ``val`` split. The
weight in benchmarks/QUALITY.md (0.5) is the best of these; test data is not read.

Vectors come from the same cache as benchmarks/kb_eval.py (.tier1/bench-cache/), so run that
first or expect a few minutes of encoding.

example:
  .venv/bin/python benchmarks/lexical_weight.py --datasets banking77 --weights 0,0.25,0.5,1
  .venv/bin/python benchmarks/lexical_weight.py --datasets clinc150 --weights 0,0.5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kb_eval  # sets HF_HUB_OFFLINE before the model loads

from knowledge_base.head import ArticleHead


def validation_split(name: str, data, seed: int):
    """(train texts, train labels, val texts, val labels), in-scope only."""
    train = [(t, lab) for t, lab in zip(data.train.texts, data.train.labels) if lab != "oos"]
    if name == "banking77":
        from sklearn.model_selection import train_test_split

        train, val = train_test_split(
            train, test_size=0.1, stratify=[lab for _, lab in train], random_state=seed
        )
    else:
        val = [(t, lab) for t, lab in zip(data.val.texts, data.val.labels) if lab != "oos"]
    return (
        [t for t, _ in train],
        [lab for _, lab in train],
        [t for t, _ in val],
        [lab for _, lab in val],
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 3)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=["banking77", "clinc150"],
        choices=["banking77", "clinc150"],
    )
    p.add_argument(
        "--weights", default="0,0.25,0.5,1", help="comma-separated (default: %(default)s)"
    )
    p.add_argument("--C", type=float, default=10.0, help="the head's C (default: %(default)s)")
    p.add_argument(
        "--seed", type=int, default=0, help="BANKING77 carve seed (default: %(default)s)"
    )
    args = p.parse_args(argv)
    if not kb_eval.DATA.exists():
        print(f"no datasets at {kb_eval.DATA}: see ../shared/datasets/README.md", file=sys.stderr)
        return 2
    weights = [float(w) for w in args.weights.split(",") if w.strip()]
    print("| dataset | lexical_weight | validation top-1 (p) | fit s |\n|---|---|---|---|")
    for name in args.datasets:
        data = kb_eval.load(name)
        embedder = kb_eval.embedder_for(name, data)
        train_t, train_l, val_t, val_l = validation_split(name, data, args.seed)
        labels = sorted(set(train_l))
        ids = np.array([labels.index(lab) for lab in train_l])
        truth = np.array([labels.index(lab) for lab in val_l])
        train_v, val_v = embedder.encode(train_t, progress=True), embedder.encode(val_t)
        embedder.save()
        for w in weights:
            start = time.perf_counter()
            head = ArticleHead.fit(
                ids, train_v, C=args.C, version=0, model="m", texts=train_t, lexical_weight=w
            )
            seconds = time.perf_counter() - start
            p_val = head.probabilities(val_v, val_t if w > 0 else None)
            top1 = float((head.article_ids[p_val.argmax(axis=1)] == truth).mean())
            print(f"| {name} | {w:g} | {100 * top1:.2f} | {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
