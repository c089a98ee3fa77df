"""`action_handoff`: queue the conversation for a human agent and pause the bot."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import search_handover
from bot.actions import runtime
from bot.actions.answer import hits_summary
from bot.actions.app_client import SearchResult
from bot.actions.dialogue import (
    ACTION_HANDOFF,
    LEAD_IN,
    SLOT_HANDOFF_DETAIL,
    SLOT_HANDOFF_REASON,
    SLOT_KB_HITS,
    escalate,
    failures_of,
    replied,
    state_slots,
)
from bot.actions.errors import AppUnavailable
from bot.actions.tracker_view import is_payload, last_user_text, latest_intent, latest_text
from bot.escalation import HandoffReason

logger = logging.getLogger(__name__)

INTENT_REQUEST_HUMAN = "request_human"

CONNECTING_MESSAGE = (
    "I'm connecting you with a member of our support team. They'll see this conversation, "
    "so you won't need to repeat yourself."
)
UNREACHABLE_MESSAGE = "I couldn't reach our support team just now — please try again in a minute."

__all__ = [
    "ACTION_HANDOFF",
    "CONNECTING_MESSAGE",
    "INTENT_REQUEST_HUMAN",
    "UNREACHABLE_MESSAGE",
    "ActionHandoff",
    "HandoffReason",
]


def context_hits(tracker: Tracker) -> list[dict[str, Any]]:
    """The bot's search the agent sees: the triggering message's own when it found something.

    A request for a person in the same message as a question ("I want to end my service with
    you") comes with the app's search of that message; the ``kb_hits`` slot still holds the
    previous question's, which would show the agent articles about something else. A message
    whose search found nothing to answer or offer ("talk to a person") keeps the earlier hits:
    they are about what the user was stuck on.
    """
    text = search_handover.search_text(latest_text(tracker))
    handed = search_handover.take((tracker.latest_message or {}).get("metadata"), text)
    if handed is not None and handed.get("decision") in ("answer", "clarify"):
        try:
            hits = SearchResult.parse_obj(handed).hits
        except ValidationError:
            hits = []
        if hits:
            return hits_summary(hits)
    return tracker.get_slot(SLOT_KB_HITS) or []


class ActionHandoff(Action):
    """Ask the app to queue this conversation for an agent; pause only if it was queued.

    Reason: the ``handoff_reason`` slot when an earlier action set it; else the user asked for a
    person (``user_request``, offered first if ``escalation.user_request.ask_first``); else
    ``low_confidence``. The context carries the ``kb_hits`` slot, the user's last message, what
    fired the trigger and the failure count (`context_hits`). On success the bot says so, resets its
    conversation state and returns ``ConversationPaused``; on failure it apologises honestly
    and keeps the bot in charge (nobody would answer a paused chat that was never queued).
    When the app answers ``offline`` (closed hours, or nobody online), it has already told the
    user and offered to take a message, so the bot does not claim to be connecting anyone.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_HANDOFF

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Ask the app to queue the conversation for a person; return the events to apply."""
        failures = failures_of(tracker)
        reason = tracker.get_slot(SLOT_HANDOFF_REASON)
        detail = tracker.get_slot(SLOT_HANDOFF_DETAIL) or ""
        own_trigger = not reason  # else an earlier action of this turn set kb_hits as well
        if not reason:
            if latest_intent(tracker) == INTENT_REQUEST_HUMAN:
                text = latest_text(tracker)
                escalation = runtime.policy().on_request("" if is_payload(text) else text)
                if escalation.ask_first:
                    return escalate(dispatcher, escalation, failures)
                if escalation.reason is not HandoffReason.USER_REQUEST:
                    dispatcher.utter_message(text=LEAD_IN[escalation.reason])
                reason, detail = escalation.reason.value, escalation.detail
            else:
                reason = HandoffReason.LOW_CONFIDENCE.value
        context = {
            "kb_hits": context_hits(tracker) if own_trigger else tracker.get_slot(SLOT_KB_HITS) or [],
            "last_user_message": last_user_text(tracker),
            "trigger": detail,
            "failures": failures,
        }
        clear = [SlotSet(SLOT_HANDOFF_REASON, None), SlotSet(SLOT_HANDOFF_DETAIL, None), replied()]
        try:
            result = await runtime.app_client().request_handoff(tracker.sender_id, reason, context)
        except AppUnavailable as e:
            logger.warning(
                "handoff of conversation %s (%s) failed: %s", tracker.sender_id, reason, e
            )
            dispatcher.utter_message(text=UNREACHABLE_MESSAGE)
            return [*clear, *state_slots(failures)]
        if not result.offline:
            dispatcher.utter_message(text=CONNECTING_MESSAGE)
        # else: nobody can take the chat now; the app said so and asks for an email (the
        # conversation is queued either way, so the bot pauses).
        # A person takes over: after the hand-back the bot starts with a clean slate.
        return [ConversationPaused(), *clear, *state_slots(0)]
