"""``tier1 kb eval --unknown-intents F``: the held-out-intent evaluation, minus argument parsing.

Kept apart from ``unknown_intents`` (the split, the threshold rule, the metrics and the plot)
because it drives ``command``'s data loading and runs; tier1/cli.py dispatches here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.evaluation import command
from knowledge_base.evaluation.datasets import DatasetError
from knowledge_base.evaluation.folds import pooled_predictions
from knowledge_base.evaluation.unknown_intents import (
    VAL_FOLDS,
    evaluate_split,
    hold_out_intents,
    plot_frontiers,
    table,
)


def scorings_to_compare(settings, args) -> list:
    """The knowledge-base settings to evaluate: the selected scoring, or all three."""
    if not getattr(args, "compare_scorings", False):
        return [settings]
    weight = args.lexical_weight if args.lexical_weight else 0.5
    out = []
    for kind, w in (("max_cosine", 0.0), ("learned_head", 0.0), ("learned_head", weight)):
        scoring = settings.scoring.copy(update={"type": kind, "lexical_weight": w})
        out.append(settings.copy(update={"scoring": scoring}))
    return out


class _Memo:
    """Remembers vectors by text for one command (several KBs of one dataset), never saved."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.encode(missing, progress=progress)))
        if not texts:
            return np.zeros((0, self.dimensions), np.float32)
        return np.vstack([self._vectors[t] for t in texts]).astype(np.float32)


def run_unknown_eval(settings, args, state_dir: Path) -> tuple[str, int]:
    """``tier1 kb eval --unknown-intents F``: returns (output, exit code)."""
    settings = command._settings(settings, args)
    if not 0 < args.min_known_accuracy <= 1:
        raise DatasetError(f"--min-known-accuracy must be in (0, 1], got {args.min_known_accuracy}")
    data = command.load_data(args)
    split = hold_out_intents(
        data,
        args.unknown_intents,
        args.unknown_seed,
        val_folds=getattr(args, "val_folds", VAL_FOLDS),
    )
    decision = settings.decision
    # One embedder for every scoring: the texts are encoded once (in memory, not saved).
    embedder = None
    if not getattr(args, "tune", False):
        from knowledge_base.embedder import create_embedder

        embedder = _Memo(create_embedder(settings.embedder))
    results, runs = [], []
    for s in scorings_to_compare(settings, args):
        run = command._run(s, args, split.data, True, state_dir, embedder=embedder)
        val = run.val
        if split.val_folds:
            # Each fold's KB is built (and tuned, with --tune) from the other folds alone.
            val = pooled_predictions(
                split.folds(),
                lambda fold, s=s: command._run(s, args, fold, False, state_dir, embedder).test,
            )
        results.append(
            evaluate_split(
                command.scoring_label(s),
                run.test,
                val,
                decision,
                data.oos_label,
                min_in_scope=args.min_known_accuracy,
            )
        )
        runs.append(run)
    val_queries = results[0].choice.val_queries
    tuned = "-tuned" if "tuning" in runs[0].extra else ""
    plot_path = (
        Path(args.plot)
        if args.plot
        else Path(state_dir)
        / "eval"
        / f"{data.name}-unknown{args.unknown_intents:g}-seed{args.unknown_seed}{tuned}.png"
    )
    plot_frontiers(
        {r.label: r.frontier for r in results},
        {r.label: r.test for r in results},
        plot_path,
        f"{data.name}: {len(split.unknown)} of {len(split.known) + len(split.unknown)} intents "
        f"unknown (seed {args.unknown_seed}), clarify margin {decision.clarify_margin:g}",
    )
    if args.json:
        doc = {
            "dataset": data.name,
            "model": settings.embedder.model,
            "unknown_fraction": args.unknown_intents,
            "unknown_seed": args.unknown_seed,
            "unknown_intents": list(split.unknown),
            "known_intents": len(split.known),
            "validation_carved": split.val_carved,
            "validation_folds": split.val_folds,
            "validation_queries": val_queries,
            "clarify_margin": decision.clarify_margin,
            "plot": str(plot_path),
            "results": [r.to_dict() for r in results],
        }
        return json.dumps(doc, indent=2), 0
    lines = [
        table(
            results,
            f"{data.name} — {split.describe()}; clarify margin {decision.clarify_margin:g}; "
            f"threshold: highest with known validation accuracy >= "
            f"{args.min_known_accuracy:.0%} (90 % confidence)",
        ),
        "",
        f"unknown intents: {', '.join(split.unknown)}",
        (
            f"test: {sum(1 for x in split.data.test.labels if x != data.oos_label)} known + "
            f"{sum(1 for x in split.data.test.labels if x == data.oos_label)} unknown questions; "
            f"validation: {val_queries} known questions"
        ),
        f"plot: {plot_path}",
    ]
    return "\n".join(lines), 0
