"""``tier1 kb eval --articles FILE --queries CSV``, minus argument parsing (tier1/cli.py).

Builds the knowledge base from the articles file as an import would, ranks the validation and
test queries, chooses the thresholds on the validation part (``calibrate``) and reports the
test part: ranking (top-1, recall@5, MRR) and the answer-or-handoff decisions at those
thresholds.
"""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

from knowledge_base.evaluation.articles import (
    DEFAULT_VALIDATION_SHARE,
    ArticlesEval,
    load_articles_eval,
)
from knowledge_base.evaluation.calibrate import Calibration, CalibrationError, calibrate
from knowledge_base.evaluation.evaluator import EvalRun, run_evaluation
from knowledge_base.evaluation.metrics import Prediction, compute_metrics, ranking, sweep
from knowledge_base.evaluation.report import plot, table, write_predictions
from knowledge_base.settings import DecisionSettings, KnowledgeBaseSettings

RANK_DEPTH = 10  # hits ranked per query: recall@5 and MRR@10
DEFAULT_MAX_WRONG_RATE = 0.10  # the target when the validation part has no out-of-scope query


def add_articles_arguments(parser) -> None:
    """The options of ``kb eval`` for an articles file."""
    g = parser.add_argument_group(
        "a real knowledge base (--articles FILE --queries CSV instead of --clinc/--train)"
    )
    g.add_argument(
        "--articles",
        metavar="FILE",
        help="articles file as `tier1 kb import` takes it (.yml/.csv/.json/.md/.html/.zip)",
    )
    g.add_argument(
        "--queries",
        metavar="CSV",
        help="labelled questions: a text column and the expected article's slug "
        "(empty or --oos-label: should be handed off)",
    )
    g.add_argument(
        "--validation-queries",
        metavar="CSV",
        help="queries to choose the thresholds on (default: a seeded split of --queries)",
    )
    g.add_argument(
        "--validation-share",
        type=float,
        default=DEFAULT_VALIDATION_SHARE,
        metavar="S",
        help="without --validation-queries: this share of each slug's queries chooses the "
        "thresholds, the rest is the test part (default: %(default)s, seeded by --seed)",
    )
    g.add_argument(
        "--slug-col", default="slug", help="queries CSV slug column (default: %(default)s)"
    )
    g.add_argument(
        "--max-wrong-rate",
        type=float,
        default=None,
        metavar="RATE",
        help="threshold target on validation: at most RATE of answers wrong (default: best "
        f"MCC when validation has out-of-scope queries, else {DEFAULT_MAX_WRONG_RATE})",
    )


def choose_thresholds(
    val: list[Prediction], decision: DecisionSettings, oos_label: str, max_wrong_rate
) -> Calibration | None:
    """Thresholds chosen on the validation predictions (None when no threshold fits)."""
    has_oos = any(p.label == oos_label for p in val)
    try:
        if max_wrong_rate is None and has_oos:
            return calibrate(val, decision, oos_label, objective="mcc")
        return calibrate(
            val, decision, oos_label, max_wrong_rate=max_wrong_rate or DEFAULT_MAX_WRONG_RATE
        )
    except CalibrationError:
        return None


def evaluate_articles(
    ev: ArticlesEval,
    settings: KnowledgeBaseSettings,
    *,
    embedder=None,
    progress: bool = False,
    max_wrong_rate: float | None = None,
    knowledge: tuple[dict, dict[str, str]] | None = None,
) -> tuple[EvalRun, dict]:
    """Run the evaluation; returns the run and a JSON-able report of the test part.

    Args:
        ev: the articles file and the labelled queries (see ``load_articles_eval``).
        settings: the knowledge-base settings under test; their ``decision`` is used when
            no threshold fits on the validation part.
        embedder: overrides the configured embedder (e.g. a ``CachedEmbedder``).
        progress: show progress bars.
        max_wrong_rate: the wrong-answer target the thresholds are chosen for on the
            validation part; default: best MCC when it has out-of-scope queries, else
            ``DEFAULT_MAX_WRONG_RATE``.
        knowledge: import this knowledge-file content instead of ``ev.articles_file`` (the
            benchmark's generated articles, or articles with attached questions added).
    """
    run = run_evaluation(
        ev.data,
        settings,
        embedder=embedder,
        progress=progress,
        include_val=True,
        top_k=RANK_DEPTH,
        knowledge=knowledge,
        articles_file=None if knowledge is not None else ev.articles_file,
    )
    oos = ev.data.oos_label
    chosen = choose_thresholds(run.val or [], settings.decision, oos, max_wrong_rate)
    decision = chosen.decision if chosen is not None else settings.decision
    test = compute_metrics(run.test, decision, oos)
    report = {
        "articles": run.articles,
        "question_variants": ev.question_variants if knowledge is None else None,
        "indexed_texts": run.variants,
        "scoring": run.extra.get("scoring", settings.scoring.type),
        "validation": ev.validation,
        "validation_queries": len(run.val or []),
        "test_queries": len(run.test),
        "thresholds": {
            "chosen_on": "validation" if chosen is not None else "config (no threshold fits)",
            "target": chosen.target if chosen is not None else None,
            "answer_threshold": decision.answer_threshold,
            "clarify_margin": decision.clarify_margin,
        },
        "ranking": ranking(run.test, oos, 5).to_dict(),
        "validation_ranking": ranking(run.val or [], oos, 5).to_dict(),
        "validation_metrics": chosen.validation.to_dict() if chosen is not None else None,
        "metrics": test.to_dict(),
        "build_seconds": round(run.build_seconds, 2),
        "ms_per_query": round(run.ms_per_query, 2),
    }
    return run, report


def run_articles_eval(
    settings: KnowledgeBaseSettings, args: Namespace, state_dir: Path, label: str
) -> tuple[str, int]:
    """``tier1 kb eval --articles ... --queries ...``: (output, exit code).

    Raises:
        DatasetError, KnowledgeFileError, UnsupportedFormat: bad input, named by file and line.
    """
    from knowledge_base.evaluation.datasets import DatasetError

    if not args.queries:
        raise DatasetError("--articles needs --queries CSV (text and expected slug per row)")
    ev = load_articles_eval(
        args.articles,
        args.queries,
        args.validation_queries,
        validation_share=args.validation_share,
        seed=args.seed,
        text_col=args.text_col,
        slug_col=args.slug_col,
        oos_label=args.oos_label,
    )
    if args.answer_threshold is not None:
        raise DatasetError(
            "--articles chooses the threshold on the validation part; "
            "use --max-wrong-rate to change its target"
        )
    run, report = evaluate_articles(
        ev, settings, progress=not args.no_progress, max_wrong_rate=args.max_wrong_rate
    )
    decision = settings.decision.copy(
        update={
            "answer_threshold": report["thresholds"]["answer_threshold"],
            "clarify_margin": report["thresholds"]["clarify_margin"],
        }
    )
    swept = sweep(run.test, decision, ev.data.oos_label)
    plot_path = Path(args.plot) if args.plot else state_dir / "eval" / f"{ev.data.name}-{label}.png"
    plot(swept, plot_path, decision.answer_threshold, f"{ev.data.name}: {label}")
    report["plot"] = str(plot_path)
    report["model"] = settings.embedder.model
    if args.predictions:
        from knowledge_base.evaluation.metrics import decisions

        write_predictions(run.test, decisions(run.test, decision), args.predictions)
    if args.json:
        doc = {"dataset": ev.data.name, **report, "sweep": [m.to_dict() for m in swept]}
        return json.dumps(doc, indent=2), 0
    r, t = report["ranking"], report["thresholds"]
    pct = lambda v: "-" if v is None else f"{100 * v:.1f} %"
    mrr = "-" if r["mrr"] is None else f"{r['mrr']:.3f}"
    lines = [
        (
            f"{ev.data.name} — scoring {report['scoring']}: {report['articles']} articles, "
            f"{ev.question_variants} question variants, {report['indexed_texts']} indexed texts"
        ),
        (
            f"ranking ({r['queries']} in-scope test queries): top-1 {pct(r['top1'])}, "
            f"recall@5 {pct(r['recall_at_k'])}, MRR {mrr}"
        ),
        (
            f"thresholds chosen on {t['chosen_on']} ({report['validation']}, "
            f"{report['validation_queries']} queries): {t['target'] or '-'}"
        ),
        "",
        table(
            compute_metrics(run.test, decision, ev.data.oos_label),
            swept,
            "test part (held out from the threshold choice)",
        ),
        "",
        (
            f"build {run.build_seconds:.1f} s, search {run.ms_per_query:.1f} ms/query "
            f"(batched); plot: {plot_path}"
        ),
    ]
    if args.predictions:
        lines.append(f"predictions: {args.predictions}")
    return "\n".join(lines), 0
