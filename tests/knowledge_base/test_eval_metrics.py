"""Evaluation metrics on hand-made predictions: every number checked by hand."""

from __future__ import annotations

import json

import pytest

from knowledge_base.decision import Decision
from knowledge_base.evaluation import (
    Candidate,
    DatasetError,
    LabelledSplit,
    Prediction,
    compute_metrics,
    decisions,
    load_clinc,
    load_csv,
    matthews,
    sample,
    sweep,
)
from knowledge_base.evaluation.evaluator import knowledge_file
from knowledge_base.evaluation.report import plot, table, write_predictions
from knowledge_base.settings import DecisionSettings

pytestmark = pytest.mark.unit

IDS = {"a": 1, "b": 2, "c": 3}


def pred(label: str, *ranked: tuple[str, float]) -> Prediction:
    return Prediction(f"q {label}", label, tuple(Candidate(IDS[l], l, s) for l, s in ranked))


# threshold 0.5, margin 0.1:
PREDICTIONS = [
    pred("a", ("a", 0.9), ("b", 0.3)),  # answer, right
    pred("a", ("b", 0.8), ("a", 0.2)),  # answer, wrong
    pred("b", ("b", 0.7), ("c", 0.65)),  # clarify (0.05 apart), top-1 right
    pred("c", ("c", 0.4), ("a", 0.1)),  # handoff, top-1 right
    pred("oos", ("a", 0.6), ("b", 0.1)),  # answer: an out-of-scope question answered (wrong)
    pred("oos", ("c", 0.3), ("b", 0.2)),  # handoff: right for out of scope
]
SETTINGS = DecisionSettings(answer_threshold=0.5, clarify_margin=0.1)


def test_decisions_come_from_decide():
    assert decisions(PREDICTIONS, SETTINGS) == [
        Decision.ANSWER,
        Decision.ANSWER,
        Decision.CLARIFY,
        Decision.HANDOFF,
        Decision.ANSWER,
        Decision.HANDOFF,
    ]


def test_metrics_by_hand():
    m = compute_metrics(PREDICTIONS, SETTINGS, "oos")
    assert (m.queries, m.in_scope, m.out_of_scope) == (6, 4, 2)
    assert m.top1_accuracy == pytest.approx(3 / 4)
    assert m.in_scope_accuracy == pytest.approx(1 / 4)
    assert m.oos_recall == pytest.approx(1 / 2)
    assert m.wrong_answer_rate == pytest.approx(2 / 3)
    assert m.clarify_rate == pytest.approx(1 / 6)
    assert m.handoff_rate == pytest.approx(2 / 6)
    assert m.coverage == pytest.approx(3 / 6)
    # handoff vs oos: tp=1 (oos handed off), fn=1, fp=1 (c handed off), tn=3
    assert m.mcc == pytest.approx((1 * 3 - 1 * 1) / ((2 * 2 * 4 * 4) ** 0.5))


def test_undefined_rates_are_none_not_zero():
    in_scope_only = [p for p in PREDICTIONS if p.label != "oos"]
    m = compute_metrics(in_scope_only, SETTINGS, "oos")
    assert m.oos_recall is None and m.mcc is None
    nothing_answered = compute_metrics(
        PREDICTIONS, SETTINGS.copy(update={"answer_threshold": 0.99}), "oos"
    )
    assert nothing_answered.wrong_answer_rate is None
    assert nothing_answered.coverage == 0.0
    assert nothing_answered.oos_recall == 1.0


def test_matthews_extremes():
    assert matthews([True, False], [True, False]) == pytest.approx(1.0)
    assert matthews([False, True], [True, False]) == pytest.approx(-1.0)
    assert matthews([False, False], [True, False]) == 0.0


def test_sweep_moves_from_answering_everything_to_handing_everything_off():
    swept = sweep(PREDICTIONS, SETTINGS, "oos", [0.0, 0.5, 0.95])
    assert [m.answer_threshold for m in swept] == [0.0, 0.5, 0.95]
    assert swept[1] == compute_metrics(PREDICTIONS, SETTINGS, "oos")
    assert swept[0].oos_recall == 0.0 and swept[0].handoff_rate == 0.0
    assert swept[2].handoff_rate == 1.0 and swept[2].coverage == 0.0
    default = sweep(PREDICTIONS, SETTINGS, "oos")
    assert default[0].answer_threshold == pytest.approx(0.3) and default[-1].answer_threshold == 0.9


def test_report_outputs(tmp_path):
    m = compute_metrics(PREDICTIONS, SETTINGS, "oos")
    text = table(m, sweep(PREDICTIONS, SETTINGS, "oos"), "sample")
    assert "in-scope accuracy" in text and "25.0 %" in text and "threshold sweep" in text
    png = plot(sweep(PREDICTIONS, SETTINGS, "oos"), tmp_path / "p.png", 0.5)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv_path = write_predictions(PREDICTIONS, decisions(PREDICTIONS, SETTINGS), tmp_path / "p.csv")
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "text,label,predicted,score,decision"
    assert rows[2] == "q a,a,b,0.800000,answer" and rows[3].endswith(",clarify")
    assert len(rows) == 7


def test_knowledge_file_one_article_per_label_from_training_texts_only():
    train = LabelledSplit(
        ["hi  there", "hello", "bye", "x"], ["Greet_Me", "Greet_Me", "bye", "oos"]
    )
    content, slug_label = knowledge_file(train, "oos")
    assert slug_label == {"bye": "bye", "greet-me": "Greet_Me"}
    greet = next(a for a in content["articles"] if a["slug"] == "greet-me")
    assert (greet["title"], greet["questions"]) == ("hi there", ["hello"])
    assert len(content["articles"]) == 2  # out of scope has no article


def test_csv_loading_and_errors(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("text,category\nhello,greet\nsomething else,oos\nbye,leave\n")
    test = tmp_path / "test.csv"
    test.write_text("text,category\nhi,greet\nweather?,oos\n")
    data = load_csv(train, test, text_col="text", label_col="category")
    assert data.train.labels == ["greet", "leave"]  # oos never becomes an article
    assert data.test.labels == ["greet", "oos"] and data.val is None
    with pytest.raises(DatasetError, match="label"):
        load_csv(train, test)  # default --label-col label is not in the header
    with pytest.raises(DatasetError, match="cannot read"):
        load_csv(tmp_path / "missing.csv", test)
    bad = tmp_path / "bad.csv"
    bad.write_text("text,category\n,greet\n")
    with pytest.raises(DatasetError, match="line 2"):
        load_csv(bad, test, label_col="category")


def test_clinc_layout_and_sampling(tmp_path):
    raw = {
        "train": [[f"t{i} {c}", c] for c in "abc" for i in range(5)],
        "val": [[f"v{i} {c}", c] for c in "abc" for i in range(3)],
        "test": [[f"s{i} {c}", c] for c in "abc" for i in range(4)],
        "oos_val": [[f"ov{i}", "oos"] for i in range(6)],
        "oos_test": [[f"os{i}", "oos"] for i in range(8)],
        "oos_train": [["ignored", "oos"]],
    }
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps(raw))
    data = load_clinc(path)
    assert (len(data.train), len(data.val), len(data.test)) == (15, 15, 20)
    assert "ignored" not in data.train.texts + data.val.texts + data.test.texts
    with_oos_train = load_clinc(path, oos_train_in_val=True)
    assert with_oos_train.val.texts == data.val.texts + ["ignored"]
    assert with_oos_train.val.labels[-1] == "oos" and with_oos_train.train == data.train
    assert with_oos_train.test == data.test
    small = sample(data, 2, labels=2, oos_limit=5)
    assert len(set(small.train.labels)) == 2 and len(small.train) == 4
    assert small.test.labels.count("oos") == 5 and len(small.test) == 9
    assert sample(data, 2, labels=2, oos_limit=5) == small  # reproducible
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(DatasetError, match="CLINC150 layout"):
        load_clinc(tmp_path / "broken.json")
