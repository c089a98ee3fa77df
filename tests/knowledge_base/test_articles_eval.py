"""``tier1 kb eval --articles FILE --queries CSV``: a help center without question variants,
evaluated against slug-labelled questions (``evaluation.articles``, ``articles_command``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from knowledge_base import KnowledgeBaseSettings
from knowledge_base.evaluation.articles import load_articles_eval, read_queries, split_queries
from knowledge_base.evaluation.articles_command import evaluate_articles
from knowledge_base.evaluation.datasets import DatasetError, LabelledSplit
from tier1.cli import main

ROOT = Path(__file__).resolve().parents[2]

# A small real help center: titles and answers only, as an export would give them.
ARTICLES = [
    (
        "reset-password",
        "How do I reset my password?",
        "On the sign-in screen tap Forgot password and enter your email. We send a reset link.",
    ),
    (
        "track-order",
        "Where is my parcel?",
        "Open Orders in your account and follow the courier's tracking link to see the delivery.",
    ),
    (
        "refunds",
        "How do refunds work?",
        "Refunds reach your card within 10 business days after we approve the return.",
    ),
    (
        "roaming",
        "Can I use my phone abroad?",
        "Switch on roaming in the app before you travel; EU countries cost the same as home.",
    ),
    (
        "puk-code",
        "What is my PUK code?",
        "Your SIM is blocked after three wrong PINs. The PUK on the SIM card holder unlocks it.",
    ),
    (
        "esim",
        "How do I set up an eSIM?",
        "Scan the QR code from your order email in your phone's mobile network settings.",
    ),
]
QUERIES = [
    ("I forgot my password", "reset-password"),
    ("the reset email never came", "reset-password"),
    ("when will my package be delivered", "track-order"),
    ("tracking number for my delivery", "track-order"),
    ("how long until I get my money back", "refunds"),
    ("I want a refund", "refunds"),
    ("does my plan work when I travel to Spain", "roaming"),
    ("using data in another country", "roaming"),
    ("my sim card is locked, it asks for a code", "puk-code"),
    ("entered the wrong pin three times", "puk-code"),
    ("activate a digital sim", "esim"),
    ("where is the QR code for my eSIM", "esim"),
    ("recipe for lasagne", "oos"),
    ("who won the football last night", ""),
]


def write_articles(path: Path) -> Path:
    rows = [{"slug": s, "title": t, "answer": a} for s, t, a in ARTICLES]
    path.write_text(yaml.safe_dump({"version": 1, "articles": rows}, sort_keys=False))
    return path


def write_queries(path: Path, rows, header=("text", "slug")) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.mark.unit
def test_read_queries_names_each_bad_line_and_slug(tmp_path):
    slugs = {s for s, _, _ in ARTICLES}
    bad = write_queries(
        tmp_path / "q.csv",
        [("fine", "refunds"), ("typo", "refund"), ("", "esim"), ("x", "no-such-article")],
    )
    with pytest.raises(DatasetError) as e:
        read_queries(bad, slugs)
    message = str(e.value)
    assert "3 bad row(s)" in message
    assert "line 3: unknown article slug 'refund' (did you mean 'refunds'?)" in message
    assert "line 4: empty 'text'" in message
    assert "line 5: unknown article slug 'no-such-article'" in message
    missing = write_queries(tmp_path / "m.csv", [("q", "refunds")], header=("question", "slug"))
    with pytest.raises(DatasetError, match="no column.*text.*--text-col"):
        read_queries(missing, slugs)
    with pytest.raises(DatasetError, match="cannot read it"):
        read_queries(tmp_path / "absent.csv", slugs)


@pytest.mark.unit
def test_empty_slug_and_oos_label_are_out_of_scope(tmp_path):
    rows = [("a", "refunds"), ("b", ""), ("c", "oos"), ("d", "none")]
    # "oos" is not the out-of-scope label here, so it is an unknown slug:
    with pytest.raises(DatasetError, match="line 4: unknown article slug 'oos'"):
        read_queries(write_queries(tmp_path / "q.csv", rows), {"refunds"}, oos_label="none")
    ok = read_queries(
        write_queries(tmp_path / "q2.csv", rows[:2] + rows[3:]), {"refunds"}, oos_label="none"
    )
    assert ok.labels == ["refunds", "none", "none"]


@pytest.mark.unit
def test_split_queries_is_stratified_seeded_and_disjoint():
    texts = [f"q{i}" for i in range(20)]
    labels = ["a"] * 10 + ["b"] * 6 + ["c"] * 3 + ["d"]
    val, test = split_queries(LabelledSplit(texts, labels), 0.3, seed=1)
    assert sorted(val.texts + test.texts) == sorted(texts)
    assert [val.labels.count(x) for x in "abcd"] == [3, 2, 1, 0]  # a single query stays in test
    assert split_queries(LabelledSplit(texts, labels), 0.3, seed=1) == (val, test)
    assert split_queries(LabelledSplit(texts, labels), 0.3, seed=2) != (val, test)
    with pytest.raises(DatasetError, match="between 0 and 1"):
        split_queries(LabelledSplit(texts, labels), 1.0)


@pytest.fixture
def cli_config(tmp_path):
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["knowledge_base"]["embedder"] = {"type": "hashing", "dimensions": 256}
    config["server"]["state_dir"] = str(tmp_path / "state")
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.unit
def test_cli_articles_eval_json_and_bad_input(tmp_path, cli_config, capsys):
    articles = write_articles(tmp_path / "articles.yml")
    queries = write_queries(tmp_path / "q.csv", QUERIES)
    plot = tmp_path / "plot.png"
    base = ["--config", str(cli_config), "kb", "eval", "--articles", str(articles)]
    code = main(
        [
            *base,
            "--queries",
            str(queries),
            "--validation-queries",
            str(queries),
            "--scoring",
            "auto",
            "--json",
            "--no-progress",
            "--plot",
            str(plot),
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["articles"] == 6 and doc["question_variants"] == 0
    assert doc["indexed_texts"] == 12  # config.yml's index_answers: always: titles + answers
    assert doc["scoring"] == "hybrid"  # auto, titles and answers only
    assert doc["test_queries"] == doc["validation_queries"] == 14
    assert doc["thresholds"]["chosen_on"] == "validation"
    assert doc["ranking"]["queries"] == 12 and 0 <= doc["ranking"]["mrr"] <= 1
    assert doc["metrics"]["out_of_scope"] == 2 and plot.read_bytes()[:4] == b"\x89PNG"

    bad = write_queries(tmp_path / "bad.csv", [("hello", "reset-pasword")])
    assert main([*base, "--queries", str(bad), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "line 2: unknown article slug 'reset-pasword' (did you mean 'reset-password'?)" in err
    assert main([*base, "--no-progress"]) == 1
    assert "--articles needs --queries" in capsys.readouterr().err


@pytest.mark.integration
def test_articles_eval_with_the_packaged_model(tmp_path, real_embedder):
    """Titles and answers only, real MiniLM: the right article is found for most questions."""
    articles = write_articles(tmp_path / "articles.yml")
    queries = write_queries(tmp_path / "q.csv", QUERIES)
    settings = KnowledgeBaseSettings(index={"type": "faiss"}, seed_file=None)
    results = {}
    for scoring, extra in [("max_cosine", {}), ("auto", {"index_answers": "always"})]:
        s = settings.copy(
            update={"scoring": settings.scoring.copy(update={"type": scoring}), **extra}
        )
        ev = load_articles_eval(articles, queries, queries)
        _, results[scoring] = evaluate_articles(ev, s, embedder=real_embedder)
    plain, auto = results["max_cosine"], results["auto"]
    assert plain["indexed_texts"] == 6 and auto["indexed_texts"] == 12  # + every answer
    assert auto["scoring"] == "hybrid"
    assert plain["ranking"]["top1"] >= 0.5 and plain["ranking"]["recall_at_k"] >= 0.9
    # The answers hold words the titles lack (PIN, QR code, package): indexing them helps.
    assert auto["ranking"]["mrr"] >= plain["ranking"]["mrr"]
    assert auto["ranking"]["top1"] >= 0.75


@pytest.mark.unit
def test_calibrate_says_where_the_threshold_of_the_scoring_in_use_goes(
    tmp_path, cli_config, capsys
):
    rows = [(q, slug) for q, slug in QUERIES if slug not in ("", "oos")]
    train = write_queries(tmp_path / "train.csv", rows, header=("text", "label"))
    held_rows = [(q, slug or "oos") for q, slug in QUERIES[-4:]]
    held = write_queries(tmp_path / "held.csv", held_rows, header=("text", "label"))
    args = ["--config", str(cli_config), "kb", "calibrate", "--train", str(train)]
    args += ["--val", str(held), "--test", str(held), "--objective", "mcc", "--print"]
    assert main([*args, "--scoring", "hybrid", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "by_scoring.hybrid: copy the threshold there" in out  # config.yml has hybrid's own
    assert main([*args, "--scoring", "learned_head", "--no-progress"]) == 0
    assert "by_scoring" not in capsys.readouterr().out  # the head's is answer_threshold itself
