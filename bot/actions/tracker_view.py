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


def is_payload(text: str) -> bool:
    """True for a button payload such as ``/affirm`` (not the user's own words)."""
    return text.startswith("/")


# The most earlier messages the actions read (the escalation screen's context).
EARLIER_TEXTS = 5


def earlier_user_texts(tracker: Tracker, limit: int = EARLIER_TEXTS) -> list[str]:
    """The user's typed messages before the latest one, oldest first, in this bot episode.

    An episode starts at the conversation's start, a new session or a hand-back (``resume``):
    what the user asked a person is not held against the bot. At most ``limit`` messages.
    """
    texts: list[str] = []
    users_seen = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("resume", "session_started", "restart"):
            break
        if kind == "user":
            users_seen += 1
            text = (event.get("text") or "").strip()
            if users_seen > 1 and text and not is_payload(text):
                texts.insert(0, text)
                if len(texts) >= limit:
                    break
    return texts
