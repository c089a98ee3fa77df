"""tier1's Rasa launcher: the action-response check is Rasa's, minus re-checking the schema;
Rasa's stages are timed into the stage histogram."""

from __future__ import annotations

import asyncio

import jsonschema
import numpy as np
import pytest
import scipy.sparse
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression

from bot import rasa_server
from bot.tracker_store import PooledSQLTrackerStore

pytestmark = [pytest.mark.unit]

VALID = {
    "events": [{"event": "slot", "name": "kb_hits", "value": [{"article_id": 1}]}],
    "responses": [{"text": "Here is how.", "custom": {"source": {"article_id": 1}}}],
}
INVALID = [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": [1, 2]},
]


def test_valid_action_responses_pass_as_with_rasa():
    jsonschema.validate(VALID, RemoteAction.action_response_format_spec())  # Rasa's own check
    assert rasa_server.validate_action_result(VALID) is True
    assert rasa_server.validate_action_result({}) is True


@pytest.mark.parametrize("bad", INVALID)
def test_invalid_action_responses_fail_as_with_rasa(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        rasa_server.validate_action_result(bad)


def _responses() -> list:
    """Every event type, valid and broken, alone and mixed: what the two checks must agree on."""
    spec = RemoteAction.action_response_format_spec()
    names = [b["properties"]["event"]["const"] for b in spec["properties"]["events"]["items"]["oneOf"]]
    good = [
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 1}}},
        {"event": "slot", "name": "failures", "value": 2, "timestamp": None},
        {"event": "action", "name": "action_listen", "confidence": 0.9},
        {"event": "bot", "text": "Hello", "metadata": {"x": 1}},
        {"event": "entities", "entities": [{"entity": "article_id", "value": "3"}]},
    ] + [{"event": name} for name in names if name not in ("slot", "entities")]
    bad = [
        {"event": "user", "text": 5},
        {"event": "user", "parse_data": {"entities": [{"entity": "e"}]}},  # no value
        {"event": "slot", "value": 1},  # no name
        {"event": "action", "confidence": "high"},
        {"event": "entities", "entities": [{"start": "0"}]},
        {"event": "bot", "timestamp": "yesterday"},
        {"event": "no_such_event"},
        {"event": 7},
        {"name": "no event key"},
        "not an object",
    ]
    out = [{"events": [e]} for e in good + bad]
    out += [{"events": good}, {"events": [*good, bad[0]]}, {"events": []}, {}]
    out += [{"events": [good[0]], "responses": [{"text": "a"}]}, {"responses": [1, 2]}]
    return out


def test_the_fast_check_accepts_exactly_what_rasas_schema_accepts():
    assert rasa_server._event_validators() is not None  # the fast path runs on this Rasa
    full = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())(
        RemoteAction.action_response_format_spec())
    responses = _responses()
    verdicts = [(full.is_valid(r), rasa_server._is_valid_fast(r)) for r in responses]
    assert [f for f, _ in verdicts].count(True) >= 25 and [f for f, _ in verdicts].count(False) >= 10
    assert [fast for _, fast in verdicts] == [f for f, _ in verdicts]


@pytest.fixture()
def unpatched(monkeypatch):
    """`apply_fixes` patches Rasa's classes; they are restored after the test."""
    for cls, name in [(RemoteAction, "_validate_action_result"),
                      (RemoteAction, "_action_call_format"),
                      (LogisticRegressionClassifier, "_create_X"),
                      (Domain, "states_for_tracker_history")]:
        monkeypatch.setattr(cls, name, cls.__dict__[name])


def test_apply_fixes_replaces_rasas_check_on_remote_actions(unpatched):
    rasa_server.apply_fixes()
    action = RemoteAction.__new__(RemoteAction)
    assert action._validate_action_result(VALID) is True
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result(INVALID[0])
    assert Domain.states_for_tracker_history.__tier1_fixed__


def _featurized(rng: np.random.Generator, text: str) -> Message:
    """A message with the features of tier1's pipeline: three sparse featurizers, one dense."""
    message = Message(data={TEXT: text})
    for origin, width in [("regex", 3), ("words", 40), ("chars", 120)]:
        sentence = scipy.sparse.random(1, width, density=0.2, random_state=rng, format="coo")
        sequence = scipy.sparse.random(4, width, density=0.2, random_state=rng, format="coo")
        message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, TEXT, origin))
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, TEXT, origin))
    message.add_features(Features(rng.normal(size=(1, 16)), FEATURE_TYPE_SENTENCE, TEXT, "dense"))
    message.add_features(Features(rng.normal(size=(1, 8)), FEATURE_TYPE_SENTENCE, "intent", "x"))
    return message


def test_intent_rows_are_rasas_classifier_input_made_dense():
    rng = np.random.default_rng(3)
    messages = [_featurized(rng, f"question {i}") for i in range(5)]
    rasas = LogisticRegressionClassifier.__dict__["_create_X"]
    if getattr(rasas, "__tier1_fixed__", False):
        rasas = rasas.__wrapped__
    expected = rasas(None, messages).toarray()
    rows = rasa_server.intent_rows(messages)
    assert rows.shape == expected.shape == (5, 3 + 40 + 120 + 16)
    np.testing.assert_array_equal(rows, expected)
    assert rasa_server.intent_rows([Message(data={TEXT: "no features"})]) is None


def test_the_fixed_classifier_gives_rasas_intents_and_confidences(unpatched):
    rng = np.random.default_rng(4)
    train = [_featurized(rng, f"t{i}") for i in range(60)]
    classifier = LogisticRegressionClassifier.__new__(LogisticRegressionClassifier)
    classifier.config = {"ranking_length": 3}
    x, y = classifier._create_X(train), [f"intent_{i % 4}" for i in range(60)]
    classifier.clf = LogisticRegression(max_iter=200).fit(x, y)

    def ranked(fixed: bool):
        if fixed:
            rasa_server.apply_fixes()
        messages = [_featurized(np.random.default_rng(5), "a question")]
        classifier.process(messages)
        return messages[0].get("intent"), messages[0].get("intent_ranking")

    (intent, ranking), (fixed_intent, fixed_ranking) = ranked(False), ranked(True)
    assert LogisticRegressionClassifier._create_X.__tier1_fixed__
    assert fixed_intent["name"] == intent["name"] and len(fixed_ranking) == 3
    assert [r["name"] for r in fixed_ranking] == [r["name"] for r in ranking]
    np.testing.assert_allclose([r["confidence"] for r in fixed_ranking],
                               [r["confidence"] for r in ranking], rtol=1e-12)
    assert classifier._create_X(train).shape == x.shape and scipy.sparse.issparse(
        classifier._create_X(train))  # training keeps Rasa's sparse path


def test_instrument_times_each_stage_once(monkeypatch):
    for cls, name in [(MessageProcessor, "handle_message"), (MessageProcessor, "parse_message"),
                      (MessageProcessor, "_predict_next_with_tracker"),
                      (PooledSQLTrackerStore, "retrieve"), (PooledSQLTrackerStore, "save"),
                      (RemoteAction, "run")]:
        monkeypatch.setattr(cls, name, cls.__dict__[name])
    seen: list[tuple[str, float]] = []

    async def fake_retrieve(self, sender_id):
        await asyncio.sleep(0.01)
        return sender_id

    monkeypatch.setattr(PooledSQLTrackerStore, "retrieve", fake_retrieve)
    rasa_server.instrument(lambda stage, seconds: seen.append((stage, seconds)))
    rasa_server.instrument(lambda stage, seconds: seen.append(("twice", seconds)))  # no-op
    store = PooledSQLTrackerStore.__new__(PooledSQLTrackerStore)
    assert asyncio.run(store.retrieve("c1")) == "c1"
    assert [s for s, _ in seen] == ["rasa_tracker_load"]
    assert seen[0][1] >= 0.01
    assert getattr(MessageProcessor.parse_message, "__tier1_timed__", False)
    assert getattr(MessageProcessor._predict_next_with_tracker, "__tier1_timed__", False)
