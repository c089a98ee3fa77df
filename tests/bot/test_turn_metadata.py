"""Turn-only metadata: left out of copies of events and slots, the originals untouched."""

from rasa.shared.core.events import SlotSet, UserUttered

from bot import embedding_handover, search_handover
from bot.turn_metadata import (
    SESSION_START_METADATA_SLOT,
    TURN_ONLY_METADATA_KEYS,
    event_without_turn_only,
    slots_without_turn_only,
    without_turn_only,
)

HANDED = {
    **search_handover.pack("refund", {"hits": [{"slug": "refunds"}]}),
    **embedding_handover.pack("m", __import__("numpy").ones(3, dtype="float32")),
}


def test_the_keys_are_the_two_handovers():
    assert set(TURN_ONLY_METADATA_KEYS) == {search_handover.METADATA_KEY, embedding_handover.METADATA_KEY}


def test_without_turn_only_copies_and_keeps_everything_else():
    metadata = {"channel": "widget", **HANDED}
    assert without_turn_only(metadata) == {"channel": "widget"}
    assert set(TURN_ONLY_METADATA_KEYS) <= set(metadata)  # the original is left alone
    same = {"a": 1}
    assert without_turn_only(same) is same and without_turn_only(None) is None


def test_a_user_event_loses_them_in_metadata_and_parse_data_only_in_the_copy():
    metadata = {"channel": "widget", **HANDED}
    event = UserUttered("refund", intent={"name": "ask", "confidence": 1.0}, metadata=metadata)
    event.parse_data["metadata"] = dict(metadata)
    data = event_without_turn_only(event)
    assert data["metadata"] == {"channel": "widget"}
    assert data["parse_data"]["metadata"] == {"channel": "widget"}
    assert data["text"] == "refund" and data["parse_data"]["intent"]["name"] == "ask"
    assert set(TURN_ONLY_METADATA_KEYS) <= set(event.metadata)
    assert set(TURN_ONLY_METADATA_KEYS) <= set(event.parse_data["metadata"])


def test_the_session_start_slot_loses_them_other_slots_do_not():
    value = {"channel": "widget", **HANDED}
    assert event_without_turn_only(SlotSet(SESSION_START_METADATA_SLOT, value))["value"] == {
        "channel": "widget"
    }
    assert set(TURN_ONLY_METADATA_KEYS) <= set(value)
    assert event_without_turn_only(SlotSet("other", value))["value"] == value
    slots = {SESSION_START_METADATA_SLOT: value, "other": 1}
    assert slots_without_turn_only(slots) == {SESSION_START_METADATA_SLOT: {"channel": "widget"}, "other": 1}
    assert slots_without_turn_only({"other": 1}) == {"other": 1}
