"""NLU report: per-intent F1 of the bot's own NLU data by cross-validation.

Runs ``rasa test nlu --cross-validation`` (3 folds by default) on every NLU file of bot/data
(``nlu*.yml``) with the pipeline of config.yml and prints precision, recall and F1 per intent,
the macro F1 of the conversational intents and the most frequent confusions. Conversational
intents (everything but ask_question, whose job is only to send questions on to the knowledge
base, and the payload-only choose_article) must each reach F1 >= 0.95; the exit code is 1 if
one does not. Rasa's evaluation undoes FallbackClassifier predictions, so this measures the
intent classifier itself (tests/bot/test_nlu_quality.py checks the fallback share).

    .venv/bin/python benchmarks/nlu_report.py            # about 1-3 minutes on 2 cores
    .venv/bin/python benchmarks/nlu_report.py --folds 5 --seed 1 --out /tmp/nlu-report
    .venv/bin/python benchmarks/nlu_report.py --config /tmp/other-pipeline.yml
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "bot/data"
TARGET_F1 = 0.95
# Not conversational: ask_question is deliberately broad (the KB decides), choose_article is
# only ever a button payload.
NOT_CONVERSATIONAL = {"ask_question", "choose_article"}
AVERAGES = ("micro avg", "macro avg", "weighted avg", "accuracy")


def nlu_files(data_dir: Path = DATA_DIR) -> list[Path]:
    """Every NLU training file of the bot (``nlu*.yml``), sorted.

    Raises:
        SystemExit: there is none.
    """
    files = sorted(data_dir.glob("nlu*.yml"))
    if not files:
        sys.exit(f"no NLU files (nlu*.yml) in {data_dir}; run from a tier1 checkout")
    return files


# Rasa draws its folds with StratifiedKFold(shuffle=True) and no random_state, i.e. from numpy's
# global generator: seeding it before Rasa starts makes a run reproducible, and different seeds
# show how much the numbers move with the split.
_SEEDED_RASA = (
    "import sys, numpy; numpy.random.seed(int(sys.argv[1])); "
    "from rasa.__main__ import main; sys.argv = ['rasa', *sys.argv[2:]]; main()"
)


def cross_validate(folds: int, config: Path, files: list[Path], out: Path, seed: int) -> dict:
    """Run Rasa's cross-validation on `files` and return its intent report (``intent_report.json``)."""
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    for f in files:  # rasa test nlu takes one path: a directory holding just the NLU files
        shutil.copy(f, data / f.name)
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    cmd = [
        sys.executable,
        "-c",
        _SEEDED_RASA,
        str(seed),
        "test",
        "nlu",
        "--cross-validation",
        "--folds",
        str(folds),
        "--nlu",
        str(data),
        "--config",
        str(config),
        "--domain",
        str(ROOT / "bot/domain.yml"),
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True, check=False)
    report = out / "intent_report.json"
    if done.returncode != 0 or not report.exists():
        sys.exit(
            f"rasa test nlu failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
        )
    return json.loads(report.read_text())


def confusions(out: Path, top: int) -> list[tuple[tuple[str, str], int]]:
    """The most frequent (true intent, predicted intent) pairs among the errors."""
    errors_file = out / "intent_errors.json"
    if not errors_file.exists():
        return []
    errors = json.loads(errors_file.read_text())
    pairs = collections.Counter(
        (e["intent"], (e.get("intent_prediction") or {}).get("name")) for e in errors
    )
    return pairs.most_common(top)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: .venv/bin/python benchmarks/nlu_report.py --folds 3",
    )
    parser.add_argument("--folds", type=int, default=3, help="cross-validation folds (default 3)")
    parser.add_argument(
        "--config",
        type=Path,
        default=ROOT / "config.yml",
        help="Rasa config with the pipeline to evaluate (default config.yml)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the fold split (default 0; same seed, same folds)",
    )
    parser.add_argument("--out", type=Path, default=None, help="keep Rasa's reports here")
    args = parser.parse_args()
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    if not args.config.is_file():
        parser.error(f"--config {args.config} does not exist")
    out = args.out or Path(tempfile.mkdtemp(prefix="tier1-nlu-report-"))
    out.mkdir(parents=True, exist_ok=True)
    files = nlu_files()
    started = time.perf_counter()
    report = cross_validate(args.folds, args.config.resolve(), files, out, args.seed)
    seconds = time.perf_counter() - started

    intents = sorted(
        k
        for k, v in report.items()
        if isinstance(v, dict) and "f1-score" in v and k not in AVERAGES
    )
    names = ", ".join(str(f.relative_to(ROOT)) for f in files)
    print(
        f"NLU cross-validation, {args.folds} folds (seed {args.seed}), {names}, "
        f"config {args.config}"
    )
    print(f"({seconds:.0f} s; Rasa's reports in {out})")
    print(f"{'intent':24} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>5}  target")
    failing, conversational_f1 = [], []
    for name in intents:
        r = report[name]
        conversational = name not in NOT_CONVERSATIONAL
        ok = r["f1-score"] >= TARGET_F1
        if conversational:
            conversational_f1.append(r["f1-score"])
            if not ok:
                failing.append(name)
        mark = (f">= {TARGET_F1} " + ("ok" if ok else "MISSED")) if conversational else "-"
        print(
            f"{name:24} {r['precision']:9.3f} {r['recall']:7.3f} {r['f1-score']:6.3f} "
            f"{r['support']:5d}  {mark}"
        )
    for avg in ("macro avg", "weighted avg"):
        if avg in report:
            print(
                f"{avg + ' (all)':24} {report[avg]['precision']:9.3f} "
                f"{report[avg]['recall']:7.3f} {report[avg]['f1-score']:6.3f}"
            )
    if conversational_f1:
        macro = sum(conversational_f1) / len(conversational_f1)
        print(
            f"{'macro F1, conversational':24} {'':9} {'':7} {macro:6.3f}  "
            f"(min {min(conversational_f1):.3f})"
        )
    top = confusions(out, 8)
    if top:
        print(
            "most frequent confusions (true -> predicted: count): "
            + ", ".join(f"{t} -> {p}: {n}" for (t, p), n in top)
        )
    if failing:
        print(f"conversational intents below F1 {TARGET_F1}: {', '.join(failing)}")
        return 1
    print(f"all conversational intents reach F1 >= {TARGET_F1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
