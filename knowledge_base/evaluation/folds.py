"""Cross-validation folds: validation questions from the training texts, without losing any.

A dataset with no validation split (BANKING77) can lend one from its training texts. A single
carve of 10 % holds a few hundred questions, and which ones it draws moves the measured
accuracy by more than its own noise (benchmarks/QUALITY.md, "In-domain unknown questions":
BANKING77 seed 1's carve measured 91.4 % top-1 where the others measured 94 %, and the
threshold rule answered nearly everything). K folds use every training text once as a
validation question: each fold's knowledge base is built from the other folds' texts, its
questions are ranked against it, and the predictions of all folds are pooled. The knowledge
base under test keeps all the training texts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from knowledge_base.evaluation.datasets import DatasetError, EvalData, LabelledSplit
from knowledge_base.evaluation.metrics import Prediction


def indices_by_label(labels: Sequence[str], minimum: int, purpose: str) -> dict[str, list[int]]:
    """Each label's positions in ``labels``, labels sorted.

    Raises:
        DatasetError: a label has fewer than ``minimum`` texts (``purpose`` says for what).
    """
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    for label in sorted(by_label):
        if len(by_label[label]) < minimum:
            count = len(by_label[label])
            raise DatasetError(
                f"intent {label!r} has {count} training text{'s' if count != 1 else ''}; "
                f"{purpose} needs at least {minimum} (or give a --val split)"
            )
    return {label: by_label[label] for label in sorted(by_label)}


def stratified_folds(split: LabelledSplit, k: int, seed: int) -> list[list[int]]:
    """``k`` disjoint lists of indices into ``split`` covering it, each label spread evenly.

    Each label's texts are shuffled (seeded) and dealt round-robin, starting at a rotating
    fold, so every fold holds about ``1/k`` of every label and the folds' sizes differ by at
    most one per label. The result depends only on ``split``, ``k`` and ``seed``.

    Raises:
        DatasetError: ``k`` < 2, or a label has fewer than 2 texts (one fold's knowledge
            base would not know it).
    """
    if k < 2:
        raise DatasetError(f"cross-validation needs at least 2 folds, got {k}")
    by_label = indices_by_label(split.labels, 2, "cross-validation")
    rng = random.Random(f"validation-folds/{seed}")
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for idx in by_label.values():
        idx = idx[:]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[(start + j) % k].append(i)
        start = (start + len(idx)) % k
    return [sorted(f) for f in folds]


def fold_datasets(data: EvalData, k: int, seed: int) -> list[EvalData]:
    """One dataset per fold: ``train`` = the other folds' texts, ``test`` = this fold's.

    Built from ``data.train`` only; ``data.test`` and ``data.val`` are not read. A fold left
    empty (``k`` above the number of texts) is skipped.
    """
    train = data.train
    pick = lambda ids: LabelledSplit([train.texts[i] for i in ids], [train.labels[i] for i in ids])
    out = []
    for fold in filter(None, stratified_folds(train, k, seed)):
        held = set(fold)
        rest = [i for i in range(len(train)) if i not in held]
        out.append(EvalData(pick(rest), pick(fold), None, data.oos_label, data.name))
    return out


def pooled_predictions(
    folds: Sequence[EvalData], rank: Callable[[EvalData], Sequence[Prediction]]
) -> list[Prediction]:
    """``rank`` each fold (its knowledge base from its ``train``, queries its ``test``), pooled.

    ``rank`` is the caller's way of building and searching a knowledge base (e.g.
    ``run_evaluation(...).test``), so the pooled predictions come from the product's code path.
    """
    pooled: list[Prediction] = []
    for fold in folds:
        pooled.extend(rank(fold))
    return pooled
