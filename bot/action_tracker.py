"""What Rasa sends the action server about a conversation: its state and its recent events.

Rasa sends every event of the conversation with every action call (``EventVerbosity.ALL``),
each user message twice (its metadata again inside its ``parse_data``): a request that grows
with the conversation and that Rasa serialises and the action server parses on every call.
tier1's actions read the slots, the latest message and, from the events, only the user's
latest typed message and the recent ones within the current bot episode
(`bot.actions.tracker_view`). So the action server gets the events back to the latest episode
start (``resume``, ``session_started``, ``restart``) or to the user's ``EARLIER_TEXTS + 1``-th
latest typed message, whichever is later, and at least back to the latest typed message; what
the actions read from them is the same as from all events (tests/bot/test_action_tracker.py
compares them on random conversations). What the app hands over for one turn
(`bot.turn_metadata`) is left out of the events and the slots: the action reads the latest
search from ``latest_message``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.actions.tracker_view import EARLIER_TEXTS
from bot.turn_metadata import event_without_turn_only, slots_without_turn_only

EPISODE_STARTS = ("resume", "session_started", "restart")


def recent_events(events: Sequence[Any]) -> list[Any]:
    """The tail of ``events`` (Rasa `Event` objects) that the actions read.

    Back to the latest episode start or the ``EARLIER_TEXTS + 1``-th latest typed user
    message, whichever is later (``earlier_user_texts``), and at least back to the latest
    typed user message, in whatever episode (``last_user_text``).
    """
    typed = 0
    episode_from: int | None = None
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if episode_from is None and event.type_name in EPISODE_STARTS:
            episode_from = i
        elif event.type_name == "user":
            text = (getattr(event, "text", None) or "").strip()
            if text and not text.startswith("/"):
                typed += 1
                if episode_from is None and typed > EARLIER_TEXTS:
                    episode_from = i
                if episode_from is not None:
                    return list(events[i:])  # ``i`` is not after the latest typed message
    return list(events)


def tracker_state(tracker: Any) -> dict[str, Any]:
    """``tracker.current_state(EventVerbosity.ALL)`` with only `recent_events`.

    What the app handed over for one turn (`bot.turn_metadata`) is left out of events and slots.
    """
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    state["slots"] = slots_without_turn_only(state.get("slots") or {})
    state["events"] = [event_without_turn_only(e) for e in recent_events(list(tracker.events))]
    return state


__all__ = ["EPISODE_STARTS", "recent_events", "tracker_state"]
