"""``tier1 kb tune``: contrastive fine-tuning on the KB's own variants, saved beside the index and
picked up automatically (and ignored when its manifest does not match)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlalchemy import create_engine

from knowledge_base import KnowledgeBase, KnowledgeBaseSettings, SentenceTransformerEmbedder
from knowledge_base.embedder import NAME_SUFFIXES, create_embedder
from knowledge_base.settings import PACKAGED_MODEL, EmbedderSettings
from knowledge_base.tuning import (
    MANIFEST,
    TuningError,
    TuningOptions,
    distinct_batches,
    read_manifest,
    training_pairs,
    tune,
    tune_knowledge_base,
    tuned_model_dir,
)
from tests.knowledge_base.conftest import ARTICLES, write_kb_file
from tier1.cli import main

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- no model needed


@pytest.mark.unit
def test_batches_never_hold_two_pairs_of_one_article_and_cover_every_pair():
    groups = [[f"g{g} text {i}" for i in range(n)] for g, n in enumerate([1, 2, 5, 9, 3, 7])]
    pairs = training_pairs(groups, seed=3)
    assert len(pairs) == sum(n for n in [2, 5, 9, 3, 7])  # the 1-text group has no positive
    assert all(a != p and a.split()[0] == p.split()[0] for _, a, p in pairs)
    batches = distinct_batches(pairs, 4, random.Random(0))
    for batch in batches:
        groups_in = [pairs[i][0] for i in batch]
        assert len(groups_in) == len(set(groups_in)) and 2 <= len(batch) <= 4
    covered = sorted(i for b in batches for i in b)
    assert len(covered) == len(set(covered))
    # only pairs of the largest group can be left over once fewer than two groups remain
    assert {pairs[i][0] for i in set(range(len(pairs))) - set(covered)} <= {3}


@pytest.mark.unit
@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"batch_size": 1}, "batch-size"),
        ({"epochs": 0}, "epochs"),
        ({"max_steps": 0}, "max-steps"),
        ({"budget_minutes": -1}, "budget-minutes"),
    ],
)
def test_bad_options_are_named(kwargs, needle):
    with pytest.raises(TuningError, match=needle):
        TuningOptions(**kwargs)


@pytest.mark.unit
def test_too_few_variants_is_a_clear_error_before_any_model_loads(tmp_path):
    with pytest.raises(TuningError, match="at least two articles with two or more"):
        tune([["only one"], ["a", "b"]], "/nonexistent/model", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def tuned_kb(tmp_path_factory):
    """A small real KB (packaged MiniLM), tuned for a few steps by ``tune_knowledge_base``."""
    tmp = tmp_path_factory.mktemp("tune")
    settings = KnowledgeBaseSettings(index={"type": "memory"}, seed_file=None)
    engine = create_engine(f"sqlite:///{tmp / 'kb.db'}", future=True)
    index_path = tmp / "state" / "kb.index"
    kb = KnowledgeBase(settings, engine, index_path)
    kb.start()
    kb.import_file(write_kb_file(tmp / "articles.yml", ARTICLES))
    before = kb.status()
    other = KnowledgeBase(settings, engine, index_path)  # another process, e.g. the action server
    other.start()
    options = TuningOptions(max_steps=4, batch_size=4, lr=2e-4, max_seq_length=32)
    manifest, after = tune_knowledge_base(kb, options, progress=False)
    yield kb, settings, engine, index_path, manifest, before, after, other
    engine.dispose()


def _margin(embedder, groups) -> float:
    """Mean cosine between texts of one article minus mean cosine across articles."""
    texts = [t for g in groups for t in g]
    labels = np.array([i for i, g in enumerate(groups) for _ in g])
    v = embedder.encode(texts)
    sims = v @ v.T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(texts), dtype=bool)
    return float(sims[same & off_diagonal].mean() - sims[~same].mean())


@pytest.mark.integration
@pytest.mark.slow
def test_tuning_brings_same_article_variants_closer(tuned_kb, real_embedder):
    kb, _, _, index_path, manifest, _, _, _ = tuned_kb
    groups = kb.question_groups()
    assert len(groups) == len(ARTICLES)
    tuned = SentenceTransformerEmbedder(str(tuned_model_dir(index_path)), name=manifest.name)
    base_vectors = real_embedder.encode(groups[0])
    tuned_vectors = tuned.encode(groups[0])
    assert np.abs(tuned_vectors - base_vectors).max() > 1e-3  # the weights really changed
    assert _margin(tuned, groups) > _margin(real_embedder, groups) + 0.01
    assert manifest.steps == 4 and manifest.stopped_by == "max_steps"
    assert manifest.base_model == PACKAGED_MODEL and manifest.articles == len(ARTICLES)


@pytest.mark.integration
@pytest.mark.slow
def test_tune_switches_the_kb_and_a_restart_picks_the_tuned_model(tuned_kb):
    kb, settings, engine, index_path, manifest, before, after, other = tuned_kb
    assert before["model"] == PACKAGED_MODEL
    assert after["model"] == manifest.name != PACKAGED_MODEL
    assert after["index_size"] == before["index_size"] and not after["stale"]
    assert kb.search("I forgot my password").hits[0].slug == "reset-password"
    saved = json.loads((tuned_model_dir(index_path) / MANIFEST).read_text())
    assert saved["kb_version"] == before["version"] and saved["fingerprint"] == manifest.fingerprint
    # A fresh process on the same database and index picks the tuned model by itself.
    restarted = KnowledgeBase(settings, engine, index_path)
    restarted.start()
    assert restarted.status()["model"] == manifest.name
    assert restarted.search("where is my parcel").hits[0].slug == "track-order"
    # A process that was running meanwhile adopts it on its next refresh (no ping-pong).
    assert other.status()["model"] == PACKAGED_MODEL
    assert other.refresh() is True
    assert other.status()["model"] == manifest.name and not other.status()["stale"]
    assert other.refresh() is False


@pytest.mark.integration
@pytest.mark.slow
def test_a_stale_or_broken_manifest_is_ignored(tuned_kb, tmp_path, caplog):
    *_, index_path, manifest, _, _, _ = tuned_kb
    copy = tmp_path / "kb.index.tuned-model"
    shutil.copytree(tuned_model_dir(index_path), copy)
    settings = EmbedderSettings()
    assert create_embedder(settings, copy).name == manifest.name

    doc = json.loads((copy / MANIFEST).read_text())
    (copy / MANIFEST).write_text(json.dumps({**doc, "base_model": "/some/other/model"}))
    with caplog.at_level("INFO"):
        assert create_embedder(settings, copy).name == PACKAGED_MODEL
    assert "tuned from '/some/other/model'" in caplog.text

    (copy / MANIFEST).write_text("{not json")
    assert read_manifest(copy, PACKAGED_MODEL) is None
    assert create_embedder(settings, copy).name == PACKAGED_MODEL

    (copy / MANIFEST).write_text(json.dumps(doc))
    (copy / "modules.json").unlink()  # an interrupted copy: no usable model
    assert read_manifest(copy, PACKAGED_MODEL) is None
    assert create_embedder(settings, tmp_path / "absent").name == PACKAGED_MODEL


# --------------------------------------------------------------------------- tier1 kb eval --tune


@pytest.fixture
def eval_files(tmp_path):
    from tests.knowledge_base.test_eval_cli import OOS, TOPICS, write_csv

    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["server"]["state_dir"] = str(tmp_path / "state")
    config_path = tmp_path / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    train = write_csv(tmp_path / "train.csv", [(t, k) for k, ts in TOPICS.items() for t in ts[:3]])
    test = write_csv(
        tmp_path / "test.csv", [(ts[3], k) for k, ts in TOPICS.items()] + [(t, "oos") for t in OOS]
    )
    return config_path, train, test


def _eval_args(config, train, test, *extra):
    return [
        "--config", str(config), "kb", "eval", "--train", str(train), "--test", str(test),
        "--text-col", "utterance", "--label-col", "intent", "--json", "--no-progress", *extra,
    ]  # fmt: skip


@pytest.mark.unit
def test_tuning_groups_come_from_the_training_split_only(eval_files):
    from knowledge_base.evaluation.datasets import load_csv
    from knowledge_base.evaluation.tuned import training_groups

    _, train, test = eval_files
    data = load_csv(train, test, text_col="utterance", label_col="intent")
    groups = training_groups(data)
    assert sorted(t for g in groups for t in g) == sorted(data.train.texts)
    assert not set(data.test.texts) & {t for g in groups for t in g}


@pytest.mark.unit
def test_a_tuning_run_is_saved_under_a_key_of_split_model_and_options(eval_files, tmp_path):
    from knowledge_base.evaluation.datasets import load_csv
    from knowledge_base.evaluation.tuned import tuned_dir

    _, train, test = eval_files
    data = load_csv(train, test, text_col="utterance", label_col="intent")
    here = tuned_dir(data, PACKAGED_MODEL, tmp_path, TuningOptions())
    assert here.parent == tmp_path and here.name.startswith(f"tuned-{data.name}-")
    assert here == tuned_dir(data, PACKAGED_MODEL, tmp_path, TuningOptions())
    others = {
        tuned_dir(data, "installed:all-mpnet-base-v2", tmp_path, TuningOptions()),
        tuned_dir(data, PACKAGED_MODEL, tmp_path, TuningOptions(lr=1e-4)),
        tuned_dir(load_csv(test, test, text_col="utterance", label_col="intent"),
                  PACKAGED_MODEL, tmp_path, TuningOptions()),
    }
    assert here not in others and len(others) == 3


@pytest.mark.unit
def test_kb_eval_tune_needs_a_sentence_transformers_embedder(eval_files, tmp_path, capsys):
    config, train, test = eval_files
    raw = yaml.safe_load(config.read_text())
    raw["knowledge_base"]["embedder"] = {"type": "hashing", "dimensions": 64}
    config.write_text(yaml.safe_dump(raw))
    assert main(_eval_args(config, train, test, "--tune", "--max-steps", "1")) == 1
    assert "--tune needs knowledge_base.embedder.type: sentence-transformers" in (
        capsys.readouterr().err
    )


@pytest.mark.integration
@pytest.mark.slow
def test_kb_eval_tune_tunes_on_train_then_reuses_the_model(eval_files, tmp_path, capsys):
    config, train, test = eval_files
    args = _eval_args(config, train, test, "--tune", "--max-steps", "2", "--batch-size", "3")
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["tuning"]["steps"] == 2 and first["tuning"]["model"].startswith("tuned:")
    assert first["metrics"]["queries"] == 6
    saved = list((tmp_path / "state" / "eval").glob("tuned-*/" + MANIFEST))
    assert len(saved) == 1
    assert json.loads(saved[0].read_text())["pairs"] == 9  # 3 labels x 3 training texts
    assert main(args) == 0  # same split and options: the saved model is reused, not retrained
    assert json.loads(capsys.readouterr().out)["tuning"] == first["tuning"]


@pytest.mark.integration
@pytest.mark.slow
def test_kb_calibrate_tune_chooses_thresholds_with_the_eval_tuned_model(
    eval_files, tmp_path, capsys
):
    config, train, test = eval_files
    tuning = ["--tune", "--max-steps", "2", "--batch-size", "3"]
    assert main(_eval_args(config, train, test, *tuning)) == 0
    tuned = json.loads(capsys.readouterr().out)["tuning"]
    calibrate = [
        "--config", str(config), "kb", "calibrate", "--train", str(train), "--val", str(test),
        "--test", str(test), "--text-col", "utterance", "--label-col", "intent", "--no-progress",
        "--objective", "mcc", "--print", *tuning,
    ]  # fmt: skip
    assert main(calibrate) == 0
    out = capsys.readouterr().out
    assert "answer_threshold:" in out and "tier1 kb tune" in out
    # the same split and options: the model kb eval tuned is reused, not a second one trained
    saved = list((tmp_path / "state" / "eval").glob("tuned-*/" + MANIFEST))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["steps"] == tuned["steps"]


@pytest.mark.integration
@pytest.mark.slow
def test_kb_tune_command_saves_the_model_beside_the_index(tmp_path, capsys):
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["server"]["state_dir"] = str(tmp_path / "state")
    config["database"] = {"url": f"sqlite:///{tmp_path / 'tier1.db'}"}
    config_path = tmp_path / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    articles = write_kb_file(tmp_path / "articles.yml", ARTICLES)
    assert main(["--config", str(config_path), "kb", "import", str(articles)]) == 0
    capsys.readouterr()
    args = ["--config", str(config_path), "kb", "tune", "--max-steps", "1", "--batch-size", "4"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    # the embedder's name: the tuned model's, plus "+int8" when the config runs it quantised
    running = out["tuned"] + NAME_SUFFIXES.get(config["knowledge_base"]["embedder"]["runtime"], "")
    assert out["steps"] == 1 and out["status"]["model"] == running
    index = tmp_path / "state" / config["knowledge_base"]["index"]["path"]
    assert read_manifest(tuned_model_dir(index), PACKAGED_MODEL).name == out["tuned"]
    # `kb status` (a new process's view) reports the tuned model without re-encoding anything
    assert main(["--config", str(config_path), "kb", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == running
