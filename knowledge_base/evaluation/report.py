"""Present an evaluation: a readable table, a JSON document, a PNG plot, a predictions CSV."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from knowledge_base.decision import Decision
from knowledge_base.evaluation.metrics import Metrics, Prediction

_ROWS = [
    ("top-1 accuracy (in-scope, no threshold)", "top1_accuracy"),
    ("in-scope accuracy (answered and right / in-scope)", "in_scope_accuracy"),
    ("out-of-scope recall (handed off / out-of-scope)", "oos_recall"),
    ("wrong-answer rate (answered but wrong / answered)", "wrong_answer_rate"),
    ("clarify rate", "clarify_rate"),
    ("handoff rate", "handoff_rate"),
    ("coverage (answered / all)", "coverage"),
    ("MCC (handoff vs out-of-scope)", "mcc"),
]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def table(metrics: Metrics, sweep: Sequence[Metrics] = (), title: str = "") -> str:
    """Metrics at the decision thresholds, then the sweep (one row per threshold)."""
    from tabulate import tabulate

    head = (f"{title}\n" if title else "") + (
        f"{metrics.queries} queries ({metrics.in_scope} in scope, {metrics.out_of_scope} out of "
        f"scope) at answer_threshold {metrics.answer_threshold:.4f}, clarify_margin "
        f"{metrics.clarify_margin:g}\n"
    )
    rows = [
        (
            name,
            f"{metrics.mcc:.3f}"
            if key == "mcc" and metrics.mcc is not None
            else _pct(getattr(metrics, key)),
        )
        for name, key in _ROWS
    ]
    out = head + tabulate(rows, headers=["metric", "value"], tablefmt="github")
    if sweep:
        sweep_rows = [
            (
                f"{m.answer_threshold:.4f}",
                _pct(m.in_scope_accuracy),
                _pct(m.oos_recall),
                _pct(m.wrong_answer_rate),
                _pct(m.coverage),
                _pct(m.clarify_rate),
                "-" if m.mcc is None else f"{m.mcc:.3f}",
            )
            for m in _thin(sweep, 21)
        ]
        out += "\n\nthreshold sweep\n" + tabulate(
            sweep_rows,
            headers=[
                "threshold",
                "in-scope acc",
                "oos recall",
                "wrong rate",
                "coverage",
                "clarify",
                "MCC",
            ],
            tablefmt="github",
        )
    return out


def _thin(items: Sequence[Metrics], n: int) -> list[Metrics]:
    if len(items) <= n:
        return list(items)
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]


def plot(
    sweep: Sequence[Metrics], path: Path | str, chosen: float | None = None, title: str = ""
) -> Path:
    """Accuracy, coverage (and oos recall, wrong-answer rate) against the answer threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = [m.answer_threshold for m in sweep]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    series = [
        ("in-scope accuracy", "in_scope_accuracy", "-"),
        ("coverage", "coverage", "-"),
        ("out-of-scope recall", "oos_recall", "--"),
        ("wrong-answer rate", "wrong_answer_rate", ":"),
    ]
    for label, key, style in series:
        y = [getattr(m, key) for m in sweep]
        if any(v is not None for v in y):
            ax.plot(x, [float("nan") if v is None else v for v in y], style, label=label)
    if chosen is not None:
        ax.axvline(chosen, color="grey", linewidth=0.8)
        ax.annotate(
            f"threshold {chosen:.3f}", (chosen, 0.02), rotation=90, fontsize=8, color="grey"
        )
    ax.set_xlabel("answer threshold")
    ax.set_ylabel("rate")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or "tier1 kb eval")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_predictions(
    predictions: Sequence[Prediction], decisions: Sequence[Decision], path: Path | str
) -> Path:
    """One row per query: ``text,label,predicted,score,decision``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label", "predicted", "score", "decision"])
        for p, d in zip(predictions, decisions):
            w.writerow([p.text, p.label, p.predicted or "", f"{p.score:.6f}", d.value])
    return path
