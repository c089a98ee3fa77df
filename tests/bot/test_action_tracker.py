"""What Rasa sends the action server (bot/action_tracker.py): recent events only, and what the
actions read from them is what they would read from every event."""

from __future__ import annotations

import random

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.constants import SESSION_START_METADATA_SLOT
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import AnySlot
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker

from bot import action_tracker, rasa_server, search_handover
from bot.actions.tracker_view import earlier_user_texts, last_user_text

pytestmark = [pytest.mark.unit]

RESULT = {"decision": "answer", "hits": [{"article_id": 1, "title": "t", "answer": "a " * 200,
                                          "score": 0.9}]}


def user(text: str) -> UserUttered:
    metadata = {"channel": "widget", **search_handover.pack(text, RESULT)}
    return UserUttered(text, {"name": "ask_question", "confidence": 0.9}, metadata=metadata)


def conversation(steps: list[str]) -> DialogueStateTracker:
    """A tracker from steps: a text (typed or a /payload), or "resume", "session", "restart"."""
    tracker = DialogueStateTracker("conv-1", slots=[AnySlot("failures", mappings=[])])
    for step in steps:
        if step == "resume":
            tracker.update(ConversationPaused())
            tracker.update(ConversationResumed())
        elif step == "session":
            tracker.update(ActionExecuted("action_session_start"))
            tracker.update(SessionStarted())
        elif step == "restart":
            tracker.update(Restarted())
        else:
            tracker.update(ActionExecuted("action_listen"))
            tracker.update(user(step))
            tracker.update(ActionExecuted("action_answer"))
            tracker.update(BotUttered("an answer"))
            tracker.update(SlotSet("failures", 0))
    return tracker


def sdk(state: dict) -> Tracker:
    return Tracker.from_dict(state)


def random_steps(rng: random.Random) -> list[str]:
    choices = ["typed", "typed", "typed", "/affirm", "/deny", "  ", "resume", "session", "restart"]
    steps = []
    for i in range(rng.randint(1, 30)):
        kind = rng.choice(choices)
        steps.append(f"question {i}?" if kind == "typed" else kind)
    return steps


@pytest.mark.parametrize("seed", range(60))
def test_the_actions_read_the_same_from_recent_events_as_from_all(seed):
    tracker = conversation(random_steps(random.Random(seed)))
    everything = sdk(tracker.current_state(EventVerbosity.ALL))
    recent = sdk(action_tracker.tracker_state(tracker))
    assert last_user_text(recent) == last_user_text(everything)
    for limit in range(1, 6):
        assert earlier_user_texts(recent, limit) == earlier_user_texts(everything, limit)
    assert recent.slots == everything.slots
    assert recent.latest_message == everything.latest_message


def test_a_long_conversation_sends_a_bounded_request():
    short = action_tracker.tracker_state(conversation([f"question {i}" for i in range(6)]))
    long = action_tracker.tracker_state(conversation([f"question {i}" for i in range(60)]))
    assert len(long["events"]) == len(short["events"]) <= 6 * 5 + 1


def test_handed_over_results_stay_in_the_latest_message_only():
    tracker = conversation(["first question", "second question"])
    state = action_tracker.tracker_state(tracker)
    assert search_handover.take(state["latest_message"]["metadata"], "second question") == RESULT
    users = [e for e in state["events"] if e["event"] == "user"]
    assert [e["metadata"] for e in users] == [{"channel": "widget"}] * 2
    assert all(search_handover.METADATA_KEY not in e["parse_data"]["metadata"] for e in users)
    # Rasa's own events (stored in the tracker store) are left as they were
    assert search_handover.METADATA_KEY in tracker.events[-4].metadata


def test_rasa_calls_the_action_server_with_recent_events_and_without_the_domain(monkeypatch):
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    monkeypatch.setattr(RemoteAction, "_action_call_format", RemoteAction._action_call_format)
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)
    rasa_server.apply_fixes()
    tracker = conversation([f"question {i}" for i in range(20)])
    domain = Domain.from_dict({"actions": ["action_answer"]})
    selective = RemoteAction("action_answer", EndpointConfig(
        "http://actions.invalid/webhook", enable_selective_domain=True))
    call = selective._action_call_format(tracker, domain)
    assert call["next_action"] == "action_answer" and call["sender_id"] == "conv-1"
    assert call["tracker"] == action_tracker.tracker_state(tracker)
    assert "domain" not in call
    plain = RemoteAction("action_answer", EndpointConfig("http://actions.invalid/webhook"))
    assert plain._action_call_format(tracker, domain)["domain"] == domain.as_dict()

def test_the_session_start_slot_goes_without_the_first_messages_search():
    # Rasa fills session_started_metadata from a session's first message, handover included.
    tracker = conversation(["first question"])
    first = tracker.events[-4].metadata
    tracker.slots[SESSION_START_METADATA_SLOT] = AnySlot(SESSION_START_METADATA_SLOT, mappings=[])
    tracker.update(SlotSet(SESSION_START_METADATA_SLOT, first))
    state = action_tracker.tracker_state(tracker)
    assert state["slots"][SESSION_START_METADATA_SLOT] == {"channel": "widget"}
    assert search_handover.METADATA_KEY in tracker.get_slot(SESSION_START_METADATA_SLOT)
