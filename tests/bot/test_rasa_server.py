"""tier1's Rasa launcher: the action-response check is Rasa's, minus re-checking the schema;
Rasa's stages are timed into the stage histogram."""

from __future__ import annotations

import asyncio

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor

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


def test_apply_fixes_replaces_rasas_check_on_remote_actions(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)
    monkeypatch.setattr(RemoteAction, "_action_call_format", RemoteAction._action_call_format)
    rasa_server.apply_fixes()
    action = RemoteAction.__new__(RemoteAction)
    assert action._validate_action_result(VALID) is True
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result(INVALID[0])


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
