"""What the app hands over with a user message for that message's turn alone.

The app sends each message to Rasa with its knowledge-base search (`bot.search_handover`) and
its sentence vector (`bot.embedding_handover`) in the message metadata. Rasa copies metadata
into the user event, again into the event's ``parse_data``, and, for the first message of a
session, into the ``session_started_metadata`` slot. Nothing reads them after their turn, so
neither the tracker store (`bot.tracker_store`) nor the action server's request
(`bot.action_tracker`) carries them: a search result is kilobytes, written with every message
and read back with every load and every action call if kept. Only copies are changed; the
events in memory keep what they came with.
"""

from __future__ import annotations

from typing import Any

from rasa.shared.core.constants import SESSION_START_METADATA_SLOT

from bot import embedding_handover, search_handover

TURN_ONLY_METADATA_KEYS = (search_handover.METADATA_KEY, embedding_handover.METADATA_KEY)


def without_turn_only(metadata: Any) -> Any:
    """``metadata`` without `TURN_ONLY_METADATA_KEYS` (a copy if any is there)."""
    if isinstance(metadata, dict) and any(key in metadata for key in TURN_ONLY_METADATA_KEYS):
        return {k: v for k, v in metadata.items() if k not in TURN_ONLY_METADATA_KEYS}
    return metadata


def event_without_turn_only(event: Any) -> dict[str, Any]:
    """``event.as_dict()`` (a Rasa event) without the turn-only metadata.

    The dicts that change are copies: ``as_dict`` shares them with the event, which stays as
    it is.
    """
    data = event.as_dict()
    if data.get("event") == "user":
        data["metadata"] = without_turn_only(data.get("metadata"))
        parse_data = data.get("parse_data")
        if isinstance(parse_data, dict) and "metadata" in parse_data:
            data["parse_data"] = {**parse_data, "metadata": without_turn_only(parse_data["metadata"])}
    elif data.get("event") == "slot" and data.get("name") == SESSION_START_METADATA_SLOT:
        data["value"] = without_turn_only(data.get("value"))
    return data


def slots_without_turn_only(slots: dict[str, Any]) -> dict[str, Any]:
    """A tracker state's ``slots`` with the session-start metadata slot stripped (a copy)."""
    if SESSION_START_METADATA_SLOT not in slots:
        return slots
    return {**slots, SESSION_START_METADATA_SLOT: without_turn_only(slots[SESSION_START_METADATA_SLOT])}


__all__ = [
    "SESSION_START_METADATA_SLOT",
    "TURN_ONLY_METADATA_KEYS",
    "event_without_turn_only",
    "slots_without_turn_only",
    "without_turn_only",
]
