"""The escalation policy (bot/escalation.py) on its own: no Rasa, no I/O."""

from __future__ import annotations

import pytest

from bot.escalation import (
    EscalationPolicy,
    EscalationSettings,
    Failure,
    HandoffReason,
    normalize,
)
from tier1.settings import SettingsError, settings_from_dict

pytestmark = pytest.mark.unit

SECRETS = {"jwt_secret": "j" * 32, "internal_token": "i" * 32, "rasa_token": "r" * 32}


def policy(**section) -> EscalationPolicy:
    return EscalationPolicy(EscalationSettings.parse_obj(section))


DEFAULT = policy()


# -- defaults -----------------------------------------------------------------------------------


def test_defaults_match_the_documented_behaviour():
    s = EscalationSettings()
    assert s.consecutive_failures.threshold == 2
    assert (s.user_request.ask_first, s.sensitive_topic.ask_first, s.low_confidence.ask_first) == (
        False,
        False,
        False,
    )
    # the "softer" triggers offer a person instead of handing off at once
    assert s.negative_feedback.ask_first and s.frustration.ask_first and s.kb_unavailable.ask_first


def test_reasons_are_the_ones_the_agent_console_shows():
    assert {r.value for r in HandoffReason} == {
        "user_request",
        "low_confidence",
        "consecutive_failures",
        "negative_feedback",
        "sensitive_topic",
        "frustration",
        "kb_unavailable",
    }


# -- user request -------------------------------------------------------------------------------


def test_user_request_hands_off_straight_away_by_default():
    e = DEFAULT.on_request()
    assert (e.reason, e.ask_first) == (HandoffReason.USER_REQUEST, False)


def test_user_request_can_ask_first():
    assert policy(user_request={"ask_first": True}).on_request().ask_first is True


# -- sensitive topics -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I want to CANCEL MY ACCOUNT now",
        "I'll be speaking to my lawyer",
        "I want to make a complaint.",
        "is this even legal?",
        "This is fraud",
    ],
)
def test_sensitive_topics_go_straight_to_a_person(text):
    e = DEFAULT.screen(text)
    assert e is not None and e.reason is HandoffReason.SENSITIVE_TOPIC and not e.ask_first
    assert "mentioned" in e.detail


@pytest.mark.parametrize(
    "text",
    ["I have an issue with my bill", "how do I cancel my plan", "is my data illegally shared"],
)
def test_sensitive_phrases_match_whole_words_only(text):
    assert DEFAULT.sensitive_topic(text) is None


def test_sensitive_topics_are_configurable_and_can_be_switched_off():
    custom = policy(sensitive_topic={"phrases": ["data breach"], "ask_first": True})
    e = custom.screen("was there a data breach?")
    assert e.reason is HandoffReason.SENSITIVE_TOPIC and e.ask_first
    assert custom.screen("I want to make a complaint") is None
    assert policy(sensitive_topic={"enabled": False}).screen("lawyer") is None


# -- frustration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("this is useless", "said 'useless'"),
        ("you are an idiot", "said 'idiot'"),
        ("what a waste of time", "said 'waste of time'"),
        ("WHY IS MY DATA NOT WORKING", "wrote in all caps"),
    ],
)
def test_frustration_lexicon_and_all_caps(text, why):
    e = DEFAULT.screen(text)
    assert e is not None and e.reason is HandoffReason.FRUSTRATION and e.ask_first
    assert e.detail == why


@pytest.mark.parametrize("text", ["OK", "HELLO THERE", "I need a PUK code", "my SIM is dead"])
def test_short_shouting_and_acronyms_are_not_frustration(text):
    assert DEFAULT.screen(text) is None


def test_a_repeated_question_is_frustration():
    earlier = ["how do I top up my balance?", "thanks"]
    e = DEFAULT.screen("How do I top up my balance", earlier)
    assert e.reason is HandoffReason.FRUSTRATION and e.detail == "asked the same question again"
    # a different question, or a repeated short word, is not
    assert DEFAULT.screen("how do I check my data usage", earlier) is None
    assert DEFAULT.screen("thanks", earlier) is None


def test_nlu_complaint_counts_as_frustration():
    e = DEFAULT.screen("you keep getting it wrong", nlu_says_frustrated=True)
    assert e.reason is HandoffReason.FRUSTRATION


def test_frustration_is_configurable():
    custom = policy(
        frustration={
            "words": ["meh"],
            "all_caps_min_letters": 0,
            "repeated_question": False,
            "ask_first": False,
        }
    )
    assert custom.screen("meh.").ask_first is False
    assert custom.screen("this is useless") is None
    assert custom.screen("WHY IS MY DATA NOT WORKING") is None
    assert custom.screen("how do I top up", ["how do I top up"]) is None
    assert (
        policy(frustration={"enabled": False}).screen("useless", nlu_says_frustrated=True) is None
    )


def test_sensitive_topic_wins_over_frustration():
    e = DEFAULT.screen("THIS IS USELESS, I WANT TO MAKE A COMPLAINT")
    assert e.reason is HandoffReason.SENSITIVE_TOPIC


# -- failures -------------------------------------------------------------------------------------


def test_not_helpful_offers_a_person_then_the_second_failure_hands_off():
    first = DEFAULT.on_failure(Failure.NOT_HELPFUL, 0)
    assert first.failures == 1
    assert first.escalation.reason is HandoffReason.NEGATIVE_FEEDBACK and first.escalation.ask_first
    second = DEFAULT.on_failure(Failure.NOT_HELPFUL, first.failures)
    assert second.failures == 2
    assert second.escalation.reason is HandoffReason.CONSECUTIVE_FAILURES
    assert not second.escalation.ask_first


def test_none_of_these_only_counts_until_the_threshold():
    first = DEFAULT.on_failure(Failure.NONE_OF_THESE, 0)
    assert (first.failures, first.escalation) == (1, None)
    second = DEFAULT.on_failure(Failure.NONE_OF_THESE, 1)
    assert second.escalation.reason is HandoffReason.CONSECUTIVE_FAILURES


def test_consecutive_failure_threshold_and_switches():
    three = policy(consecutive_failures={"threshold": 3})
    assert three.on_failure(Failure.NONE_OF_THESE, 1).escalation is None
    assert three.on_failure(Failure.NONE_OF_THESE, 2).escalation.reason.value == (
        "consecutive_failures"
    )
    off = policy(consecutive_failures={"enabled": False}, negative_feedback={"enabled": False})
    assert off.on_failure(Failure.NOT_HELPFUL, 9) == off.on_failure(Failure.NOT_HELPFUL, 9)
    assert off.on_failure(Failure.NOT_HELPFUL, 9).escalation is None
    asked = policy(consecutive_failures={"ask_first": True})
    assert asked.on_failure(Failure.NONE_OF_THESE, 1).escalation.ask_first


def test_negative_feedback_can_hand_off_without_asking():
    e = policy(negative_feedback={"ask_first": False}).on_failure(Failure.NOT_HELPFUL, 0).escalation
    assert (e.reason, e.ask_first) == (HandoffReason.NEGATIVE_FEEDBACK, False)


def test_kb_handoff_is_low_confidence_unless_it_is_one_failure_too_many():
    first = DEFAULT.on_kb_handoff(0)
    assert first.failures == 1 and first.escalation.reason is HandoffReason.LOW_CONFIDENCE
    assert DEFAULT.on_kb_handoff(1).escalation.reason is HandoffReason.CONSECUTIVE_FAILURES


def test_low_confidence_disabled_only_counts_a_failure():
    off = policy(low_confidence={"enabled": False})
    assert off.on_kb_handoff(0).escalation is None and off.on_kb_handoff(0).failures == 1
    assert off.on_kb_handoff(1).escalation.reason is HandoffReason.CONSECUTIVE_FAILURES


def test_kb_unavailable_offers_a_person_or_can_be_switched_off():
    e = DEFAULT.on_kb_unavailable()
    assert (e.reason, e.ask_first) == (HandoffReason.KB_UNAVAILABLE, True)
    assert policy(kb_unavailable={"enabled": False}).on_kb_unavailable() is None


# -- settings -------------------------------------------------------------------------------------


def test_escalation_is_a_section_of_config_yml():
    settings = settings_from_dict(
        {"escalation": {"consecutive_failures": {"threshold": 3}}}, SECRETS
    )
    assert settings.escalation.consecutive_failures.threshold == 3


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"frustration": {"word": ["x"]}}, "escalation.frustration.word"),
        ({"consecutive_failures": {"threshold": 0}}, "escalation.consecutive_failures.threshold"),
        ({"user_request": {"enabled": False}}, "escalation.user_request.enabled"),
        ({"sensitive_topic": {"phrases": ["  !! "]}}, "escalation.sensitive_topic.phrases"),
    ],
)
def test_bad_escalation_settings_name_the_key(section, key):
    with pytest.raises(SettingsError) as e:
        settings_from_dict({"escalation": section}, SECRETS)
    assert key in str(e.value)


def test_normalize():
    assert normalize("  Don’t   DO that!! ") == "don't do that"


def test_a_request_naming_a_sensitive_topic_is_recorded_as_that_topic():
    e = DEFAULT.on_request("I want to speak to someone about a complaint")
    assert (e.reason, e.ask_first) == (HandoffReason.SENSITIVE_TOPIC, False)
    assert DEFAULT.on_request("agent please").reason is HandoffReason.USER_REQUEST
