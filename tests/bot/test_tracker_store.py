"""tier1's tracker store is Rasa's SQL store; on SQLite it is pooled and in WAL mode."""

from __future__ import annotations

import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import class_from_module_path
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from bot.stack import TRACKER_STORE_TYPE
from bot.tracker_store import PooledSQLTrackerStore

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
