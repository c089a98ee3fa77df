"""The trained Rasa model: NLU tells small talk from support questions; rules route each turn.

Trains once (cached by fingerprint in ROOT/models, shared with the e2e tests) and loads the
model into an in-process `Agent`. Custom actions do not run here: dialogue tests check which
action the policies predict, and add the events the actions would return.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import yaml

from bot.training import ensure_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

# Support questions of many kinds that are NOT in bot/data/nlu.yml.
UNSEEN_QUESTIONS = [
    "how do I change my delivery address",
    "my card was charged twice",
    "can I pause my subscription for a month",
    "the app crashes when I open the camera",
    "where can I download last month's invoice",
    "is there a student discount",
    "why hasn't my parcel arrived yet",
    "I forgot the email I signed up with",
    "how long does a refund take to show on my statement",
    "what payment methods do you accept",
    "does it integrate with google calendar",
    "hi, how do I reset my password",
]
ROUTED_TO_ANSWER = {"ask_question", "nlu_fallback"}


@pytest.fixture(scope="module")
def agent():
    from rasa.core.agent import Agent

    model = ensure_model(ROOT, ROOT / "models", log=lambda line: None)
    return Agent.load(str(model))


def parse(agent, text: str) -> dict:
    return asyncio.run(agent.parse_message(text))


def training_examples() -> set[str]:
    data = yaml.safe_load((ROOT / "bot/data/nlu.yml").read_text())
    return {
        line[2:].strip().lower()
        for block in data["nlu"]
        for line in block.get("examples", "").splitlines()
        if line.startswith("- ")
    }


def test_unseen_questions_really_are_unseen():
    seen = training_examples()
    assert len(seen) > 100
    assert not [q for q in UNSEEN_QUESTIONS if q.lower() in seen]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello", "greet"),
        ("good morning!", "greet"),
        ("I want to talk to a human", "request_human"),
        ("can I speak to a real person", "request_human"),
        ("thanks a lot", "thanks"),
        ("bye for now", "goodbye"),
        ("are you a bot?", "bot_challenge"),
        ("yes please", "affirm"),
        ("no thanks", "deny"),
        ("that was really helpful", "feedback_helpful"),
        ("that didn't help at all", "feedback_not_helpful"),
        ("none of those", "none_of_these"),
        ("tell me a joke", "chitchat"),
        ("this bot is completely useless", "complain"),
    ],
)
def test_conversational_intents(agent, text, intent):
    assert parse(agent, text)["intent"]["name"] == intent


@pytest.mark.parametrize("question", UNSEEN_QUESTIONS)
def test_unseen_support_questions_go_to_the_knowledge_base(agent, question):
    result = parse(agent, question)
    assert result["intent"]["name"] in ROUTED_TO_ANSWER, result["intent_ranking"][:3]


def test_clarify_button_payload_carries_the_article_id(agent):
    result = parse(agent, '/choose_article{"article_id":"12"}')
    assert result["intent"]["name"] == "choose_article"
    assert [(e["entity"], e["value"]) for e in result["entities"]] == [("article_id", "12")]


# --- dialogue: which action the policies pick ----------------------------------------------


def session_start():
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]


def best_action(agent, tracker) -> str:
    prediction = agent.predict_next_with_tracker(tracker)
    return max(prediction["scores"], key=lambda s: s["score"])["action"]


def say(agent, text: str, before: list | None = None):
    """Log `text` as Rasa's processor would (NLU, slot extraction) after `before` events."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.shared.core.trackers import DialogueStateTracker

    sender = uuid.uuid4().hex

    async def go():
        history = DialogueStateTracker.from_events(
            sender, [*session_start(), *(before or [])], slots=agent.domain.slots
        )
        await agent.tracker_store.save(history)
        tracker = await agent.processor.log_message(
            UserMessage(text, sender_id=sender), should_save_tracker=False
        )
        return await agent.processor.run_action_extract_slots(CollectingOutputChannel(), tracker)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("hello", "utter_greet"),
        ("goodbye", "utter_goodbye"),
        ("are you a robot", "utter_iamabot"),
        ("tell me a joke", "action_answer"),  # the KB may know; else small talk
        ("thank you so much", "action_reply"),
        ("yes", "action_reply"),
        ("no", "action_reply"),
        ("/feedback_helpful", "action_reply"),
        ("/feedback_not_helpful", "action_reply"),
        ("/none_of_these", "action_reply"),
        ("I want to talk to a human", "action_handoff"),
        ("/request_human", "action_handoff"),
        ("how do I change my delivery address", "action_answer"),
        ("you are useless", "action_answer"),  # screened for frustration
        ("qwxz plomf", "action_answer"),  # whatever NLU makes of it, the KB gets a chance
    ],
)
def test_each_turn_is_routed(agent, text, action):
    assert best_action(agent, say(agent, text)) == action


def test_every_user_message_marks_the_turn_unanswered(agent):
    assert say(agent, "hello").get_slot("replied") is False
    assert say(agent, "/feedback_helpful").get_slot("replied") is False


def test_nlu_fallback_goes_to_action_answer(agent):
    from rasa.shared.core.events import UserUttered

    tracker = say(agent, "hello")
    tracker.update(UserUttered("zzz", intent={"name": "nlu_fallback", "confidence": 0.4}))
    assert best_action(agent, tracker) == "action_answer"


def test_choosing_an_article_sets_the_slot_and_answers(agent):
    tracker = say(agent, '/choose_article{"article_id":"7"}')
    assert tracker.get_slot("article_id") == "7"
    assert best_action(agent, tracker) == "action_answer"


def test_a_request_for_a_person_mid_clarification_hands_off(agent):
    from rasa.shared.core.events import ActionExecuted, SlotSet

    before = [
        *user("money back", "ask_question"),
        ActionExecuted("action_answer"),
        SlotSet("awaiting", "clarify"),
        SlotSet("replied", True),
        ActionExecuted("action_listen"),
    ]
    assert best_action(agent, say(agent, "let me talk to a person", before)) == "action_handoff"


def user(text: str, intent: str) -> list:
    from rasa.shared.core.events import SlotSet, UserUttered

    return [UserUttered(text, intent={"name": intent, "confidence": 0.9}), SlotSet("replied", False)]


@pytest.mark.parametrize("action", ["action_answer", "action_reply", "action_handoff"])
def test_after_a_custom_action_replied_the_bot_listens(agent, action):
    from rasa.shared.core.events import ActionExecuted, SlotSet

    tracker = say(agent, "my card was charged twice")
    tracker.update(ActionExecuted(action))
    tracker.update(SlotSet("replied", True))
    assert best_action(agent, tracker) == "action_listen"


@pytest.mark.parametrize(
    ("text", "action", "apology"),
    [
        ("my card was charged twice", "action_answer", "utter_technical_problem"),
        ("/feedback_not_helpful", "action_reply", "utter_technical_problem"),
        ("agent please", "action_handoff", "utter_cannot_connect"),
    ],
)
def test_a_failed_custom_action_is_followed_by_an_apology(agent, text, action, apology):
    """The action server is down: Rasa logs the action without events; never silence."""
    from rasa.shared.core.events import ActionExecuted

    tracker = say(agent, text)
    tracker.update(ActionExecuted(action))  # no events: the slot `replied` is still False
    assert best_action(agent, tracker) == apology
    tracker.update(ActionExecuted(apology))
    assert best_action(agent, tracker) == "action_listen"


def test_a_followup_handoff_that_failed_is_followed_by_an_apology(agent):
    from rasa.shared.core.events import ActionExecuted, SlotSet

    tracker = say(agent, "who won the 1966 world cup")
    tracker.update(ActionExecuted("action_answer"))
    tracker.update(SlotSet("handoff_reason", "low_confidence"))
    tracker.update(ActionExecuted("action_handoff"))  # the action server died in between
    assert best_action(agent, tracker) == "utter_cannot_connect"


def test_after_hand_back_a_question_is_answered_again(agent):
    from rasa.shared.core.events import (
        ActionExecuted,
        ConversationPaused,
        ConversationResumed,
        SlotSet,
    )

    before = [
        *user("who won the world cup", "ask_question"),
        ActionExecuted("action_answer"),
        ActionExecuted("action_handoff"),
        ConversationPaused(),
        SlotSet("replied", True),
        # the gateway's hand-back (handoff.rasa_client.RESUME_EVENTS)
        ConversationResumed(),
        ActionExecuted("action_listen"),
    ]
    tracker = say(agent, "how do I change my delivery address", before)
    assert not tracker.is_paused()
    assert best_action(agent, tracker) == "action_answer"


def test_session_survives_a_long_handoff(agent):
    config = agent.domain.session_config
    assert config.carry_over_slots is True
    assert config.session_expiration_time >= 8 * 60
