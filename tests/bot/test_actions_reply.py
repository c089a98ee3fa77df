"""`action_reply`: yes/no, feedback and "none of these" read in the light of the last question."""

from __future__ import annotations

import pytest

from bot.actions import ActionReply
from bot.actions.dialogue import LEAD_IN
from bot.actions.reply import (
    AFFIRM_MESSAGE,
    DENY_MESSAGE,
    HELPFUL_MESSAGE,
    NONE_OF_THESE_MESSAGE,
    NOT_HELPFUL_MESSAGE,
    OFFER_DECLINED_MESSAGE,
    THANKS_MESSAGE,
    WHICH_ONE_MESSAGE,
)
from bot.escalation import HandoffReason
from tests.bot import test_actions as base
from tests.bot.test_actions import (
    configure,
    followup,
    handed_off,
    offer_slots,
    offered,
    run,
    slot,
    texts,
    tracker,
)

pytestmark = pytest.mark.unit

# The fake app server and config of the action tests.
app = base.app
config_path = base.config_path


def reply(text: str, intent: str, **slots):
    return run(ActionReply(), tracker(text, intent=intent, slots=slots))


# -- "Shall I connect you to a person?" ----------------------------------------------------------


@pytest.mark.parametrize("text", ["/affirm", "yes please"])
def test_yes_to_an_offer_hands_off_with_the_offered_reason(app, text):
    messages, events = reply(
        text, "affirm", awaiting="offer", offer_reason="negative_feedback", failures=1
    )
    assert messages == []
    handed_off(events, "negative_feedback")
    assert slot(events, "awaiting") is None and slot(events, "offer_reason") is None


def test_yes_keeps_what_fired_the_trigger_for_the_agent(app):
    _, events = reply(
        "/affirm",
        "affirm",
        awaiting="offer",
        offer_reason="frustration",
        handoff_detail="said 'useless'",
    )
    assert slot(events, "handoff_detail") == "said 'useless'"


def test_no_to_an_offer_carries_on(app):
    messages, events = reply(
        "/deny", "deny", awaiting="offer", offer_reason="frustration", failures=1
    )
    assert texts(messages) == [OFFER_DECLINED_MESSAGE]
    assert followup(events) is None
    assert slot(events, "awaiting") is None and slot(events, "failures") == 1


# -- "Did this help?" -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "message"),
    [
        ("/feedback_helpful", "feedback_helpful", HELPFUL_MESSAGE),
        ("yes", "affirm", HELPFUL_MESSAGE),
        ("thanks!", "thanks", THANKS_MESSAGE),
    ],
)
def test_positive_feedback_resets_the_failure_count(app, text, intent, message):
    messages, events = reply(text, intent, awaiting="feedback", failures=1)
    assert texts(messages) == [message]
    assert slot(events, "failures") == 0 and slot(events, "replied") is True


@pytest.mark.parametrize(
    ("text", "intent"), [("/feedback_not_helpful", "feedback_not_helpful"), ("no", "deny")]
)
def test_not_helpful_offers_a_person(app, text, intent):
    messages, events = reply(text, intent, awaiting="feedback")
    assert offered(messages, HandoffReason.NEGATIVE_FEEDBACK)
    offer_slots(events, "negative_feedback")
    assert slot(events, "failures") == 1


def test_second_failure_in_a_row_hands_off(app):
    messages, events = reply(
        "/feedback_not_helpful", "feedback_not_helpful", awaiting="feedback", failures=1
    )
    assert texts(messages) == [LEAD_IN[HandoffReason.CONSECUTIVE_FAILURES]]
    handed_off(events, "consecutive_failures")


def test_not_helpful_without_negative_feedback_trigger_asks_to_rephrase(app, config_path):
    configure(config_path, {"negative_feedback": {"enabled": False}})
    messages, events = reply("/feedback_not_helpful", "feedback_not_helpful", awaiting="feedback")
    assert texts(messages) == [NOT_HELPFUL_MESSAGE]
    assert slot(events, "failures") == 1 and followup(events) is None


def test_negative_feedback_can_hand_off_at_once(app, config_path):
    configure(config_path, {"negative_feedback": {"ask_first": False}})
    _, events = reply("/feedback_not_helpful", "feedback_not_helpful", awaiting="feedback")
    handed_off(events, "negative_feedback")


# -- clarify --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "intent"), [("/none_of_these", "none_of_these"), ("no", "deny")])
def test_none_of_these_is_a_failure_not_a_handoff(app, text, intent):
    messages, events = reply(text, intent, awaiting="clarify")
    assert texts(messages) == [NONE_OF_THESE_MESSAGE]
    assert slot(events, "failures") == 1 and followup(events) is None


def test_none_of_these_after_a_failure_hands_off(app):
    _, events = reply("/none_of_these", "none_of_these", awaiting="clarify", failures=1)
    handed_off(events, "consecutive_failures")


def test_yes_to_a_clarify_question_asks_which_one(app):
    messages, events = reply("yes", "affirm", awaiting="clarify")
    assert texts(messages) == [WHICH_ONE_MESSAGE] and slot(events, "awaiting") == "clarify"


# -- no open question, and screening --------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "message"), [("affirm", AFFIRM_MESSAGE), ("deny", DENY_MESSAGE)]
)
def test_plain_yes_and_no(app, intent, message):
    messages, events = reply("ok" if intent == "affirm" else "nope", intent, failures=1)
    assert texts(messages) == [message] and slot(events, "failures") == 1


def test_typed_replies_are_screened_too(app):
    messages, events = reply("NO THAT IS COMPLETELY WRONG", "deny", awaiting="feedback")
    assert offered(messages, HandoffReason.FRUSTRATION)
    _, events = reply("no, I want to make a complaint", "deny", awaiting="feedback")
    handed_off(events, "sensitive_topic")
