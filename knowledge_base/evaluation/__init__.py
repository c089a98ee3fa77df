"""Measure the knowledge base's answer-or-handoff decisions on labelled data, and calibrate them.

``run_evaluation`` builds a throwaway KB through ``KnowledgeBase`` and ranks the queries with
``search_many``; ``metrics`` takes every decision with ``decide``; ``calibrate`` picks the
threshold on validation data. Importing this package loads no model.
"""

from knowledge_base.evaluation.cache import CachedEmbedder
from knowledge_base.evaluation.calibrate import (
    Calibration,
    CalibrationError,
    calibrate,
    write_decision,
)
from knowledge_base.evaluation.datasets import (
    DatasetError,
    EvalData,
    LabelledSplit,
    load_clinc,
    load_csv,
    sample,
)
from knowledge_base.evaluation.evaluator import EvalRun, run_evaluation
from knowledge_base.evaluation.metrics import (
    Candidate,
    Metrics,
    Prediction,
    compute_metrics,
    decisions,
    matthews,
    sweep,
)

__all__ = [
    "CachedEmbedder",
    "Calibration",
    "CalibrationError",
    "Candidate",
    "DatasetError",
    "EvalData",
    "EvalRun",
    "LabelledSplit",
    "Metrics",
    "Prediction",
    "calibrate",
    "compute_metrics",
    "decisions",
    "load_clinc",
    "load_csv",
    "matthews",
    "run_evaluation",
    "sample",
    "sweep",
    "write_decision",
]
