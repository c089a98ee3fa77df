"""`tier1 kb eval` and `tier1 kb calibrate` end to end on CSV files (hashing embedder)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tier1.cli import main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

TOPICS = {
    "password": [
        "forgot my password",
        "reset password link",
        "change my password",
        "password expired",
    ],
    "parcel": [
        "track my parcel",
        "where is my parcel",
        "parcel tracking number",
        "parcel not delivered",
    ],
    "refund": [
        "refund my money",
        "refund to my card",
        "how long does a refund take",
        "refund status",
    ],
}
OOS = ["recipe for lasagne", "weather in paris tomorrow", "tell me a joke about cats"]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["utterance", "intent"])
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path):
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["knowledge_base"]["embedder"] = {"type": "hashing", "dimensions": 256}
    config["server"]["state_dir"] = str(tmp_path / "state")
    config_path = tmp_path / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    train = write_csv(tmp_path / "train.csv", [(t, k) for k, ts in TOPICS.items() for t in ts[:3]])
    held = [(ts[3], k) for k, ts in TOPICS.items()] + [(t, "oos") for t in OOS]
    test = write_csv(tmp_path / "test.csv", held)
    val = write_csv(tmp_path / "val.csv", held)
    return config_path, train, val, test


def test_kb_eval_json_plot_and_predictions(files, tmp_path, capsys):
    config, train, _, test = files
    preds = tmp_path / "preds.csv"
    plot = tmp_path / "sweep.png"
    code = main(
        [
            "--config",
            str(config),
            "kb",
            "eval",
            "--train",
            str(train),
            "--test",
            str(test),
            "--text-col",
            "utterance",
            "--label-col",
            "intent",
            "--json",
            "--no-progress",
            "--predictions",
            str(preds),
            "--plot",
            str(plot),
            "--answer-threshold",
            "0.3",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["articles"] == 3 and doc["metrics"]["queries"] == 6
    assert doc["metrics"]["answer_threshold"] == 0.3 and doc["metrics"]["out_of_scope"] == 3
    assert len(doc["sweep"]) > 5 and doc["scoring"] == "auto"  # config.yml's
    rows = list(csv.DictReader(preds.open()))
    assert [r["label"] for r in rows] == ["password", "parcel", "refund", "oos", "oos", "oos"]
    assert {r["decision"] for r in rows} <= {"answer", "clarify", "handoff"}
    assert sum(r["predicted"] == r["label"] for r in rows[:3]) >= 2
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_kb_eval_lexical_weight(files, capsys):
    config, train, _, test = files
    args = ["--config", str(config), "kb", "eval", "--train", str(train), "--test", str(test)]
    args += ["--text-col", "utterance", "--label-col", "intent", "--no-progress"]
    assert main([*args, "--json", "--scoring", "learned_head", "--lexical-weight", "0.5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["lexical_weight"] == 0.5 and doc["plot"].endswith("learned_head+lexical0.5.png")
    assert Path(doc["plot"]).read_bytes()[:4] == b"\x89PNG"
    assert main([*args, "--lexical-weight", "-1"]) == 1
    assert "--lexical-weight must be from 0 to 10, got -1" in capsys.readouterr().err


def test_kb_eval_clarify_margin(files, capsys):
    config, train, _, test = files
    args = ["--config", str(config), "kb", "eval", "--train", str(train), "--test", str(test)]
    args += ["--text-col", "utterance", "--label-col", "intent", "--no-progress", "--json"]
    args += ["--answer-threshold", "0"]  # every runner-up is confident enough to offer
    rates = []
    for margin in ("0", "2"):
        assert main([*args, "--clarify-margin", margin]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["metrics"]["clarify_margin"] == float(margin)
        rates.append(doc["metrics"]["clarify_rate"])
    assert rates[0] == 0 and rates[1] > 0.5  # a margin of 2 offers a choice for nearly all
    assert main([*args, "--clarify-margin", "3"]) == 1
    assert "--clarify-margin must be from 0 to 2" in capsys.readouterr().err


def test_kb_eval_table_and_data_errors(files, capsys):
    config, train, _, test = files
    assert (
        main(
            [
                "--config",
                str(config),
                "kb",
                "eval",
                "--train",
                str(train),
                "--test",
                str(test),
                "--text-col",
                "utterance",
                "--label-col",
                "intent",
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "in-scope accuracy" in out and "threshold sweep" in out and "ms/query" in out
    assert (
        main(
            [
                "--config",
                str(config),
                "kb",
                "eval",
                "--train",
                str(train),
                "--test",
                str(test),
                "--no-progress",
            ]
        )
        == 1
    )
    assert "no column(s) text, label" in capsys.readouterr().err
    assert main(["--config", str(config), "kb", "eval", "--no-progress"]) == 1
    assert "give --clinc FILE" in capsys.readouterr().err


def test_kb_calibrate_prints_or_writes_the_thresholds(files, capsys):
    config, train, val, test = files
    args = [
        "--config",
        str(config),
        "kb",
        "calibrate",
        "--train",
        str(train),
        "--val",
        str(val),
        "--test",
        str(test),
        "--text-col",
        "utterance",
        "--label-col",
        "intent",
        "--no-progress",
        "--objective",
        "mcc",
    ]
    before = config.read_text()
    assert main([*args, "--print"]) == 0
    out = capsys.readouterr().out
    assert "answer_threshold:" in out and "validation" in out and config.read_text() == before
    assert main(args) == 0
    assert "wrote answer_threshold" in capsys.readouterr().out
    written = yaml.safe_load(config.read_text())["knowledge_base"]["decision"]
    snippet_threshold = float(out.split("answer_threshold:")[1].split()[0])
    assert written["answer_threshold"] == pytest.approx(snippet_threshold)
    assert (
        main(
            [
                "--config",
                str(config),
                "kb",
                "calibrate",
                "--train",
                str(train),
                "--test",
                str(test),
                "--text-col",
                "utterance",
                "--label-col",
                "intent",
                "--no-progress",
                "--max-wrong-rate",
                "0.1",
            ]
        )
        == 1
    )
    assert "validation data" in capsys.readouterr().err
