"""Cross-validation folds over a training split (knowledge_base/evaluation/folds.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from knowledge_base.evaluation.datasets import DatasetError, EvalData, LabelledSplit
from knowledge_base.evaluation.folds import fold_datasets, pooled_predictions, stratified_folds
from knowledge_base.evaluation.metrics import Candidate, Prediction

pytestmark = pytest.mark.unit

# uneven intents: 11, 7, 5 and 2 texts
SIZES = {"a": 11, "b": 7, "c": 5, "d": 2}
SPLIT = LabelledSplit(
    [f"{label} text {j}" for label, n in SIZES.items() for j in range(n)],
    [label for label, n in SIZES.items() for _ in range(n)],
)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_partition_the_split_and_spread_every_label(k):
    folds = stratified_folds(SPLIT, k, seed=0)
    assert len(folds) == k
    flat = [i for f in folds for i in f]
    assert sorted(flat) == list(range(len(SPLIT)))  # every text exactly once
    for label, n in SIZES.items():
        per_fold = [sum(SPLIT.labels[i] == label for i in f) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1 and sum(per_fold) == n
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1  # the rotating start keeps the folds level too


def test_folds_are_seeded():
    assert stratified_folds(SPLIT, 3, seed=4) == stratified_folds(SPLIT, 3, seed=4)
    assert stratified_folds(SPLIT, 3, seed=4) != stratified_folds(SPLIT, 3, seed=5)


def test_too_few_folds_or_texts_are_errors():
    with pytest.raises(DatasetError, match="at least 2 folds"):
        stratified_folds(SPLIT, 1, seed=0)
    lonely = LabelledSplit(SPLIT.texts + ["e text 0"], SPLIT.labels + ["e"])
    with pytest.raises(DatasetError, match="'e' has 1 training text"):
        stratified_folds(lonely, 3, seed=0)


def test_each_fold_dataset_holds_its_questions_out_of_its_knowledge_base():
    data = EvalData(SPLIT, LabelledSplit(["never read"], ["a"]), None, "oos", "toy")
    folds = fold_datasets(data, 3, seed=1)
    assert len(folds) == 3
    seen = []
    for fold in folds:
        assert not set(fold.train.texts) & set(fold.test.texts)
        assert sorted(fold.train.texts + fold.test.texts) == sorted(SPLIT.texts)
        # every label keeps at least one text in each fold's knowledge base (d has only 2)
        assert set(fold.train.labels) == set(SIZES)
        assert all(t.startswith(f"{lab} ") for t, lab in zip(fold.test.texts, fold.test.labels))
        assert fold.val is None and fold.oos_label == "oos"
        seen += fold.test.texts
    assert sorted(seen) == sorted(SPLIT.texts) and "never read" not in seen
    # more folds than texts: the empty folds are skipped, every text is still held out once
    many = fold_datasets(data, 40, seed=1)
    assert len(many) == len(SPLIT) and all(len(f.test) == 1 for f in many)


def test_pooled_predictions_rank_each_fold_once_in_order():
    folds = fold_datasets(EvalData(SPLIT, SPLIT), 2, seed=0)
    calls = []

    def rank(fold):
        calls.append(fold)
        return [
            Prediction(t, lab, (Candidate(0, lab, 1.0),))
            for t, lab in zip(fold.test.texts, fold.test.labels)
        ]

    pooled = pooled_predictions(folds, rank)
    assert calls == folds
    assert [p.text for p in pooled] == folds[0].test.texts + folds[1].test.texts
    assert Counter(p.label for p in pooled) == Counter(SPLIT.labels)
