"""tier1's tracker store is Rasa's SQL store; on SQLite it is pooled and in WAL mode.

It caches trackers, and stores user messages without the app's turn-only handover.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import numpy as np
import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import SESSION_START_METADATA_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import class_from_module_path
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from bot import embedding_handover, search_handover
from bot.tracker_store import DEFAULT_CACHE_SIZE, PooledSQLTrackerStore
from bot.turn_metadata import TURN_ONLY_METADATA_KEYS
from tier1.stack import TRACKER_STORE_TYPE

pytestmark = [pytest.mark.unit]

DOMAIN = Domain.from_dict({"intents": ["greet"], "slots": {
    "failures": {"type": "float", "initial_value": 0, "mappings": [{"type": "custom"}]}}})


def test_the_endpoint_type_names_this_class():
    # Rasa falls back to an in-memory store (with only a warning) when the type does not load.
    assert class_from_module_path(TRACKER_STORE_TYPE) is PooledSQLTrackerStore


def test_sqlite_is_pooled_wal_and_keeps_trackers(tmp_path):
    db = tmp_path / "rasa_tracker.db"
    store = PooledSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    assert isinstance(store.engine.pool, QueuePool)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL

    tracker = DialogueStateTracker.from_events("c1", [
        ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet"}),
        SlotSet("failures", 1.0)], DOMAIN.slots)
    asyncio.run(store.save(tracker))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))  # only the new event is appended

    reopened = PooledSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    loaded = asyncio.run(reopened.retrieve("c1"))
    assert [e.as_dict()["event"] for e in loaded.events] == [
        "action", "user", "slot", "action"]
    assert loaded.get_slot("failures") == 1.0


def _store(db, **kwargs) -> PooledSQLTrackerStore:
    return PooledSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db), **kwargs)


def _stored_events(store, sender_id):
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter_by(sender_id=sender_id).order_by(
            store.SQLEvent.id).all()
        return [r.type_name for r in rows]


def _turn(tracker, text):
    tracker.update(UserUttered(text, {"name": "greet"}))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(ActionExecuted("action_listen"))


def _started(store, sender_id):
    tracker = DialogueStateTracker.from_events(
        sender_id, [ActionExecuted("action_listen")], DOMAIN.slots)
    asyncio.run(store.save(tracker))
    return asyncio.run(store.retrieve(sender_id))


def test_a_cached_tracker_is_reused_and_only_new_events_are_appended(tmp_path, monkeypatch):
    store = _store(tmp_path / "t.db")
    tracker = _started(store, "c1")
    loads = []
    original = SQLTrackerStore.retrieve

    async def counting(self, sender_id):
        loads.append(sender_id)
        return await original(self, sender_id)

    monkeypatch.setattr(SQLTrackerStore, "retrieve", counting)
    for i in range(5):
        again = asyncio.run(store.retrieve("c1"))
        assert again is tracker
        _turn(again, f"hello {i}")
        asyncio.run(store.save(again))
    assert loads == []  # never re-read from the database
    assert _stored_events(store, "c1") == ["action"] + ["user", "action", "action"] * 5
    fresh = asyncio.run(_store(tmp_path / "t.db", cache_size=0).retrieve("c1"))
    assert [e.as_dict() for e in fresh.events] == [e.as_dict() for e in tracker.events]


def test_a_write_by_another_process_makes_the_cache_miss(tmp_path):
    ours, theirs = _store(tmp_path / "t.db"), _store(tmp_path / "t.db")
    tracker = _started(ours, "c1")
    other = asyncio.run(theirs.retrieve("c1"))
    _turn(other, "from elsewhere")
    asyncio.run(theirs.save(other))
    loaded = asyncio.run(ours.retrieve("c1"))
    assert loaded is not tracker
    assert [e.as_dict().get("text") for e in loaded.events if isinstance(e, UserUttered)] == [
        "from elsewhere"]
    # and our stale object, if saved, does not duplicate or lose their events
    _turn(tracker, "stale")
    asyncio.run(ours.save(tracker))
    assert _stored_events(ours, "c1").count("user") >= 1


def test_unsaved_events_are_never_served_from_the_cache(tmp_path):
    store = _store(tmp_path / "t.db")
    tracker = _started(store, "c1")
    _turn(tracker, "a turn that failed before its save")
    loaded = asyncio.run(store.retrieve("c1"))
    assert loaded is not tracker
    assert not any(isinstance(e, UserUttered) for e in loaded.events)


def test_a_new_conversation_is_cached_from_its_first_save(tmp_path, monkeypatch):
    """Rasa's first turn: create (save), session start, the turn (save); then the next turn."""
    store = _store(tmp_path / "t.db")
    reads = []
    original = SQLTrackerStore.retrieve

    async def counting(self, sender_id):
        reads.append(sender_id)
        return await original(self, sender_id)

    monkeypatch.setattr(SQLTrackerStore, "retrieve", counting)
    tracker = asyncio.run(store.get_or_create_tracker("c1"))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    _turn(tracker, "hello")
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("c1"))
    assert again is tracker
    assert reads == []  # nothing stored yet, then the cache: the database was never replayed
    assert _stored_events(store, "c1") == [
        "action", "action", "session_started", "action", "user", "action", "action"]
    # what a load from the database gives behaves the same: same applied events and slots
    loaded = asyncio.run(_store(tmp_path / "t.db", cache_size=0).retrieve("c1"))
    assert [e.as_dict() for e in loaded.applied_events()] == [
        e.as_dict() for e in tracker.applied_events()]
    assert loaded.current_slot_values() == tracker.current_slot_values()


def test_a_new_session_drops_the_entry_and_the_cache_is_bounded(tmp_path):
    store = _store(tmp_path / "t.db", cache_size=2)
    tracker = _started(store, "c1")
    _turn(tracker, "in the first session")
    asyncio.run(store.save(tracker))
    assert store.cache.get("c1") is not None
    tracker.update(SessionStarted())
    asyncio.run(store.save(tracker))
    assert store.cache.get("c1") is None
    for cid in ("c2", "c3", "c4"):
        _started(store, cid)
    assert len(store.cache) == 2 and store.cache.get("c2") is None


# What the app sends with a message (tier1.app._handover) besides the widget's own metadata.
OTHER_METADATA = {"locale": "en", "page": "/orders"}


def _handed_over(text: str) -> dict:
    result = {"decision": "answer", "hits": [{"article_id": 1, "title": "Orders", "score": 0.9}]}
    return {
        **OTHER_METADATA,
        **search_handover.pack(text, result),
        **embedding_handover.pack("a-model", np.ones(8, dtype=np.float32)),
    }


def _message(text: str) -> UserUttered:
    # As Rasa's processor builds it: parse_data carries the metadata again (the same dict).
    return UserUttered(text, {"name": "greet"}, metadata=_handed_over(text))


def _stored_data(store, sender_id) -> list[dict]:
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter_by(sender_id=sender_id).order_by(
            store.SQLEvent.id).all()
        return [json.loads(r.data) for r in rows]


def check_handover_is_not_stored(make_store: Callable[..., PooledSQLTrackerStore]) -> None:
    """Two turns saved (Rasa's counting save, then the cache's append), a restart, a reload.

    ``make_store(**kwargs)`` opens a store on the same database each time.
    """
    store = make_store()
    first = _handed_over("where is my order")
    tracker = DialogueStateTracker.from_events("c1", [
        # A session's first message: Rasa copies its metadata into a slot, twice.
        SlotSet(SESSION_START_METADATA_SLOT, first), ActionExecuted("action_session_start"),
        SessionStarted(), SlotSet(SESSION_START_METADATA_SLOT, first),
        ActionExecuted("action_listen"),
        UserUttered("where is my order", {"name": "greet"}, metadata=first),
        ActionExecuted("utter_greet"), ActionExecuted("action_listen")], DOMAIN.slots)
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("c1"))
    again.update(_message("and my refund?"))
    again.update(ActionExecuted("utter_greet"))
    asyncio.run(store.save(again))

    stored = _stored_data(store, "c1")
    assert len(stored) == 10
    for data in stored:
        assert not set(TURN_ONLY_METADATA_KEYS) & set(data.get("metadata") or {})
        assert not set(TURN_ONLY_METADATA_KEYS) & set(
            (data.get("parse_data") or {}).get("metadata") or {})
        if data["event"] == "slot":
            assert data["value"] == OTHER_METADATA
    users = [d for d in stored if d["event"] == "user"]
    assert [d["metadata"] for d in users] == [OTHER_METADATA] * 2
    assert [d["parse_data"]["metadata"] for d in users] == [OTHER_METADATA] * 2

    # The trackers in memory still carry it: the current turn's actions read it.
    latest = again.latest_message
    assert search_handover.take(latest.metadata, "and my refund?") is not None
    assert search_handover.take(latest.parse_data["metadata"], "and my refund?") is not None
    assert embedding_handover.METADATA_KEY in latest.metadata
    assert set(TURN_ONLY_METADATA_KEYS) <= set(tracker.get_slot(SESSION_START_METADATA_SLOT))

    restarted = asyncio.run(make_store().retrieve("c1"))
    loaded = [e for e in restarted.events if isinstance(e, UserUttered)]
    assert [e.text for e in loaded] == ["where is my order", "and my refund?"]
    assert [e.metadata for e in loaded] == [OTHER_METADATA] * 2
    assert restarted.latest_message.parse_data["metadata"] == OTHER_METADATA
    assert restarted.latest_message.intent["name"] == "greet"
    assert restarted.get_slot(SESSION_START_METADATA_SLOT) == OTHER_METADATA


@pytest.mark.parametrize("cache_size", [DEFAULT_CACHE_SIZE, 0])
def test_the_turn_only_handover_is_not_stored(tmp_path, cache_size):
    check_handover_is_not_stored(lambda: _store(tmp_path / "t.db", cache_size=cache_size))
