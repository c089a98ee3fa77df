"""`kb eval` / `kb calibrate` on a CLINC150 sample with the real model, FAISS and SQLite.

30 intents x 10 training texts form the knowledge base; 10 test texts per intent plus 100
out-of-scope queries are evaluated, thresholds are chosen on the validation split. Floors are
what this sample measured (benchmarks/QUALITY.md) minus a margin.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import KnowledgeBaseSettings
from knowledge_base.evaluation import CachedEmbedder, calibrate, compute_metrics, load_clinc, sample
from knowledge_base.evaluation.evaluator import run_evaluation

pytestmark = pytest.mark.integration

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
CLINC = DATASETS / "clinc150" / "data_full.json"


@pytest.fixture(scope="module")
def runs(real_embedder, tmp_path_factory):
    if not CLINC.exists():
        pytest.skip(f"CLINC150 is not at {CLINC} (see ../shared/datasets/README.md)")
    data = sample(load_clinc(CLINC), 10, labels=30, oos_limit=100)
    # Both scorings see the same vectors; the in-memory cache encodes each text once.
    embedder = CachedEmbedder(real_embedder, tmp_path_factory.mktemp("cache") / "unsaved.npz")
    out = {}
    for name, scoring in {
        "max_cosine": {"type": "max_cosine"},
        "learned_head": {"type": "learned_head"},
        "lexical": {"type": "learned_head", "lexical_weight": 0.5},
    }.items():
        settings = KnowledgeBaseSettings(scoring=scoring, index={"type": "faiss"}, seed_file=None)
        out[name] = (settings, run_evaluation(data, settings, embedder=embedder, progress=False))
    return data, out


def test_sample_shape(runs):
    _data, out = runs
    run = out["learned_head"][1]
    assert (run.articles, len(run.test), len(run.val)) == (30, 400, 400)
    assert sum(p.label == "oos" for p in run.test) == 100


def test_learned_head_beats_max_cosine_on_top1(runs):
    _data, out = runs
    top1 = {
        k: compute_metrics(r.test, s.decision, "oos").top1_accuracy for k, (s, r) in out.items()
    }
    assert top1["max_cosine"] >= 0.90
    assert top1["learned_head"] >= 0.94
    assert top1["learned_head"] >= top1["max_cosine"]
    assert top1["lexical"] >= 0.94  # n-grams through the whole product path, query text included


def test_the_lexical_head_was_fitted_on_n_grams(runs):
    _data, out = runs
    settings, run = out["lexical"]
    assert settings.scoring.lexical_weight == 0.5
    # scores differ from the embeddings-only head: the n-grams took part in every query
    plain = {p.text: p.score for p in out["learned_head"][1].test}
    assert sum(abs(p.score - plain[p.text]) > 1e-6 for p in run.test) > len(run.test) / 2


def test_mcc_threshold_floors_on_test(runs):
    _, out = runs
    settings, run = out["learned_head"]
    chosen = calibrate(run.val, settings.decision, "oos", objective="mcc")
    m = compute_metrics(run.test, chosen.decision, "oos")
    assert m.in_scope_accuracy >= 0.90
    assert m.oos_recall >= 0.65
    assert m.mcc >= 0.75


@pytest.mark.parametrize(
    "scoring, confidence",
    [
        ("max_cosine", None),
        ("learned_head", None),
        # ("lexical", None) misses on this sample: 8.0 % on test for 5 % on validation, the
        # noise --confidence exists for (benchmarks/QUALITY.md, calibration check)
        ("max_cosine", 0.9),
        ("learned_head", 0.9),
        ("lexical", 0.9),
    ],
)
def test_calibrated_wrong_answer_rate_holds_on_test(runs, scoring, confidence):
    _, out = runs
    settings, run = out[scoring]
    target = 0.05
    chosen = calibrate(
        run.val, settings.decision, "oos", max_wrong_rate=target, confidence=confidence
    )
    assert chosen.weighted_wrong_rate <= target
    assert chosen.validation.wrong_answer_rate <= target
    achieved = compute_metrics(run.test, chosen.decision, "oos").wrong_answer_rate
    assert achieved <= target + 0.015
