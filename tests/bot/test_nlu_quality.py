"""NLU quality on held-out examples of the bot's own data (issue #4: intent F1 >= 0.95).

The full 3-fold cross-validation (benchmarks/nlu_report.py) trains three models and takes
minutes on a loaded 2-core machine, too slow for CI. Instead this trains the shipped pipeline
(config.yml) once on a fixed split of every bot/data/nlu*.yml file -- each fourth example of
every intent is held out -- and parses the held-out examples with the full pipeline,
FallbackClassifier included, as the Rasa server would. A conversational example that falls back
(nlu_fallback goes to the knowledge base) counts as wrong here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HOLD_OUT_EVERY = 4  # every 4th example of each intent: 25 % test, 75 % train
NOT_CONVERSATIONAL = {"ask_question", "choose_article"}  # the KB decides / a button payload
# The cross-validated target is 0.95 per intent (benchmarks/nlu_report.py). One split of 15-25
# held-out examples per intent is noisier (one miss costs ~0.03), hence a floor per intent
# and the target itself on the macro average.
PER_INTENT_FLOOR = 0.90
MACRO_TARGET = 0.95
MAX_FALLBACK_SHARE = 0.05  # conversational turns the FallbackClassifier sends to the KB


def examples() -> dict[str, list[str]]:
    """Every intent's examples over all NLU files, in file order."""
    by_intent: dict[str, list[str]] = {}
    for path in sorted((ROOT / "bot/data").glob("nlu*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block:
                lines = block.get("examples", "").splitlines()
                by_intent.setdefault(block["intent"], []).extend(
                    line[2:].strip() for line in lines if line.startswith("- ")
                )
    return by_intent


def split() -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    train: dict[str, list[str]] = {}
    test: list[tuple[str, str]] = []
    for intent, texts in examples().items():
        for i, text in enumerate(texts):
            if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 and len(texts) >= HOLD_OUT_EVERY:
                test.append((intent, text))
            else:
                train.setdefault(intent, []).append(text)
    return train, test


def f1_per_intent(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """F1 of each true intent from (true, predicted) pairs."""
    true = Counter(t for t, _ in pairs)
    predicted = Counter(p for _, p in pairs)
    hits = Counter(t for t, p in pairs if t == p)
    scores = {}
    for intent in true:
        precision = hits[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = hits[intent] / true[intent]
        total = precision + recall
        scores[intent] = 2 * precision * recall / total if total else 0.0
    return scores


def test_split_holds_out_every_intent_and_is_disjoint():
    train, test = split()
    held = Counter(intent for intent, _ in test)
    conversational = [i for i in train if i not in NOT_CONVERSATIONAL]
    assert len(conversational) >= 12
    assert all(held[i] >= 10 for i in conversational), held
    train_texts = {t.lower() for texts in train.values() for t in texts}
    assert not [t for _, t in test if t.lower() in train_texts]


def test_f1_per_intent_counts_precision_and_recall():
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
    scores = f1_per_intent(pairs)
    assert scores["a"] == pytest.approx(2 / 3)  # precision 1, recall 1/2
    assert scores["b"] == pytest.approx(0.8)  # precision 2/3, recall 1


@pytest.fixture(scope="module")
def held_out_predictions(tmp_path_factory) -> list[tuple[str, str, float]]:
    """(true intent, predicted intent, confidence) of every held-out example."""
    from rasa.core.agent import Agent

    work = tmp_path_factory.mktemp("nlu-quality")
    train, test = split()
    nlu = {
        "version": "3.1",
        "nlu": [
            {"intent": i, "examples": "".join(f"- {t}\n" for t in texts)}
            for i, texts in train.items()
        ],
    }
    (work / "nlu.yml").write_text(yaml.safe_dump(nlu, allow_unicode=True, sort_keys=False))
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "nlu",
            "--config",
            str(ROOT / "config.yml"),
            "--nlu",
            str(work / "nlu.yml"),
            "--domain",
            str(ROOT / "bot/domain.yml"),
            "--out",
            str(work / "models"),
            "--fixed-model-name",
            "split",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    model = work / "models" / "split.tar.gz"
    assert done.returncode == 0 and model.exists(), (done.stdout + done.stderr)[-3000:]
    agent = Agent.load(str(model))

    async def parse_all():
        return [await agent.parse_message(text) for _, text in test]

    results = asyncio.run(parse_all())
    return [
        (intent, r["intent"]["name"], r["intent"]["confidence"])
        for (intent, _), r in zip(test, results)
    ]


def test_conversational_intents_reach_their_f1_floor(held_out_predictions):
    scores = f1_per_intent([(t, p) for t, p, _ in held_out_predictions])
    conversational = {i: s for i, s in scores.items() if i not in NOT_CONVERSATIONAL}
    misses = [(t, p) for t, p, _ in held_out_predictions if t != p]
    low = {i: round(s, 3) for i, s in conversational.items() if s < PER_INTENT_FLOOR}
    assert not low, f"below {PER_INTENT_FLOOR}: {low}; misses: {misses}"
    macro = sum(conversational.values()) / len(conversational)
    assert macro >= MACRO_TARGET, f"macro F1 {macro:.3f}; misses: {misses}"


def test_conversational_turns_rarely_fall_back_to_the_knowledge_base(held_out_predictions):
    conversational = [(t, p) for t, p, _ in held_out_predictions if t not in NOT_CONVERSATIONAL]
    fell_back = [t for t, p in conversational if p == "nlu_fallback"]
    assert len(fell_back) / len(conversational) <= MAX_FALLBACK_SHARE, Counter(fell_back)


def test_held_out_questions_reach_the_knowledge_base(held_out_predictions):
    """A support question read as greet, thanks, yes/no... gets a canned reply, not an answer.

    ask_question, nlu_fallback, chitchat and complain all run action_answer (bot/data/rules.yml).
    """
    to_kb = {"ask_question", "nlu_fallback", "chitchat", "complain"}
    questions = [p for t, p, _ in held_out_predictions if t == "ask_question"]
    assert sum(p in to_kb for p in questions) / len(questions) >= 0.95, Counter(questions)
