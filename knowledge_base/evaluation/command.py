"""What ``tier1 kb eval`` and ``tier1 kb calibrate`` do, minus argument parsing (tier1/cli.py).

Kept here so the knowledge base owns its evaluation and the CLI stays a thin adapter.
"""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

from knowledge_base.evaluation.calibrate import CalibrationError, calibrate, write_decision
from knowledge_base.evaluation.datasets import DatasetError, EvalData, load_clinc, load_csv, sample
from knowledge_base.evaluation.evaluator import EvalRun, run_evaluation
from knowledge_base.evaluation.metrics import compute_metrics, decisions, sweep
from knowledge_base.evaluation.report import plot, table, write_predictions
from knowledge_base.settings import KnowledgeBaseSettings
from knowledge_base.tuning import TuningOptions


def add_data_arguments(parser) -> None:
    """The data options both commands share."""
    g = parser.add_argument_group("data (CSV files, or --clinc)")
    g.add_argument(
        "--clinc",
        metavar="JSON",
        help="CLINC150 layout (e.g. data_full.json): "
        "train = KB, val+oos_val = validation, test+oos_test = test",
    )
    g.add_argument(
        "--clinc-oos-train",
        action="store_true",
        help="with --clinc: also validate on oos_train (100 more out-of-scope questions, "
        "never in the KB) to place the threshold",
    )
    g.add_argument("--train", metavar="CSV", help="training split: each label becomes an article")
    g.add_argument("--test", metavar="CSV", help="test split")
    g.add_argument("--val", metavar="CSV", help="validation split (calibrate needs it)")
    g.add_argument("--text-col", default="text", help="CSV text column (default: %(default)s)")
    g.add_argument("--label-col", default="label", help="CSV label column (default: %(default)s)")
    g.add_argument(
        "--oos-label",
        default="oos",
        help="label of out-of-scope queries, which should be handed off (default: %(default)s)",
    )
    g.add_argument(
        "--limit-per-label",
        type=int,
        default=None,
        metavar="N",
        help="a fast sample: at most N texts per label in every split",
    )
    g.add_argument(
        "--labels",
        type=int,
        default=None,
        metavar="N",
        help="a fast sample: only N labels (chosen with --seed)",
    )
    g.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    parser.add_argument(
        "--scoring",
        choices=["max_cosine", "learned_head", "hybrid", "auto"],
        default=None,
        help="article scoring to evaluate (default: knowledge_base.scoring.type)",
    )
    parser.add_argument(
        "--bm25-weight",
        type=float,
        default=None,
        metavar="W",
        help="hybrid / auto: BM25's share of the score beside the best cosine "
        "(default: knowledge_base.scoring.bm25_weight)",
    )
    parser.add_argument(
        "--index-answers",
        choices=["long", "always"],
        default=None,
        help="index every answer as a passage (always) or only long ones "
        "(default: knowledge_base.index_answers)",
    )
    parser.add_argument(
        "--lexical-weight",
        type=float,
        default=None,
        metavar="W",
        help="learned_head: weight of the character n-gram features, 0 = embeddings only "
        "(default: knowledge_base.scoring.lexical_weight)",
    )
    parser.add_argument(
        "--clarify-margin",
        type=float,
        default=None,
        metavar="M",
        help="offer a choice when the top two articles are closer than M "
        "(default: knowledge_base.decision.clarify_margin; benchmarks/QUALITY.md uses 0.04)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_model_argument(parser) -> None:
    """``--model``: the encoder to evaluate or tune (``knowledge_base/encoder_catalog.py``)."""
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME|DIR",
        help="the sentence encoder: a name from `tier1 models list` (installed first with "
        "`tier1 models install NAME`) or a local model directory "
        "(default: knowledge_base.embedder.model)",
    )


def with_model(settings: KnowledgeBaseSettings, model: str) -> KnowledgeBaseSettings:
    """``settings`` with ``--model``'s encoder (a catalogue name, a setting or a directory).

    Raises:
        DatasetError: an unknown ``packaged:``/``installed:`` name.
    """
    from pydantic import ValidationError

    from knowledge_base.encoder_catalog import runtime_for, setting_for
    from knowledge_base.settings import EmbedderSettings

    setting = setting_for(model)
    fields = {
        **settings.embedder.dict(),
        "type": "sentence-transformers",
        "model": setting,
        "runtime": runtime_for(setting, settings.embedder.runtime),
    }
    try:
        embedder = EmbedderSettings(**fields)
    except ValidationError as e:
        raise DatasetError(f"--model: {e.errors()[0]['msg']}") from None
    return settings.copy(update={"embedder": embedder})


def add_tuning_arguments(parser, *, switch: bool = False) -> None:
    """The knobs of ``knowledge_base.tuning`` (``switch``: add ``--tune`` to turn tuning on)."""
    g = parser.add_argument_group("tuning (contrastive fine-tuning on the question variants)")
    if switch:
        g.add_argument(
            "--tune",
            action="store_true",
            help="fine-tune the model on the TRAINING split first (never val/test), as "
            "`tier1 kb tune` does; an identical earlier run is reused from <state_dir>/eval/",
        )
    defaults = TuningOptions()
    g.add_argument("--epochs", type=int, default=defaults.epochs, help="default: %(default)s")
    g.add_argument(
        "--max-steps", type=int, default=None, metavar="N", help="stop after N optimiser steps"
    )
    g.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="pairs per step, at most one per article (default: %(default)s)",
    )
    g.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        metavar="M",
        help="stop training after M minutes (the model trained so far is kept)",
    )
    g.add_argument("--lr", type=float, default=defaults.lr, help="default: %(default)s")


def tuning_options(args: Namespace, seed: int = 0) -> TuningOptions:
    """Raises TuningError: an option is out of range."""
    return TuningOptions(
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        budget_minutes=args.budget_minutes,
        lr=args.lr,
        seed=seed,
    )


def load_data(args: Namespace) -> EvalData:
    """Raises DatasetError: neither --clinc nor --train/--test, or a file is unusable."""
    if args.clinc:
        data = load_clinc(args.clinc, oos_train_in_val=args.clinc_oos_train)
    elif args.train and args.test:
        data = load_csv(
            args.train,
            args.test,
            args.val,
            text_col=args.text_col,
            label_col=args.label_col,
            oos_label=args.oos_label,
        )
    else:
        raise DatasetError(
            "give --clinc FILE, or --train CSV and --test CSV (optionally --val CSV), "
            "or (kb eval) --articles FILE and --queries CSV"
        )
    if args.limit_per_label or args.labels:
        data = sample(data, args.limit_per_label, labels=args.labels, seed=args.seed)
    return data


def scoring_label(settings: KnowledgeBaseSettings) -> str:
    """``learned_head``, or ``learned_head+lexical0.5`` when the head reads n-grams."""
    scoring = settings.scoring
    if scoring.type == "learned_head" and scoring.lexical_weight > 0:
        return f"{scoring.type}+lexical{scoring.lexical_weight:g}"
    if scoring.type == "hybrid":
        return f"hybrid{scoring.bm25_weight:g}"
    return scoring.type


def _settings(settings: KnowledgeBaseSettings, args: Namespace) -> KnowledgeBaseSettings:
    if getattr(args, "model", None):
        settings = with_model(settings, args.model)
    update = {}
    if args.scoring:
        update["type"] = args.scoring
    if getattr(args, "bm25_weight", None) is not None:
        if not 0 <= args.bm25_weight <= 1:
            raise DatasetError(f"--bm25-weight must be from 0 to 1, got {args.bm25_weight}")
        update["bm25_weight"] = args.bm25_weight
    if args.lexical_weight is not None:
        if not 0 <= args.lexical_weight <= 10:
            raise DatasetError(f"--lexical-weight must be from 0 to 10, got {args.lexical_weight}")
        update["lexical_weight"] = args.lexical_weight
    if update:
        settings = settings.copy(update={"scoring": settings.scoring.copy(update=update)})
    if getattr(args, "index_answers", None):
        settings = settings.copy(update={"index_answers": args.index_answers})
    if args.clarify_margin is not None:
        if not 0 <= args.clarify_margin <= 2:
            raise DatasetError(f"--clarify-margin must be from 0 to 2, got {args.clarify_margin}")
        margin = {"clarify_margin": args.clarify_margin}
        settings = settings.copy(update={"decision": settings.decision.copy(update=margin)})
    return settings


def _run(
    settings: KnowledgeBaseSettings,
    args: Namespace,
    data: EvalData,
    include_val: bool,
    state_dir: Path | None = None,
    embedder=None,
) -> EvalRun:
    tuned = None
    if getattr(args, "tune", False):
        from knowledge_base.evaluation.tuned import tune_on_train

        if settings.embedder.type != "sentence-transformers":
            raise DatasetError("--tune needs knowledge_base.embedder.type: sentence-transformers")
        embedder, tuned, _ = tune_on_train(
            data,
            settings.embedder.model,
            Path(state_dir or ".tier1") / "eval",
            tuning_options(args),
            progress=not args.no_progress,
            batch_size=settings.embedder.batch_size,
            models_dir=settings.embedder.models_dir,
        )
    run = run_evaluation(
        data, settings, embedder=embedder, progress=not args.no_progress, include_val=include_val
    )
    if tuned is not None:
        run.extra["tuning"] = {
            "model": tuned.name,
            "steps": tuned.steps,
            "epochs_done": tuned.epochs_done,
            "stopped_by": tuned.stopped_by,
            "seconds": tuned.seconds,
        }
    return run


def run_eval(settings: KnowledgeBaseSettings, args: Namespace, state_dir: Path) -> tuple[str, int]:
    """``tier1 kb eval``: returns (output, exit code)."""
    settings = _settings(settings, args)
    if getattr(args, "articles", None):
        from knowledge_base.evaluation.articles_command import run_articles_eval

        return run_articles_eval(settings, args, state_dir, scoring_label(settings))
    data = load_data(args)
    decision = settings.decision
    if args.answer_threshold is not None:
        decision = decision.copy(update={"answer_threshold": args.answer_threshold})
    run = _run(settings, args, data, include_val=False, state_dir=state_dir)
    metrics = compute_metrics(run.test, decision, data.oos_label)
    swept = sweep(run.test, decision, data.oos_label)
    plot_path = (
        Path(args.plot)
        if args.plot
        else state_dir
        / "eval"
        / f"{data.name}-{scoring_label(settings)}{'-tuned' if 'tuning' in run.extra else ''}.png"
    )
    plot(swept, plot_path, decision.answer_threshold, f"{data.name}: {scoring_label(settings)}")
    if args.predictions:
        write_predictions(run.test, decisions(run.test, decision), args.predictions)
    info = {
        "dataset": data.name,
        "scoring": settings.scoring.type,
        "lexical_weight": settings.scoring.lexical_weight,
        "model": settings.embedder.model,
        "articles": run.articles,
        "indexed_texts": run.variants,
        "build_seconds": round(run.build_seconds, 2),
        "ms_per_query": round(run.ms_per_query, 2),
        "plot": str(plot_path),
    }
    if "tuning" in run.extra:
        info["tuning"] = run.extra["tuning"]
    if args.json:
        doc = {**info, "metrics": metrics.to_dict(), "sweep": [m.to_dict() for m in swept]}
        return json.dumps(doc, indent=2), 0
    lines = [
        table(
            metrics,
            swept,
            f"{data.name} — scoring {scoring_label(settings)}, "
            f"{run.articles} articles / {run.variants} indexed texts",
        ),
        "",
        (
            f"build {run.build_seconds:.1f} s, search {run.ms_per_query:.1f} ms/query (batched); "
            f"plot: {plot_path}"
        ),
    ]
    if args.predictions:
        lines.append(f"predictions: {args.predictions}")
    if "tuning" in run.extra:
        t = run.extra["tuning"]
        lines.append(
            f"tuned on the training split: {t['steps']} steps ({t['epochs_done']} epochs, "
            f"stopped by {t['stopped_by']}) in {t['seconds']:.0f} s; model {t['model']}"
        )
    return "\n".join(lines), 0


def run_calibrate(
    settings: KnowledgeBaseSettings, args: Namespace, config: Path, state_dir: Path | None = None
) -> tuple[str, int]:
    """``tier1 kb calibrate``: choose thresholds on validation data; write or print them."""
    settings = _settings(settings, args)
    data = load_data(args)
    if data.val is None:
        raise DatasetError(
            "calibrate chooses thresholds on validation data: give --val CSV or --clinc"
        )
    run = _run(settings, args, data, include_val=True, state_dir=state_dir)
    result = calibrate(
        run.val,
        settings.decision,
        data.oos_label,
        max_wrong_rate=args.max_wrong_rate,
        objective=args.objective,
        oos_share=args.oos_share,
        confidence=args.confidence,
    )
    test = compute_metrics(run.test, result.decision, data.oos_label)
    out = [
        f"target: {result.target} (scoring {scoring_label(settings)}"
        + (f", out-of-scope share {args.oos_share:.0%}" if args.oos_share is not None else "")
        + ")",
        table(result.validation, title="validation (thresholds chosen here)"),
        "",
        table(test, title="test (held out: what to expect)"),
        "",
    ]
    configured = _configured_scoring(config)
    if (settings.scoring.type, settings.scoring.lexical_weight) != configured:
        out.append(
            f"note: config.yml uses scoring {configured[0]!r} with lexical_weight "
            f"{configured[1]:g}; set knowledge_base.scoring.type: {settings.scoring.type} and "
            f"lexical_weight: {settings.scoring.lexical_weight:g} with these thresholds"
        )
    in_use = run.extra.get("scoring")
    if in_use in settings.decision.by_scoring:
        out.append(
            f"note: scoring {settings.scoring.type} used {in_use} on this data, whose thresholds "
            f"are knowledge_base.decision.by_scoring.{in_use}: copy the threshold there"
        )
    if "tuning" in run.extra:
        out.append(
            "note: these thresholds were chosen with a model tuned on the training split; "
            "use them with a knowledge base tuned the same way (tier1 kb tune)"
        )
    if args.print:
        out += ["paste under knowledge_base: in config.yml:", result.snippet()]
    else:
        try:
            write_decision(config, result.decision, result.target)
        except OSError as e:
            raise CalibrationError(f"{config}: cannot write it ({e.strerror}); use --print") from e
        out.append(
            f"wrote answer_threshold {result.decision.answer_threshold:.4f} and clarify_margin "
            f"{result.decision.clarify_margin:g} to {config} (knowledge_base.decision)"
        )
    return "\n".join(out), 0


def _configured_scoring(config: Path) -> tuple[str, float]:
    """(scoring type, lexical weight) as config.yml sets them."""
    import yaml

    raw = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    from knowledge_base.settings import ScoringSettings

    section = (raw.get("knowledge_base") or {}).get("scoring") or {}
    default = ScoringSettings()
    return (
        section.get("type", default.type),
        float(section.get("lexical_weight", default.lexical_weight)),
    )
