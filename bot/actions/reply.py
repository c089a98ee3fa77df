"""`action_reply`: the user's answer to the bot's last question (feedback, yes/no, none)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.actions.dialogue import (
    AWAITING_CLARIFY,
    AWAITING_FEEDBACK,
    AWAITING_OFFER,
    SLOT_AWAITING,
    SLOT_HANDOFF_DETAIL,
    SLOT_OFFER_REASON,
    escalate,
    failures_of,
    handoff_followup,
    replied,
    state_slots,
)
from bot.actions.tracker_view import earlier_user_texts, is_payload, latest_intent, latest_text
from bot.escalation import Failure

ACTION_REPLY = "action_reply"

INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"
INTENT_THANKS = "thanks"
INTENT_HELPFUL = "feedback_helpful"
INTENT_NOT_HELPFUL = "feedback_not_helpful"
INTENT_NONE_OF_THESE = "none_of_these"

HELPFUL_MESSAGE = "Great, I'm glad that helped! Is there anything else I can help you with?"
THANKS_MESSAGE = "You're welcome! Is there anything else I can help you with?"
NOT_HELPFUL_MESSAGE = (
    "Sorry that didn't help. Could you tell me a bit more, in other words? "
    'You can also say "talk to a person" at any time.'
)
NONE_OF_THESE_MESSAGE = (
    "Sorry about that. Could you ask your question in other words? "
    'You can also say "talk to a person" at any time.'
)
WHICH_ONE_MESSAGE = "Which one? Tap one of the options above, or ask in other words."
OFFER_DECLINED_MESSAGE = (
    'No problem, I\'m still here. Ask me another question, or say "talk to a person" whenever '
    "you like."
)
AFFIRM_MESSAGE = "Great! What else can I help you with?"
DENY_MESSAGE = (
    'Okay. If there\'s something else I can help with, just ask — or say "talk to a person" '
    "to reach our support team."
)


class ActionReply(Action):
    """Interpret a short reply in the light of the bot's last question (slot ``awaiting``).

    - to "Shall I connect you to a person?": yes hands off with the offered reason, no carries on;
    - to "Did this help?": yes/helpful/thanks reset the failure count; no/not helpful is a
      failure (`EscalationPolicy.on_failure`: offer a person, or hand off after N in a row);
    - to "Did you mean one of these?": no/"None of these" is a failure;
    - otherwise a plain acknowledgement. Typed words are screened for sensitive topics and
      frustration first, like any message.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_REPLY

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Act on the user's short reply to the bot's last question; return the events to apply."""
        policy = runtime.policy()
        failures = failures_of(tracker)
        intent = latest_intent(tracker)
        awaiting = tracker.get_slot(SLOT_AWAITING)
        text = latest_text(tracker)
        if text and not is_payload(text):
            escalation = policy.screen(text, earlier_user_texts(tracker))
            if escalation is not None:
                return escalate(dispatcher, escalation, failures)

        if awaiting == AWAITING_OFFER and intent in (INTENT_AFFIRM, INTENT_DENY):
            reason = tracker.get_slot(SLOT_OFFER_REASON)
            if intent == INTENT_AFFIRM and reason:
                detail = tracker.get_slot(SLOT_HANDOFF_DETAIL) or ""
                return [*state_slots(failures), *handoff_followup(reason, detail)]
            dispatcher.utter_message(text=OFFER_DECLINED_MESSAGE)
            return [*state_slots(failures), replied()]

        if intent in (INTENT_HELPFUL, INTENT_THANKS) or (
            intent == INTENT_AFFIRM and awaiting == AWAITING_FEEDBACK
        ):
            dispatcher.utter_message(
                text=THANKS_MESSAGE if intent == INTENT_THANKS else HELPFUL_MESSAGE
            )
            return [*state_slots(0), replied()]

        failure = None
        if intent == INTENT_NOT_HELPFUL or (
            intent == INTENT_DENY and awaiting == AWAITING_FEEDBACK
        ):
            failure = Failure.NOT_HELPFUL
        elif intent == INTENT_NONE_OF_THESE or (
            intent == INTENT_DENY and awaiting == AWAITING_CLARIFY
        ):
            failure = Failure.NONE_OF_THESE
        if failure is not None:
            outcome = policy.on_failure(failure, failures)
            if outcome.escalation is not None:
                return escalate(dispatcher, outcome.escalation, outcome.failures)
            dispatcher.utter_message(
                text=NOT_HELPFUL_MESSAGE
                if failure is Failure.NOT_HELPFUL
                else NONE_OF_THESE_MESSAGE
            )
            return [*state_slots(outcome.failures), replied()]

        if intent == INTENT_AFFIRM and awaiting == AWAITING_CLARIFY:
            dispatcher.utter_message(text=WHICH_ONE_MESSAGE)
            return [*state_slots(failures, AWAITING_CLARIFY), replied()]
        dispatcher.utter_message(text=AFFIRM_MESSAGE if intent == INTENT_AFFIRM else DENY_MESSAGE)
        return [*state_slots(failures), replied()]
