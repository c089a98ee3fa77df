"""`action_handoff`: queue the conversation for a human agent and pause the bot."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.actions.errors import AppUnavailable
from bot.actions.tracker_view import last_user_text, latest_intent

logger = logging.getLogger(__name__)

ACTION_HANDOFF = "action_handoff"
SLOT_HANDOFF_REASON = "handoff_reason"
SLOT_KB_HITS = "kb_hits"
INTENT_REQUEST_HUMAN = "request_human"

CONNECTING_MESSAGE = (
    "I'm connecting you with a member of our support team. They'll see this conversation, "
    "so you won't need to repeat yourself."
)
UNREACHABLE_MESSAGE = "I couldn't reach our support team just now — please try again in a minute."


class HandoffReason(str, Enum):
    """Why the bot hands a conversation to a person (sent to the app as `reason`)."""

    USER_REQUEST = "user_request"
    LOW_CONFIDENCE = "low_confidence"
    KB_UNAVAILABLE = "kb_unavailable"


class ActionHandoff(Action):
    """Ask the app to queue this conversation for an agent; pause only if it was queued.

    Reason: the ``handoff_reason`` slot when an earlier action set it, else ``user_request`` when
    the user asked for a person, else ``low_confidence``. The context carries the ``kb_hits`` slot
    and the user's last message. On success the bot says so and returns ``ConversationPaused``;
    on failure it apologises honestly and keeps the bot in charge (nobody would answer a paused
    chat that was never queued).
    """

    def name(self) -> str:
        return ACTION_HANDOFF

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reason = tracker.get_slot(SLOT_HANDOFF_REASON) or (
            HandoffReason.USER_REQUEST.value
            if latest_intent(tracker) == INTENT_REQUEST_HUMAN
            else HandoffReason.LOW_CONFIDENCE.value
        )
        context = {
            "kb_hits": tracker.get_slot(SLOT_KB_HITS) or [],
            "last_user_message": last_user_text(tracker),
        }
        try:
            await runtime.app_client().request_handoff(tracker.sender_id, reason, context)
        except AppUnavailable as e:
            logger.warning(
                "handoff of conversation %s (%s) failed: %s", tracker.sender_id, reason, e
            )
            dispatcher.utter_message(text=UNREACHABLE_MESSAGE)
            return [SlotSet(SLOT_HANDOFF_REASON, None)]
        dispatcher.utter_message(text=CONNECTING_MESSAGE)
        return [ConversationPaused(), SlotSet(SLOT_HANDOFF_REASON, None)]
