"""``--model`` on `tier1 kb eval`, `calibrate` and `tune`: the encoder comes from the catalogue
or a directory, a missing install names the install command, and nothing is downloaded."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from knowledge_base.evaluation.command import with_model
from knowledge_base.evaluation.datasets import DatasetError
from knowledge_base.settings import KnowledgeBaseSettings
from tier1.cli import _parser, main

ROOT = Path(__file__).resolve().parents[2]
TOPICS = {
    "password": ["forgot my password", "reset password link", "change my password", "password expired"],
    "parcel": ["track my parcel", "where is my parcel", "parcel tracking number", "parcel not delivered"],
    "refund": ["refund my money", "refund to my card", "refund status", "how long does a refund take"],
}


def _csv(path: Path, rows) -> str:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return str(path)


@pytest.fixture
def args(tmp_path) -> list[str]:
    """--config (hashing embedder, state in tmp_path) and the data options."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["knowledge_base"]["embedder"] = {"type": "hashing", "dimensions": 64}
    config["server"]["state_dir"] = str(tmp_path / "state")
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    train = _csv(tmp_path / "train.csv", [(t, k) for k, ts in TOPICS.items() for t in ts[:3]])
    held = _csv(tmp_path / "test.csv", [(ts[3], k) for k, ts in TOPICS.items()])
    return ["--config", str(path), "kb", "eval", "--train", train, "--test", held, "--no-progress"]


@pytest.mark.unit
def test_with_model_maps_names_and_keeps_the_other_embedder_settings():
    base = KnowledgeBaseSettings(embedder={"type": "hashing", "runtime": "torch", "threads": 2})
    mpnet = with_model(base, "all-mpnet-base-v2").embedder
    assert (mpnet.type, mpnet.model) == ("sentence-transformers", "installed:all-mpnet-base-v2")
    assert (mpnet.runtime, mpnet.threads) == ("torch", 2)
    assert with_model(base, "all-MiniLM-L6-v2").embedder.model == "packaged:all-MiniLM-L6-v2"
    assert with_model(base, "/srv/models/mine").embedder.model == "/srv/models/mine"
    with pytest.raises(DatasetError, match="--model: unknown model 'installed:bert-huge'"):
        with_model(base, "installed:bert-huge")
    # The shipped runtime is onnx-int8; a model whose int8 export is refused runs as onnx.
    int8 = KnowledgeBaseSettings(embedder={"runtime": "onnx-int8"})
    assert with_model(int8, "all-mpnet-base-v2").embedder.runtime == "onnx"
    assert with_model(int8, "all-MiniLM-L6-v2").embedder.runtime == "onnx-int8"


@pytest.mark.unit
def test_every_measuring_command_takes_model():
    parser = _parser()
    for command in (["kb", "eval"], ["kb", "calibrate", "--objective", "mcc"], ["kb", "tune"]):
        assert parser.parse_args([*command, "--model", "all-mpnet-base-v2"]).model == "all-mpnet-base-v2"


@pytest.mark.unit
def test_a_model_that_is_not_installed_fails_naming_the_install_command(args, capsys):
    assert main([*args, "--model", "all-mpnet-base-v2"]) == 1
    err = capsys.readouterr().err
    assert "tier1 models install all-mpnet-base-v2" in err
    assert "state/encoders/all-mpnet-base-v2" in err


@pytest.mark.unit
def test_an_unknown_model_is_a_clear_error(args, capsys):
    assert main([*args, "--model", "installed:bert-huge"]) == 1
    assert "unknown model 'installed:bert-huge'" in capsys.readouterr().err


@pytest.mark.integration
def test_eval_runs_with_the_model_named_on_the_command_line(args, capsys):
    # config.yml says hashing; --model swaps in the packaged MiniLM (real model, local files).
    assert main([*args, "--model", "all-MiniLM-L6-v2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] == "packaged:all-MiniLM-L6-v2"
    assert doc["metrics"]["top1_accuracy"] == 1.0
