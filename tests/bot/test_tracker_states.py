"""A conversation's dialogue states carried between calls are exactly the ones Rasa replays."""

from __future__ import annotations

import random

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import tracker_states
from bot.tracker_states import StateHistory

pytestmark = [pytest.mark.unit]

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, inform, question, request_human]
entities: [city]
slots:
  city: {type: text, mappings: [{type: from_entity, entity: city}]}
  done: {type: bool, mappings: [{type: custom}]}
  replied: {type: bool, influence_conversation: false, mappings: [{type: custom}]}
forms:
  city_form: {required_slots: [city]}
responses:
  utter_greet: [{text: hi}]
actions: [action_answer, action_handoff]
""")
RULE_ONLY = {"rule_only_slots": ["done"], "rule_only_loops": ["city_form"]}
# Rasa's own replay, whatever is installed on Domain.
rasas = getattr(Domain.states_for_tracker_history, "__wrapped__", Domain.states_for_tracker_history)

ACTIONS = ["action_listen", "action_answer", "action_handoff", "utter_greet", "city_form"]


def _plain_event(rng: random.Random):
    kind = rng.choice(["user", "user", "action", "action", "action", "bot", "slot"])
    if kind == "user":
        intent = rng.choice(["greet", "inform", "question", "request_human"])
        entities = [{"entity": "city", "value": "Paris"}] if rng.random() < 0.3 else []
        return UserUttered(f"text {rng.random():.3f}", {"name": intent, "confidence": 0.9}, entities)
    if kind == "action":
        return ActionExecuted(rng.choice(ACTIONS), hide_rule_turn=rng.random() < 0.3)
    if kind == "bot":
        return BotUttered("answer")
    slot, values = rng.choice([("city", ["Paris", None]), ("done", [True, False]),
                               ("replied", [True, False])])
    return SlotSet(slot, rng.choice(values))


def _special_event(rng: random.Random):
    return rng.choice([
        lambda: ActiveLoop("city_form"),
        lambda: ActiveLoop(None),
        lambda: ActionReverted(),
        lambda: UserUtteranceReverted(),
        lambda: Restarted(),
        lambda: SessionStarted(),
        lambda: FollowupAction("action_answer"),
    ])()


def _conversation(seed: int, length: int = 120, special: float = 0.05):
    rng = random.Random(seed)
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for _ in range(length):
        events.append(_special_event(rng) if rng.random() < special else _plain_event(rng))
    return events


def _args(ignore_rule_only_turns: bool) -> dict:
    return {"ignore_rule_only_turns": ignore_rule_only_turns,
            "rule_only_data": RULE_ONLY if ignore_rule_only_turns else None}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ignore_rule_only_turns", [False, True])
@pytest.mark.parametrize("special", [0.0, 0.05])
def test_every_prefix_of_a_growing_conversation_has_rasas_states(seed, ignore_rule_only_turns, special):
    history = StateHistory()
    tracker = DialogueStateTracker("user-1", DOMAIN.slots)
    for event in _conversation(seed, special=special):
        tracker.update(event)
        args = _args(ignore_rule_only_turns)
        assert history.states(DOMAIN, tracker, **args) == rasas(DOMAIN, tracker, **args)


def test_a_growing_plain_conversation_replays_only_its_new_events(monkeypatch):
    history = StateHistory()
    tracker = DialogueStateTracker("user-1", DOMAIN.slots)
    for event in _conversation(1, length=30, special=0):
        tracker.update(event)
    history.states(DOMAIN, tracker)
    (replay,) = history._replays.values()
    replaying = replay.tracker
    replayed = []
    monkeypatch.setattr(replaying, "update", lambda event: replayed.append(event))
    monkeypatch.setattr(tracker, "applied_events", lambda: pytest.fail("read the whole history"))

    new = [UserUttered("how do I pay?", {"name": "question", "confidence": 1.0}),
           ActionExecuted("action_answer"), BotUttered("like this"), SlotSet("replied", True)]
    for event in new:
        DialogueStateTracker.update(tracker, event)
    history.states(DOMAIN, tracker)

    assert replayed == new
    assert history._replays[next(iter(history._replays))].tracker is replaying


def test_a_tracker_read_again_or_rewound_is_replayed_from_the_start():
    history = StateHistory()
    events = _conversation(2, length=40, special=0)
    tracker = DialogueStateTracker.from_events("user-1", events, DOMAIN.slots)
    history.states(DOMAIN, tracker)

    reread = DialogueStateTracker.from_events("user-1", events[:-5], DOMAIN.slots)  # equal, not same
    assert history.states(DOMAIN, reread) == rasas(DOMAIN, reread)
    tracker.update(UserUtteranceReverted())
    assert history.states(DOMAIN, tracker) == rasas(DOMAIN, tracker)
    other_domain = Domain.from_dict(DOMAIN.as_dict())
    assert history.states(other_domain, tracker) == rasas(other_domain, tracker)


def test_callers_editing_the_states_do_not_change_the_next_answer():
    history = StateHistory()
    tracker = DialogueStateTracker.from_events("user-1", _conversation(3, length=40), DOMAIN.slots)
    expected = rasas(DOMAIN, tracker)
    for state in history.states(DOMAIN, tracker):  # what Rasa's featurizers do to the last inputs
        for sub_state in state.values():
            sub_state.clear()
    assert history.states(DOMAIN, tracker) == expected


def test_the_least_recently_used_conversations_are_dropped():
    history = StateHistory(size=2)
    for sender in ["a", "b", "c"]:
        history.states(DOMAIN, DialogueStateTracker.from_events(sender, _conversation(4, 10), DOMAIN.slots))
    assert len(history) == 2
    assert {key[0] for key in history._replays} == {"b", "c"}


def test_install_routes_rasas_past_states_through_the_history(monkeypatch):
    monkeypatch.setattr(Domain, "states_for_tracker_history", rasas)
    history = StateHistory()
    tracker_states.install(history)
    tracker_states.install()  # idempotent: the first history stays
    tracker = DialogueStateTracker.from_events("user-1", _conversation(5, 60), DOMAIN.slots)

    assert tracker.past_states(DOMAIN, **_args(True)) == rasas(DOMAIN, tracker, **_args(True))
    assert len(history) == 1
