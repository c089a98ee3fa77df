"""Choose the answer threshold from validation data, and write it into config.yml.

Targets:
- ``max_wrong_rate``: answer as much as possible while at most this share of the answers is
  wrong (an out-of-scope question answered counts as wrong);
- ``mcc``: the best Matthews correlation of "handed off" with "is out of scope".

``oos_share`` re-weights the validation queries to the share of out-of-scope questions
expected in production (CLINC150's validation split has 3 % of them, its test split 18 %);
the wrong-answer rate depends on that mix, the per-query rates do not.

``confidence`` (e.g. 0.9) holds the target against an upper confidence bound of the
wrong-answer rate instead of its point estimate: each per-query rate (in-scope questions
answered wrongly; out-of-scope questions answered) is replaced by its one-sided Wilson upper
bound before the rates are recombined. A validation set with 100 out-of-scope questions
measures "answered" to a few points only; the bound keeps the chosen threshold from riding
that noise (benchmarks/QUALITY.md, calibration check).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.evaluation.metrics import Metrics, Prediction, compute_metrics, sweep
from knowledge_base.settings import DecisionSettings

_GRID_STEPS = 400


class CalibrationError(KnowledgeBaseError):
    """No threshold meets the target, or the config file cannot be updated."""


@dataclass(frozen=True)
class Calibration:
    """The chosen decision settings and what they achieve on the validation data."""

    decision: DecisionSettings
    target: str
    validation: Metrics
    weighted_wrong_rate: float | None

    def snippet(self) -> str:
        """The config.yml lines to paste under ``knowledge_base:``."""
        d = self.decision
        return (
            "  decision:\n"
            f"    answer_threshold: {d.answer_threshold:.4f}   # tier1 kb calibrate: {self.target}\n"
            f"    clarify_margin: {d.clarify_margin}\n"
            f"    clarify_max_options: {d.clarify_max_options}\n"
        )


def calibrate(
    predictions: Sequence[Prediction],
    settings: DecisionSettings,
    oos_label: str,
    *,
    max_wrong_rate: float | None = None,
    objective: str | None = None,
    oos_share: float | None = None,
    confidence: float | None = None,
) -> Calibration:
    """Pick ``answer_threshold`` on validation predictions for one target.

    Args:
        predictions: the ranked validation queries.
        settings: the decision settings to start from; only ``answer_threshold`` changes.
        oos_label: the label of out-of-scope queries (they should be handed off).
        max_wrong_rate: e.g. 0.05; exclusive with ``objective``.
        objective: ``"mcc"``.
        oos_share: expected share of out-of-scope questions (0..1) used to weight the
            wrong-answer rate; default: the validation data's own share.
        confidence: hold ``max_wrong_rate`` at this one-sided confidence (0.5-0.999)
            rather than for the point estimate; default: the point estimate.

    Raises:
        CalibrationError: no target, both targets, MCC without out-of-scope data, a
            confidence out of range, or no threshold reaches the wrong-answer target.
    """
    if (max_wrong_rate is None) == (objective is None):
        raise CalibrationError("give exactly one target: --max-wrong-rate RATE or --objective mcc")
    if confidence is not None and not 0.5 <= confidence <= 0.999:
        raise CalibrationError(f"--confidence must be from 0.5 to 0.999, got {confidence}")
    grid = _grid(predictions)
    results = sweep(predictions, settings, oos_label, grid)
    if objective is not None:
        if objective != "mcc":
            raise CalibrationError(f"unknown objective {objective!r}; use mcc")
        if not any(p.label == oos_label for p in predictions):
            raise CalibrationError(
                f"--objective mcc needs out-of-scope validation queries (label {oos_label!r}); "
                "use --max-wrong-rate instead"
            )
        best = max(results, key=lambda m: (m.mcc or 0.0, -m.answer_threshold))
        return _result(predictions, settings, oos_label, best, "best MCC", oos_share)
    weighted = [
        _weighted_wrong_rate(predictions, m, settings, oos_label, oos_share, confidence)
        for m in results
    ]
    feasible = [(m, w) for m, w in zip(results, weighted) if w is not None and w <= max_wrong_rate]
    if not feasible:
        raise CalibrationError(
            f"no threshold keeps wrong answers at or below {max_wrong_rate:.1%} on the validation "
            "data; relax the target or improve the knowledge base (more question variants)"
        )
    # Most answered-and-right wins; ties go to the stricter threshold.
    best, _ = max(feasible, key=lambda mw: (mw[0].in_scope_accuracy or 0.0, mw[0].answer_threshold))
    target = f"wrong answers <= {max_wrong_rate:.1%}"
    if confidence is not None:
        target += f" at {confidence:.0%} confidence"
    return _result(predictions, settings, oos_label, best, target, oos_share, confidence)


def _grid(predictions: Sequence[Prediction]) -> list[float]:
    # Thresholds AT observed top scores (decide answers at score >= threshold), thinned to
    # quantiles when there are many: resolution where the queries are.
    scores = np.unique([p.score for p in predictions if p.hits])
    if not len(scores):
        return [0.0]
    if len(scores) > _GRID_STEPS:
        scores = np.unique(np.quantile(scores, np.linspace(0, 1, _GRID_STEPS), method="lower"))
    # One step above the best score hands everything off; config thresholds stop at 1.0.
    return sorted({float(s) for s in scores if s <= 1.0} | {min(float(scores.max()) + 1e-4, 1.0)})


def _weighted_wrong_rate(
    predictions: Sequence[Prediction],
    m: Metrics,
    settings: DecisionSettings,
    oos_label: str,
    oos_share: float | None,
    confidence: float | None = None,
) -> float | None:
    if confidence is None and (oos_share is None or not m.out_of_scope or not m.in_scope):
        return m.wrong_answer_rate
    if not m.in_scope:
        return _upper(m.wrong_answer_rate or 0.0, round(m.coverage * m.queries), confidence)
    if oos_share is None:
        oos_share = m.out_of_scope / m.queries
    # Per-query rates are mix-free; recombine them with the expected out-of-scope share.
    at = settings.copy(update={"answer_threshold": m.answer_threshold})
    oos_answered = 0.0
    if m.out_of_scope:
        oos_answered = 1.0 - (m.oos_recall or 0.0) - _oos_clarified(predictions, at, oos_label)
    in_answered = (m.coverage * m.queries - oos_answered * m.out_of_scope) / m.in_scope
    in_wrong = in_answered - (m.in_scope_accuracy or 0.0)
    if confidence is not None:
        in_wrong = _upper(in_wrong, m.in_scope, confidence)
        in_answered = max(in_answered, in_wrong)
        # no out-of-scope queries measured: the bound of "answered" over zero trials is 1
        oos_answered = _upper(oos_answered, m.out_of_scope, confidence)
    answered = (1 - oos_share) * in_answered + oos_share * oos_answered
    return ((1 - oos_share) * in_wrong + oos_share * oos_answered) / answered if answered else None


def _upper(rate: float, n: int, confidence: float | None) -> float:
    """One-sided Wilson score upper bound of a rate observed as ``rate`` over ``n`` trials."""
    if confidence is None:
        return rate
    if n <= 0:
        return 1.0
    from statistics import NormalDist

    z = NormalDist().inv_cdf(confidence)
    centre = rate + z * z / (2 * n)
    spread = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return float(min(1.0, (centre + spread) / (1 + z * z / n)))


def _oos_clarified(
    predictions: Sequence[Prediction], settings: DecisionSettings, oos_label: str
) -> float:
    from knowledge_base.decision import Decision, decide

    oos = [p for p in predictions if p.label == oos_label]
    return sum(decide(p.hits[:2], settings) is Decision.CLARIFY for p in oos) / len(oos)


def _result(
    predictions, settings, oos_label, best: Metrics, target: str, oos_share, confidence=None
) -> Calibration:
    decision = settings.copy(update={"answer_threshold": best.answer_threshold})
    validation = compute_metrics(predictions, decision, oos_label)
    return Calibration(
        decision,
        target,
        validation,
        _weighted_wrong_rate(predictions, validation, settings, oos_label, oos_share, confidence),
    )


_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w-]*)\s*:(?P<rest>.*)$")


def write_decision(config: Path | str, decision: DecisionSettings, target: str = "") -> None:
    """Set ``knowledge_base.decision.answer_threshold`` and ``clarify_margin`` in place.

    Only those two values change (a line's own comment is kept; a line without one gets a note
    of the target); every other line, comment and blank stays byte for byte. The result is
    re-read to check it.

    Raises:
        CalibrationError: the file has no ``knowledge_base:`` section or is not valid YAML
            after the edit (the file is then left untouched).
    """
    from ruamel.yaml import YAML

    path = Path(config)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    values = {
        "answer_threshold": f"{decision.answer_threshold:.4f}",
        "clarify_margin": f"{decision.clarify_margin:g}",
    }
    note = f"   # tier1 kb calibrate: {target}" if target else ""
    section = _find_child(lines, None, "knowledge_base")
    if section is None:
        raise CalibrationError(f"{path}: no top-level knowledge_base: section; add one first")
    block = _find_child(lines, section, "decision")
    if block is None:
        indent = _child_indent(lines, section) or "  "
        insert = [f"{indent}decision:\n"] + [
            f"{indent}  {k}: {v}{note}\n" for k, v in values.items()
        ]
        lines[section + 1 : section + 1] = insert
    else:
        indent = _child_indent(lines, block) or _KEY.match(lines[block])["indent"] + "  "
        for key, value in values.items():
            at = _find_child(lines, block, key)
            if at is None:
                lines.insert(block + 1, f"{indent}{key}: {value}{note}\n")
            else:
                newline = "\n" if lines[at].endswith("\n") else ""
                old = lines[at].rstrip("\n")
                comment = re.search(r"\s+#.*$", old)
                kept = comment.group(0) if comment else note
                lines[at] = f"{indent}{key}: {value}{kept}{newline}"
    text = "".join(lines)
    try:
        data = YAML(typ="rt").load(text)
        got = data["knowledge_base"]["decision"]
        assert abs(float(got["answer_threshold"]) - float(values["answer_threshold"])) < 1e-9
    except Exception as e:
        raise CalibrationError(
            f"{path}: could not update knowledge_base.decision safely ({e}); paste the snippet "
            "from --print by hand"
        ) from e
    path.write_text(text, encoding="utf-8")


def _find_child(lines: list[str], parent: int | None, key: str) -> int | None:
    """Line number of ``key:`` directly under the mapping at line ``parent`` (None: top level)."""
    if parent is None:
        start, level = 0, -1
    else:
        start, level = parent + 1, len(_KEY.match(lines[parent])["indent"])
    child_level = None
    for i in range(start, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[i]) - len(lines[i].lstrip())
        if indent <= level:
            return None  # the parent's block ended
        if child_level is None:
            child_level = indent
        m = _KEY.match(lines[i])
        if indent == child_level and m and m["key"] == key:
            return i
    return None


def _child_indent(lines: list[str], parent: int) -> str | None:
    level = len(_KEY.match(lines[parent])["indent"])
    for line in lines[parent + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        return line[:indent] if indent > level else None
    return None
