"""The bot's side of the conversation state: slot names, prompts, and the events of each step.

The actions decide nothing here; they ask `bot.escalation.EscalationPolicy` and use these
helpers to say it and to record it on the tracker, so every action phrases a handoff, an offer
or a feedback question the same way.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.escalation import Escalation, HandoffReason

ACTION_HANDOFF = "action_handoff"

# Slots (see bot/domain.yml).
SLOT_HANDOFF_REASON = "handoff_reason"  # the reason the next action_handoff queues with
SLOT_HANDOFF_DETAIL = "handoff_detail"  # what fired the trigger, for the agent
SLOT_KB_HITS = "kb_hits"
SLOT_FAILURES = "failures"  # consecutive turns that did not help
SLOT_AWAITING = "awaiting"  # what the bot's last question was: AWAITING_*
SLOT_OFFER_REASON = "offer_reason"  # the reason of a pending "Shall I connect you?"
# False from every user message on (a from_intent mapping), True once an action has answered.
# A custom action that fails (action server down) leaves it False, and a rule then apologises
# from the domain instead of leaving the user in silence.
SLOT_REPLIED = "replied"

AWAITING_FEEDBACK = "feedback"  # "Did this help?"
AWAITING_CLARIFY = "clarify"  # "Did you mean one of these?"
AWAITING_OFFER = "offer"  # "Shall I connect you to a person?"

# Payloads of the quick replies (each is an intent of bot/domain.yml).
PAYLOAD_HELPFUL = "/feedback_helpful"
PAYLOAD_NOT_HELPFUL = "/feedback_not_helpful"
PAYLOAD_NONE_OF_THESE = "/none_of_these"
PAYLOAD_YES = "/affirm"
PAYLOAD_NO = "/deny"

FEEDBACK_QUESTION = "Did this help?"
FEEDBACK_BUTTONS = [
    {"title": "Yes", "payload": PAYLOAD_HELPFUL},
    {"title": "No", "payload": PAYLOAD_NOT_HELPFUL},
]
OFFER_QUESTION = "Shall I connect you to a person?"
OFFER_BUTTONS = [
    {"title": "Yes, connect me", "payload": PAYLOAD_YES},
    {"title": "No, thanks", "payload": PAYLOAD_NO},
]

# What the bot says before it hands off or offers, per reason.
LEAD_IN = {
    HandoffReason.USER_REQUEST: "",
    HandoffReason.LOW_CONFIDENCE: "I'm not sure I have the right answer to that.",
    HandoffReason.CONSECUTIVE_FAILURES: "I'm sorry I haven't been able to help so far.",
    HandoffReason.NEGATIVE_FEEDBACK: "Sorry that didn't help.",
    HandoffReason.SENSITIVE_TOPIC: "That's something a member of our team should help you with.",
    HandoffReason.FRUSTRATION: "I'm sorry this has been frustrating.",
    HandoffReason.KB_UNAVAILABLE: "Sorry, I can't look that up right now.",
}


def state_slots(failures: int, awaiting: str | None = None) -> list[EventType]:
    """The bookkeeping every finished turn records: failure count and the open question."""
    return [
        SlotSet(SLOT_FAILURES, failures),
        SlotSet(SLOT_AWAITING, awaiting),
        SlotSet(SLOT_OFFER_REASON, None),
    ]


def failures_of(tracker: Tracker) -> int:
    """The consecutive failure count the tracker holds (0 when unset or garbled)."""
    try:
        return max(0, int(tracker.get_slot(SLOT_FAILURES) or 0))
    except (TypeError, ValueError):
        return 0


def replied() -> EventType:
    """Marks the turn as answered (see SLOT_REPLIED)."""
    return SlotSet(SLOT_REPLIED, True)


def ask_feedback(dispatcher: CollectingDispatcher) -> None:
    """Ask "Did this help?" with Yes and No buttons."""
    dispatcher.utter_message(text=FEEDBACK_QUESTION, buttons=FEEDBACK_BUTTONS)


def escalate(
    dispatcher: CollectingDispatcher,
    escalation: Escalation,
    failures: int,
    kb_hits: list[dict[str, Any]] | None = None,
) -> list[EventType]:
    """Say and record an escalation: an offer, or a follow-up to action_handoff.

    An offer ends the turn (the next "yes" hands off with the same reason). A handoff leaves
    ``replied`` unset, so that a handoff that cannot run still ends in the domain's apology.
    """
    lead = LEAD_IN[escalation.reason]
    events: list[EventType] = []
    if kb_hits is not None:
        events.append(SlotSet(SLOT_KB_HITS, kb_hits))
    if escalation.ask_first:
        dispatcher.utter_message(text=f"{lead} {OFFER_QUESTION}".strip(), buttons=OFFER_BUTTONS)
        return [
            *events,
            SlotSet(SLOT_FAILURES, failures),
            SlotSet(SLOT_AWAITING, AWAITING_OFFER),
            SlotSet(SLOT_OFFER_REASON, escalation.reason.value),
            SlotSet(SLOT_HANDOFF_DETAIL, escalation.detail or None),
            replied(),
        ]
    if lead:
        dispatcher.utter_message(text=lead)
    return [*events, *handoff_followup(escalation.reason.value, escalation.detail)]


def handoff_followup(reason: str, detail: str = "") -> list[EventType]:
    """Hand off now: action_handoff runs next and queues with ``reason``."""
    return [
        SlotSet(SLOT_HANDOFF_REASON, reason),
        SlotSet(SLOT_HANDOFF_DETAIL, detail or None),
        FollowupAction(ACTION_HANDOFF),
    ]
