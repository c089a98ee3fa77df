"""Calibration: the threshold chosen for a target, and the in-place config.yml edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge_base.evaluation import (
    CalibrationError,
    Candidate,
    Prediction,
    calibrate,
    compute_metrics,
    write_decision,
)
from knowledge_base.settings import DecisionSettings, KnowledgeBaseSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def pred(label: str, predicted: str, score: float) -> Prediction:
    ids = {"a": 1, "b": 2, "c": 3}
    other = "c" if predicted != "c" else "a"
    return Prediction(
        "q", label, (Candidate(ids[predicted], predicted, score), Candidate(ids[other], other, 0.0))
    )


# Right answers score high, wrong ones and out-of-scope lower, with some overlap.
VAL = (
    [pred("a", "a", s) for s in (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55)]
    + [pred("b", "a", 0.62), pred("b", "a", 0.5)]
    + [pred("oos", "b", s) for s in (0.58, 0.45, 0.4, 0.3)]
)
SETTINGS = DecisionSettings(answer_threshold=0.5, clarify_margin=0.04)


def test_max_wrong_rate_answers_as_much_as_the_target_allows():
    result = calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.2)
    # 0.55 answers 8 right + 0.62 + 0.58 wrong: 2/10 = 20 %; lower would add a wrong one.
    assert result.decision.answer_threshold == pytest.approx(0.55)
    assert result.validation.wrong_answer_rate == pytest.approx(0.2)
    strict = calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.0)
    assert strict.decision.answer_threshold == pytest.approx(0.65)  # the next score above 0.62
    assert strict.validation.wrong_answer_rate == 0.0
    assert strict.decision.clarify_margin == SETTINGS.clarify_margin


def test_oos_share_reweights_the_wrong_answer_rate():
    plain = calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.2)
    # If out-of-scope questions are half the traffic, answering one costs far more.
    mixed = calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.2, oos_share=0.5)
    assert mixed.decision.answer_threshold > plain.decision.answer_threshold
    assert mixed.weighted_wrong_rate <= 0.2


def test_confidence_holds_the_target_for_an_upper_bound():
    from knowledge_base.evaluation.calibrate import _upper

    # Wilson 90 % one-sided upper bounds: wider with fewer trials, 1 with none
    assert _upper(0.1, 100, 0.9) == pytest.approx(0.1451, abs=1e-4)  # (c + s) / (1 + z²/n)
    assert _upper(0.1, 10, 0.9) > _upper(0.1, 100, 0.9) > 0.1
    assert _upper(0.0, 50, 0.9) > 0 and _upper(0.3, 0, 0.9) == 1.0
    plain = calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.2)
    sure = calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.2, confidence=0.6)
    assert sure.decision.answer_threshold > plain.decision.answer_threshold
    assert sure.weighted_wrong_rate <= 0.2 and "at 60% confidence" in sure.target
    assert sure.validation.wrong_answer_rate < plain.validation.wrong_answer_rate
    # a bound from 14 queries cannot certify 5 %: said, not silently ignored
    with pytest.raises(CalibrationError, match="no threshold keeps"):
        calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.05, confidence=0.9)
    with pytest.raises(CalibrationError, match="--confidence must be from 0.5"):
        calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.2, confidence=1.0)


def test_mcc_objective():
    result = calibrate(VAL, SETTINGS, "oos", objective="mcc")
    best = result.validation.mcc
    for t in (0.3, 0.45, 0.5, 0.55, 0.6, 0.7):
        assert (
            compute_metrics(VAL, SETTINGS.copy(update={"answer_threshold": t}), "oos").mcc
            <= best + 1e-9
        )


def test_targets_are_validated():
    with pytest.raises(CalibrationError, match="exactly one"):
        calibrate(VAL, SETTINGS, "oos")
    with pytest.raises(CalibrationError, match="exactly one"):
        calibrate(VAL, SETTINGS, "oos", max_wrong_rate=0.1, objective="mcc")
    with pytest.raises(CalibrationError, match="out-of-scope"):
        calibrate([p for p in VAL if p.label != "oos"], SETTINGS, "oos", objective="mcc")
    always_wrong = [pred("b", "a", 0.9), pred("b", "a", 0.8)]
    with pytest.raises(CalibrationError, match="no threshold"):
        calibrate(always_wrong, SETTINGS, "oos", max_wrong_rate=0.05)


def test_write_decision_edits_only_the_two_lines(tmp_path):
    config = tmp_path / "config.yml"
    original = (ROOT / "config.yml").read_text(encoding="utf-8")
    config.write_text(original, encoding="utf-8")
    write_decision(
        config, SETTINGS.copy(update={"answer_threshold": 0.2345, "clarify_margin": 0.03}), "mcc"
    )
    edited = config.read_text(encoding="utf-8")
    before, after = original.splitlines(), edited.splitlines()
    assert len(before) == len(after)
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert [a.split("#")[0].strip() for _, a in changed] == [
        "answer_threshold: 0.2345",
        "clarify_margin: 0.03",
    ]
    # Each line keeps its own explanatory comment.
    assert [a.split("#")[1] for _, a in changed] == [b.split("#")[1] for b, _ in changed]
    raw = yaml.safe_load(edited)
    settings = KnowledgeBaseSettings(**raw["knowledge_base"])
    assert settings.decision.answer_threshold == pytest.approx(0.2345)
    assert settings.decision.clarify_margin == pytest.approx(0.03)
    assert raw["handoff"] == yaml.safe_load(original)["handoff"]


def test_write_decision_adds_a_missing_block_and_refuses_files_without_the_section(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("# top\nknowledge_base:\n  search_top_k: 5   # keep\nhandoff: {}\n")
    write_decision(config, SETTINGS.copy(update={"answer_threshold": 0.3}), "mcc")
    assert "answer_threshold: 0.3000   # tier1 kb calibrate: mcc" in config.read_text()
    raw = yaml.safe_load(config.read_text())
    assert raw["knowledge_base"]["decision"] == {"answer_threshold": 0.3, "clarify_margin": 0.04}
    assert raw["knowledge_base"]["search_top_k"] == 5 and "# keep" in config.read_text()
    other = tmp_path / "other.yml"
    other.write_text("handoff: {}\n")
    with pytest.raises(CalibrationError, match="no top-level knowledge_base"):
        write_decision(other, SETTINGS)
    assert other.read_text() == "handoff: {}\n"


def test_scores_of_one_stay_valid_thresholds():
    # Exact duplicates of a stored question score 1.0 (max cosine): every chosen threshold
    # must still be a valid config value.
    val = [
        pred("a", "a", 1.0),
        pred("a", "a", 1.0000001),
        pred("oos", "b", 0.9),
        pred("b", "a", 0.95),
    ]
    for kwargs in (
        {"max_wrong_rate": 0.0},
        {"max_wrong_rate": 0.5, "oos_share": 0.3},
        {"objective": "mcc"},
    ):
        result = calibrate(val, SETTINGS, "oos", **kwargs)
        DecisionSettings(**result.decision.dict())  # validates: answer_threshold <= 1.0
