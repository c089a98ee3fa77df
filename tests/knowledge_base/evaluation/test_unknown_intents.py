"""Held-out intents as in-domain unknown questions (knowledge_base/evaluation/unknown_intents.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from knowledge_base.evaluation.datasets import DatasetError, EvalData, LabelledSplit
from knowledge_base.evaluation.metrics import Candidate, Prediction, compute_metrics, sweep
from knowledge_base.evaluation.unknown_intents import (
    best_at,
    choose_threshold,
    choose_unknown_intents,
    evaluate_split,
    fast_sweep,
    frontier,
    hold_out_intents,
    nested_validation,
    plot_frontiers,
    wilson_lower,
)
from knowledge_base.settings import DecisionSettings
from tier1.cli import main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
INTENTS = [f"intent_{i:02d}" for i in range(12)]


def dataset(with_val: bool = False, oos: bool = True) -> EvalData:
    """12 intents, 10 training texts each, 3 test (and val) questions, plus out-of-scope."""

    def split(n: int, tag: str) -> LabelledSplit:
        texts = [f"{tag} {label} text {j}" for label in INTENTS for j in range(n)]
        labels = [label for label in INTENTS for _ in range(n)]
        if oos:
            texts += [f"{tag} weather {j}" for j in range(4)]
            labels += ["oos"] * 4
        return LabelledSplit(texts, labels)

    return EvalData(
        LabelledSplit(
            [f"train {label} text {j}" for label in INTENTS for j in range(10)],
            [label for label in INTENTS for _ in range(10)],
        ),
        split(3, "test"),
        split(3, "val") if with_val else None,
        "oos",
        "toy",
    )


def test_the_choice_of_unknown_intents_is_seeded_and_sized():
    a = choose_unknown_intents(INTENTS, 0.25, seed=0)
    assert a == choose_unknown_intents(list(reversed(INTENTS)), 0.25, seed=0)  # order-free
    assert len(a) == 3 and set(a) <= set(INTENTS)
    others = {tuple(choose_unknown_intents(INTENTS, 0.25, seed=s)) for s in range(1, 6)}
    assert len(others | {tuple(a)}) > 1  # seeds draw different intents
    assert len(choose_unknown_intents(INTENTS[:3], 0.9, seed=0)) == 1  # 2 known always remain
    with pytest.raises(DatasetError, match="between 0 and 1"):
        choose_unknown_intents(INTENTS, 1.0, seed=0)
    with pytest.raises(DatasetError, match="at least 3"):
        choose_unknown_intents(INTENTS[:2], 0.5, seed=0)


@pytest.mark.parametrize("with_val", [False, True])
def test_unknown_intents_reach_neither_the_kb_nor_validation(with_val):
    data = dataset(with_val=with_val)
    split = hold_out_intents(data, 0.25, seed=3)
    d = split.data
    assert set(split.known) | set(split.unknown) == set(INTENTS)
    assert not set(split.known) & set(split.unknown)  # each intent on exactly one side
    assert split.unknown == tuple(choose_unknown_intents(INTENTS, 0.25, 3))
    # no text of an unknown intent in the knowledge base or the threshold choice
    hidden = set(split.unknown)
    for s in (d.train, d.val):
        assert set(s.labels) == set(split.known)
        assert not any(any(f" {u} " in t for u in hidden) for t in s.texts)
    # the test split: known questions keep their label, unknown ones are out-of-scope, and the
    # dataset's own out-of-scope (out-of-DOMAIN) queries are gone
    for text, label in zip(d.test.texts, d.test.labels):
        intent = text.split()[1]
        assert label == ("oos" if intent in hidden else intent)
    assert not any("weather" in t for t in d.test.texts + d.val.texts)
    assert d.test.labels.count("oos") == 3 * len(hidden)
    assert split.val_carved is not with_val
    if not with_val:  # a carve: 1 of 10 texts per known intent, disjoint from the KB
        assert len(d.val) == len(split.known) and not set(d.val.texts) & set(d.train.texts)
        assert len(d.train) == 9 * len(split.known)


def test_validation_folds_replace_the_carve_and_keep_every_known_text_in_the_kb():
    data = dataset()
    split = hold_out_intents(data, 0.25, seed=3, val_folds=5)
    d, hidden = split.data, set(split.unknown)
    assert split.val_folds == 5 and not split.val_carved and d.val is None
    assert len(d.train) == 10 * len(split.known)  # nothing carved out of the KB under test
    folds = split.folds()
    assert len(folds) == 5
    pooled = [t for f in folds for t in f.test.texts]
    assert sorted(pooled) == sorted(d.train.texts)  # each known training text validated once
    for f in folds:
        assert not set(f.train.texts) & set(f.test.texts)
        assert not set(f.train.labels + f.test.labels) & hidden
    assert "5-fold cross-validation" in split.describe()
    # the dataset's own validation split wins: folds are only for datasets without one
    own = hold_out_intents(dataset(with_val=True), 0.25, seed=3, val_folds=5)
    assert own.val_folds == 0 and own.data.val is not None
    with pytest.raises(DatasetError, match="not made with validation folds"):
        own.folds()
    with pytest.raises(DatasetError, match="at least 2 folds"):
        hold_out_intents(data, 0.25, seed=3, val_folds=1)


def test_the_split_is_deterministic_by_seed():
    data = dataset()
    a, b = hold_out_intents(data, 0.25, seed=7), hold_out_intents(data, 0.25, seed=7)
    assert a == b
    c = hold_out_intents(data, 0.25, seed=8)
    assert (c.unknown, c.data.val.texts) != (a.unknown, a.data.val.texts)


def test_nested_validation_draws_pseudo_unknowns_from_the_known_intents_only():
    split = hold_out_intents(dataset(), 0.25, seed=1)
    inner = nested_validation(split)
    assert set(inner.unknown) <= set(split.known)
    assert not set(inner.unknown) & set(split.unknown)
    assert inner.data.val is None
    assert set(inner.data.train.texts) <= set(split.data.train.texts)
    assert set(inner.data.test.texts) == set(split.data.val.texts)


def p(label: str, *hits: tuple[str, float]) -> Prediction:
    ids = {lab: i for i, lab in enumerate(["a", "b", "c"])}
    return Prediction(label, label, tuple(Candidate(ids[h], h, s) for h, s in hits))


DECIDE = DecisionSettings(answer_threshold=0.5, clarify_margin=0.0)

# 4 known questions (3 ranked right) and 2 unknown ones, by hand
TEST = [
    p("a", ("a", 0.9), ("b", 0.2)),
    p("b", ("b", 0.7), ("a", 0.3)),
    p("c", ("c", 0.45), ("a", 0.1)),
    p("a", ("b", 0.8), ("a", 0.6)),  # wrong at any threshold
    p("oos", ("a", 0.55)),
    p("oos", ("b", 0.3)),
]


def test_the_metrics_on_a_hand_made_case():
    m = compute_metrics(TEST, DECIDE, "oos")
    assert m.in_scope_accuracy == pytest.approx(2 / 4)  # a@0.9, b@0.7 answered right
    assert m.oos_recall == pytest.approx(1 / 2)  # 0.3 handed off, 0.55 answered
    assert m.wrong_answer_rate == pytest.approx(2 / 4)  # the wrong b, the answered unknown
    rows = frontier(TEST, DECIDE, "oos")
    at = {r.answer_threshold: r for r in rows}
    assert sorted(at) == [0.0, 0.3, 0.45, 0.55, 0.7, 0.8, 0.9]  # at the observed top scores
    assert at[0.7].oos_recall == 1.0 and at[0.7].in_scope_accuracy == pytest.approx(0.5)
    assert at[0.45].in_scope_accuracy == pytest.approx(0.75) and at[0.45].oos_recall == 0.5
    assert at[0.3].in_scope_accuracy == pytest.approx(0.75) and at[0.3].oos_recall == 0.0
    assert best_at(rows, 0.75).answer_threshold == 0.45
    assert best_at(rows, 0.9) is None


def test_the_threshold_is_chosen_on_known_questions_only():
    val = [
        p("a", ("a", 0.9)),
        p("b", ("b", 0.8)),
        p("c", ("c", 0.6)),
        p("a", ("a", 0.4)),
        p("b", ("a", 0.7)),  # wrong
    ]
    choice = choose_threshold(val, DECIDE, "oos", min_in_scope=0.6, confidence=None)
    # 0.6 keeps 3 of 5 right: the highest threshold with accuracy >= 60 %
    assert choice.threshold == 0.6 and choice.val_in_scope == pytest.approx(0.6) and choice.met
    # unknown validation questions (if any slipped in) cannot move the choice
    noisy = val + [p("oos", ("a", 0.95)), p("oos", ("b", 0.05))]
    assert choose_threshold(noisy, DECIDE, "oos", min_in_scope=0.6, confidence=None) == choice
    # a confidence bound asks for more than the point estimate: a lower threshold
    bounded = choose_threshold(val, DECIDE, "oos", min_in_scope=0.6, confidence=0.9)
    assert bounded.threshold < 0.6 or not bounded.met
    # an unreachable target: the lowest threshold, flagged
    assert not choose_threshold(val, DECIDE, "oos", min_in_scope=0.99, confidence=None).met
    with pytest.raises(DatasetError):
        choose_threshold([p("oos", ("a", 0.5))], DECIDE, "oos")


@pytest.mark.parametrize("margin", [0.0, 0.05, 0.3])
def test_fast_sweep_takes_the_decisions_decide_takes(margin):
    rng = np.random.default_rng(int(margin * 100))
    labels = ["a", "b", "c", "oos"]
    preds = []
    for i in range(300):
        scores = rng.uniform(0, 1, size=int(rng.integers(0, 4)))
        ids = rng.choice(3, size=len(scores), replace=True)  # repeated articles: best counts
        hits = tuple(Candidate(int(a), labels[int(a)], float(s)) for a, s in zip(ids, scores))
        preds.append(Prediction(str(i), labels[int(rng.integers(0, 4))], hits))
    settings = DecisionSettings(answer_threshold=0.5, clarify_margin=margin)
    grid = [0.0, 0.1, 0.33, 0.5, 0.77, 0.95, 1.0]
    assert fast_sweep(preds, settings, "oos", grid) == sweep(preds, settings, "oos", grid)


def test_wilson_lower_bound():
    assert wilson_lower(0.9, 100, None) == 0.9
    assert 0.84 < wilson_lower(0.9, 100, 0.9) < 0.9
    assert wilson_lower(0.9, 10_000, 0.9) > wilson_lower(0.9, 100, 0.9)


def test_evaluate_split_and_plot(tmp_path):
    val = [p("a", ("a", 0.9)), p("b", ("b", 0.8)), p("c", ("c", 0.7))]
    r = evaluate_split("learned_head", TEST, val, DECIDE, "oos", confidence=None)
    assert r.choice.threshold == 0.7  # all three right up to 0.7
    assert r.test.answer_threshold == 0.7 and r.test.oos_recall == 1.0
    assert r.test.in_scope_accuracy == pytest.approx(0.5) and not r.goal_met
    doc = r.to_dict()
    assert doc["threshold"] == 0.7 and doc["frontier"] and json.dumps(doc)
    out = plot_frontiers({"x": r.frontier}, {"x": r.test}, tmp_path / "f.png", "t")
    assert out.read_bytes()[:4] == b"\x89PNG"


# --- the CLI option plumbing -------------------------------------------------------------

TOPICS = {
    "password": [
        "forgot my password",
        "reset password link",
        "change my password",
        "password expired",
        "new password please",
        "password not accepted",
    ],
    "parcel": [
        "track my parcel",
        "where is my parcel",
        "parcel tracking number",
        "parcel not delivered",
        "parcel arrived damaged",
        "parcel is late",
    ],
    "refund": [
        "refund my money",
        "refund to my card",
        "how long does a refund take",
        "refund status",
        "refund not received",
        "want a refund",
    ],
    "invoice": [
        "download my invoice",
        "invoice address wrong",
        "invoice copy",
        "invoice for my order",
        "where is the invoice",
        "invoice pdf",
    ],
}


@pytest.fixture
def files(tmp_path):
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["knowledge_base"]["embedder"] = {"type": "hashing", "dimensions": 256}
    config["server"]["state_dir"] = str(tmp_path / "state")
    config_path = tmp_path / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def write(name, rows):
        path = tmp_path / name
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(rows)
        return path

    train = write("train.csv", [(t, k) for k, ts in TOPICS.items() for t in ts[:5]])
    test = write("test.csv", [(ts[5], k) for k, ts in TOPICS.items()] + [("weather", "oos")])
    return config_path, train, test


def test_kb_eval_unknown_intents_json(files, tmp_path, capsys):
    config, train, test = files
    plot = tmp_path / "frontier.png"
    args = ["--config", str(config), "kb", "eval", "--train", str(train), "--test", str(test)]
    args += ["--no-progress", "--unknown-intents", "0.25", "--unknown-seed", "2"]
    assert main([*args, "--json", "--plot", str(plot), "--compare-scorings"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["unknown_seed"] == 2 and doc["unknown_fraction"] == 0.25
    assert doc["unknown_intents"] == choose_unknown_intents(TOPICS, 0.25, 2)
    # no --val: 10-fold cross-validation over the 3 known intents' 5 training texts each
    assert doc["known_intents"] == 3 and not doc["validation_carved"]
    assert doc["validation_folds"] == 10 and doc["validation_queries"] == 15
    assert [r["scoring"] for r in doc["results"]] == [
        "max_cosine",
        "learned_head",
        "learned_head+lexical0.5",
    ]
    for r in doc["results"]:
        assert r["test"]["in_scope"] == 3 and r["test"]["out_of_scope"] == 1  # 'weather' gone
        assert r["frontier"] and 0 <= r["threshold"] <= 1
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # the table, and the seed changes which intents are held out
    assert main([*args[:-1], "0", "--scoring", "max_cosine"]) == 0
    out = capsys.readouterr().out
    assert "unknown handed off" in out and "1 of 4 intents held out" in out
    assert f"unknown intents: {choose_unknown_intents(TOPICS, 0.25, 0)[0]}" in out
    assert main([*args, "--json", "--scoring", "max_cosine", "--val-folds", "0"]) == 0
    doc = json.loads(capsys.readouterr().out)  # the older 10 % carve: 1 text per known intent
    assert doc["validation_carved"] and doc["validation_folds"] == 0
    assert doc["validation_queries"] == 3
    assert main([*args, "--min-known-accuracy", "1.5"]) == 1
    assert "--min-known-accuracy" in capsys.readouterr().err
