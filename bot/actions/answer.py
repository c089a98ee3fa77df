"""`action_answer`: answer a support question from the knowledge base, or clarify, or hand off."""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import search_handover
from bot.actions import runtime
from bot.actions.app_client import AppClient, Article, KbHit, SearchResult
from bot.actions.dialogue import (
    AWAITING_CLARIFY,
    AWAITING_FEEDBACK,
    PAYLOAD_NONE_OF_THESE,
    SLOT_KB_HITS,
    ask_feedback,
    escalate,
    failures_of,
    handoff_followup,
    replied,
    state_slots,
)
from bot.actions.errors import AppUnavailable
from bot.actions.tracker_view import earlier_user_texts, is_payload, latest_intent, latest_text
from bot.escalation import HandoffReason
from bot.metrics import timed

logger = logging.getLogger(__name__)

ACTION_ANSWER = "action_answer"
INTENT_CHOOSE_ARTICLE = "choose_article"
INTENT_COMPLAIN = "complain"
INTENT_CHITCHAT = "chitchat"
RESPONSE_CHITCHAT = "utter_chitchat"
ENTITY_ARTICLE_ID = "article_id"

CLARIFY_MESSAGE = "Did you mean one of these?"
NONE_OF_THESE = "None of these"
KB_DOWN_MESSAGE = "Sorry, I can't look that up right now."
KB_DOWN_RETRY_MESSAGE = "Sorry, I can't look that up right now. Please try again in a minute."
NO_ANSWER_MESSAGE = (
    "Sorry, I don't have an answer to that. Could you ask it in other words? "
    'You can also say "talk to a person" at any time.'
)
BAD_CHOICE_MESSAGE = "Sorry, I couldn't open that article. Could you ask your question again?"


def hits_summary(hits: list[KbHit]) -> list[dict[str, Any]]:
    """What the agent sees of the bot's search: one entry per article, best first."""
    seen: set[int] = set()
    summary = []
    for hit in hits:
        if hit.article_id not in seen:
            seen.add(hit.article_id)
            summary.append({"article_id": hit.article_id, "title": hit.title, "score": hit.score})
    return summary


def utter_article(dispatcher: CollectingDispatcher, article: KbHit | Article) -> None:
    """Say the article's answer; its source travels as the message's custom JSON payload.

    Over Rasa's REST channel this arrives as ``{"text": <answer>}`` followed by
    ``{"custom": {"source": {"article_id", "title", "url"}}}``.
    """
    dispatcher.utter_message(
        text=article.answer,
        json_message={
            "source": {"article_id": article.article_id, "title": article.title, "url": article.url}
        },
    )


def choose_article_payload(article_id: int) -> str:
    """The button payload that re-enters the bot as intent choose_article with the article id."""
    entities = json.dumps({ENTITY_ARTICLE_ID: str(article_id)}, separators=(",", ":"))
    return f"/{INTENT_CHOOSE_ARTICLE}{entities}"


async def _search(app: AppClient, tracker: Tracker, text: str) -> SearchResult:
    """The app's search for ``text``: handed over with the message, else asked for over HTTP.

    Raises:
        AppUnavailable: the app could not be asked.
    """
    handed = search_handover.take((tracker.latest_message or {}).get("metadata"), text)
    if handed is not None:
        try:
            return SearchResult.parse_obj(handed)
        except ValidationError:
            logger.warning("the search handed over with the message has an unexpected shape")
    with timed(runtime.observe_stage(), "action_kb_search"):
        return await app.search(text)


def _kb_unavailable(
    dispatcher: CollectingDispatcher, error: AppUnavailable, failures: int
) -> list[EventType]:
    logger.warning("knowledge base unavailable: %s", error)
    escalation = runtime.policy().on_kb_unavailable()
    if escalation is None:
        dispatcher.utter_message(text=KB_DOWN_RETRY_MESSAGE)
        return [SlotSet(SLOT_KB_HITS, []), *state_slots(failures), replied()]
    # Stale hits from an earlier question would mislead the agent.
    return escalate(dispatcher, escalation, failures, kb_hits=[])


class ActionAnswer(Action):
    """Answer the latest message from the KB, following the KB service's decision.

    First the message is screened (`EscalationPolicy.screen`): a sensitive topic or frustration
    escalates before anything is searched. Then, by the KB's decision: ``answer``: say the best
    article's answer with its source, then ask "Did this help?". ``clarify``: offer the closest
    articles as buttons plus "None of these". ``handoff``: a failure, which escalates
    (``low_confidence``, or ``consecutive_failures``) or asks the user to rephrase. A button
    choice (intent choose_article) answers that article directly. If the app is unreachable,
    slow or errs: apologise and offer a person (``kb_unavailable``). Always sets ``kb_hits``.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_ANSWER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Answer the user's latest message or article choice; return the events to apply."""
        app = runtime.app_client()
        failures = failures_of(tracker)
        intent = latest_intent(tracker)
        if intent == INTENT_CHOOSE_ARTICLE:
            return await self._answer_choice(app, dispatcher, tracker, failures)

        text = search_handover.search_text(latest_text(tracker))
        if not text:
            # Nothing to search for (e.g. an attachment without text): a person can look at it.
            return [SlotSet(SLOT_KB_HITS, []), *handoff_followup(HandoffReason.LOW_CONFIDENCE)]
        if not is_payload(text):
            escalation = runtime.policy().screen(
                text, earlier_user_texts(tracker), nlu_says_frustrated=intent == INTENT_COMPLAIN
            )
            if escalation is not None:
                return escalate(dispatcher, escalation, failures, kb_hits=[])
        try:
            result = await _search(app, tracker, text)
        except AppUnavailable as e:
            return _kb_unavailable(dispatcher, e, failures)
        summary = hits_summary(result.hits)

        if result.decision == "answer" and result.hits:
            utter_article(dispatcher, result.hits[0])
            ask_feedback(dispatcher)
            return [
                SlotSet(SLOT_KB_HITS, summary),
                *state_slots(failures, AWAITING_FEEDBACK),
                replied(),
            ]
        if result.decision == "clarify" and result.hits:
            max_options = runtime.settings().clarify_max_options
            buttons = [
                {"title": hit["title"], "payload": choose_article_payload(hit["article_id"])}
                for hit in summary[:max_options]
            ]
            buttons.append({"title": NONE_OF_THESE, "payload": PAYLOAD_NONE_OF_THESE})
            dispatcher.utter_message(text=CLARIFY_MESSAGE, buttons=buttons)
            return [
                SlotSet(SLOT_KB_HITS, summary),
                *state_slots(failures, AWAITING_CLARIFY),
                replied(),
            ]
        if intent == INTENT_CHITCHAT:
            # Small talk the KB knows nothing about: steer back to support, no failure.
            dispatcher.utter_message(response=RESPONSE_CHITCHAT)
            return [SlotSet(SLOT_KB_HITS, summary), *state_slots(failures), replied()]
        # "handoff", or a decision without any hit to show: the bot has no answer.
        outcome = runtime.policy().on_kb_handoff(failures)
        if outcome.escalation is not None:
            return escalate(dispatcher, outcome.escalation, outcome.failures, kb_hits=summary)
        dispatcher.utter_message(text=NO_ANSWER_MESSAGE)
        return [SlotSet(SLOT_KB_HITS, summary), *state_slots(outcome.failures), replied()]

    async def _answer_choice(
        self, app: AppClient, dispatcher: CollectingDispatcher, tracker: Tracker, failures: int
    ) -> list[EventType]:
        raw = next(tracker.get_latest_entity_values(ENTITY_ARTICLE_ID), None) or tracker.get_slot(
            ENTITY_ARTICLE_ID
        )
        try:
            article_id = int(str(raw))
        except ValueError:
            dispatcher.utter_message(text=BAD_CHOICE_MESSAGE)
            return [SlotSet(SLOT_KB_HITS, []), *state_slots(failures), replied()]
        try:
            article = await app.article(article_id)
        except AppUnavailable as e:
            return _kb_unavailable(dispatcher, e, failures)
        utter_article(dispatcher, article)
        ask_feedback(dispatcher)
        # Keep the score the search gave this article, so the agent sees how it was ranked.
        previous = {
            h.get("article_id"): h.get("score") for h in tracker.get_slot(SLOT_KB_HITS) or []
        }
        chosen = {
            "article_id": article.article_id,
            "title": article.title,
            "score": previous.get(article.article_id),
        }
        return [
            SlotSet(SLOT_KB_HITS, [chosen]),
            *state_slots(failures, AWAITING_FEEDBACK),
            replied(),
        ]
