"""What the actions read from a Rasa tracker, in one place."""

from __future__ import annotations

from rasa_sdk import Tracker


def latest_intent(tracker: Tracker) -> str | None:
    """The intent NLU assigned to the latest user message, ``nlu_fallback`` included.

    Unlike `Tracker.get_intent_of_latest_message`, which reads the ranking and skips
    ``nlu_fallback`` in favour of the runner-up (an unsure "help" could then count as a
    request for a person), this is the intent the policies acted on.
    """
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    """The latest user message's text, stripped ('' if there is none)."""
    return ((tracker.latest_message or {}).get("text") or "").strip()


def last_user_text(tracker: Tracker) -> str:
    """The user's latest typed message, skipping button payloads such as ``/request_human``.

    The agent wants the user's own words: after "None of these" the latest message is a payload
    and the question that led there is one turn earlier.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = (event.get("text") or "").strip()
            if text and not text.startswith("/"):
                return text
    return latest_text(tracker)
