"""The tracker store on real PostgreSQL (a throwaway database); skipped without a server."""

from __future__ import annotations

import pytest

from bot.tracker_store import PooledSQLTrackerStore
from tests.bot.test_tracker_store import DOMAIN, check_handover_is_not_stored
from tests.postgres import throwaway_database

pytestmark = pytest.mark.integration


def test_the_turn_only_handover_is_not_stored_on_postgresql():
    with throwaway_database("tracker_test", unreachable=pytest.skip) as engine:
        url = engine.url
        opened: list[PooledSQLTrackerStore] = []

        def make_store() -> PooledSQLTrackerStore:
            store = PooledSQLTrackerStore(
                domain=DOMAIN, dialect="postgresql", host=url.host, port=url.port,
                db=url.database, username=url.username, password=url.password or "")
            opened.append(store)
            return store

        try:
            check_handover_is_not_stored(make_store)
        finally:
            for store in opened:
                store.engine.dispose()  # the database is dropped next
