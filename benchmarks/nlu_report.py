"""NLU report: per-intent F1 of the bot's own NLU data by cross-validation.

Runs ``rasa test nlu --cross-validation --folds 3`` on bot/data/nlu.yml with the pipeline of
config.yml and prints precision, recall and F1 per intent. Conversational intents (everything
but ask_question, whose job is only to send questions on to the knowledge base, and the
payload-only choose_article) must reach F1 >= 0.95; the exit code is 1 if one does not.

    .venv/bin/python benchmarks/nlu_report.py            # about 1-2 minutes on 2 cores
    .venv/bin/python benchmarks/nlu_report.py --folds 5 --out /tmp/nlu-report
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_F1 = 0.95
# Not conversational: ask_question is deliberately broad (the KB decides), choose_article is
# only ever a button payload.
NOT_CONVERSATIONAL = {"ask_question", "choose_article"}


def cross_validate(folds: int, out: Path) -> dict:
    """Run Rasa's cross-validation and return its intent report (``intent_report.json``)."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "HF_HUB_OFFLINE": "1",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = [sys.executable, "-m", "rasa", "test", "nlu", "--cross-validation",
           "--folds", str(folds), "--nlu", str(ROOT / "bot/data/nlu.yml"),
           "--config", str(ROOT / "config.yml"), "--domain", str(ROOT / "bot/domain.yml"),
           "--out", str(out)]
    done = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True, check=False)
    report = out / "intent_report.json"
    if done.returncode != 0 or not report.exists():
        sys.exit(f"rasa test nlu failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return json.loads(report.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="keep Rasa's reports here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="tier1-nlu-report-"))
    out.mkdir(parents=True, exist_ok=True)
    report = cross_validate(args.folds, out)

    intents = sorted(k for k, v in report.items() if isinstance(v, dict) and "f1-score" in v
                     and k not in ("micro avg", "macro avg", "weighted avg", "accuracy"))
    print(f"NLU cross-validation, {args.folds} folds, bot/data/nlu.yml (reports in {out})")
    print(f"{'intent':24} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>5}  target")
    failing = []
    for name in intents:
        r = report[name]
        conversational = name not in NOT_CONVERSATIONAL
        ok = r["f1-score"] >= TARGET_F1
        if conversational and not ok:
            failing.append(name)
        mark = (">= 0.95 " + ("ok" if ok else "MISSED")) if conversational else "-"
        print(f"{name:24} {r['precision']:9.3f} {r['recall']:7.3f} {r['f1-score']:6.3f} "
              f"{r['support']:5d}  {mark}")
    for avg in ("macro avg", "weighted avg"):
        if avg in report:
            print(f"{avg:24} {report[avg]['precision']:9.3f} {report[avg]['recall']:7.3f} "
                  f"{report[avg]['f1-score']:6.3f}")
    if failing:
        print(f"conversational intents below F1 {TARGET_F1}: {', '.join(failing)}")
        return 1
    print(f"all conversational intents reach F1 >= {TARGET_F1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
