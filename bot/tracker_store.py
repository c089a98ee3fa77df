"""Rasa's SQL tracker store, with SQLite set up for a server rather than a script.

Rasa's ``SQLTrackerStore`` on SQLite opens a new connection for every load and every save
(SQLAlchemy 1.4 gives file databases a ``NullPool``) and writes in SQLite's default rollback
journal with a full fsync per commit: under load, saving the tracker was 12 % of the Rasa
server's CPU (BENCHMARKS.md, "Cost of one turn"). Here the same tables are written through a
small connection pool, in WAL mode with ``synchronous=NORMAL``: a commit survives the Rasa
process being killed (the fault drills kill it with -9), only an operating-system crash can
lose the last transactions, and those hold dialogue state only, because tier1's own database
keeps every message (stored before it is acknowledged). On PostgreSQL the engine is Rasa's
unchanged; the cache and what is stored (below) are the same on both.

It also keeps recently used trackers in the process (`TrackerCache`), because loading one meant
reading every event of the conversation's session and replaying them (a cost that grew with
the conversation: a quarter of Rasa's CPU under load). A cached tracker is used only while it
is provably current: its newest stored event id is still the conversation's newest in the
database (one indexed query; another process that wrote to the conversation makes the cache
miss) and it holds no events that were not saved (a turn that failed half-way). A save then
appends only the events the cache knows are new, without counting the stored ones. A new
conversation session (``session_started``) after an earlier one drops the entry, so the next
load reads just the new session, as Rasa's own store does. A brand-new conversation (nothing
stored) is cached from its first save: its tracker holds nothing of an earlier session (at most
the ``action_listen`` and ``action_session_start`` before its first ``session_started``, which
Rasa's ``applied_events`` discards), so it is the tracker a load would rebuild. Most
conversations are short (a question or two, then an answer or a person), so without this every
one was counted and re-read from the database twice before the cache could help.

What the app hands over with a user message for that message's turn alone (its knowledge-base
search and sentence vector, `bot.turn_metadata`) is left out of the stored events; the events in
memory keep it (the turn's actions read it). Nothing reads it after its turn: the NLU takes the
vector before the turn's actions run, and the answer action uses a search only if it was made
for exactly the text of the latest user message (without one, it asks the app, as it does for a
tracker loaded from the database).

Configured by `tier1.stack` in the generated endpoints.yml as
``tracker_store: {type: bot.tracker_store.PooledSQLTrackerStore, ...}``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cachetools import LRUCache
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.pool import QueuePool

from bot.turn_metadata import event_without_turn_only

DEFAULT_CACHE_SIZE = 2000  # conversations; a tracker is tens of kB

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
)


@dataclass
class _Entry:
    tracker: DialogueStateTracker
    saved: int  # events of `tracker` known to be stored
    last_id: int | None  # the newest stored event id of the conversation when last seen


class TrackerCache:
    """Recently used trackers by conversation id, least recently used dropped first.

    ``size`` 0 (or less) caches nothing.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: LRUCache[str, _Entry] = LRUCache(max(1, size))

    def get(self, sender_id: str) -> _Entry | None:
        """The cached entry of a conversation (now the most recently used), or None."""
        return self._entries.get(sender_id)

    def put(self, sender_id: str, entry: _Entry) -> None:
        """Cache a conversation's entry, dropping the least recently used beyond ``size``."""
        if self.size > 0:
            self._entries[sender_id] = entry

    def drop(self, sender_id: str) -> None:
        """Forget a conversation's entry, if cached."""
        self._entries.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._entries)


class PooledSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with a pooled WAL-mode SQLite engine and a tracker cache.

    The module docstring says why. ``cache_size`` (endpoints.yml) bounds the cached
    conversations; 0 turns the cache off.
    """

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = sqlite_engine(url)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.cache = TrackerCache(int(cache_size))
        # The cache's two queries run on Core connections, not ORM sessions: under load the
        # sessions' setup and unit of work were most of the tracker store's CPU.
        self._events = self.SQLEvent.__table__
        self._newest_id = sa.select(sa.func.max(self._events.c.id)).where(
            self._events.c.sender_id == sa.bindparam("sender_id")
        )

    def _last_event_id(self, sender_id: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.execute(self._newest_id, {"sender_id": sender_id}).scalar()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session's tracker: the cached one while it is current, else Rasa's load."""
        if self.cache.size <= 0:
            return await super().retrieve(sender_id)
        last_id = self._last_event_id(sender_id)
        if last_id is None:  # nothing stored: Rasa's load would find no events either
            self.cache.drop(sender_id)
            return None
        entry = self.cache.get(sender_id)
        if (
            entry is not None
            and entry.last_id == last_id
            and len(entry.tracker.events) == entry.saved
        ):
            return entry.tracker
        # Read the newest id before the events: a write in between makes the next check miss.
        tracker = await super().retrieve(sender_id)
        if tracker is None:
            self.cache.drop(sender_id)
        else:
            self.cache.put(sender_id, _Entry(tracker, len(tracker.events), last_id))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the tracker's new events (only those, when the cache knows which are new)."""
        sender_id = tracker.sender_id
        if self.cache.size <= 0:
            await self._save_counting(tracker)
            return
        entry = self.cache.get(sender_id)
        if entry is None and self._last_event_id(sender_id) is None:
            # A new conversation: every event is new, and the tracker is cacheable as it is.
            await self.stream_events(tracker)
            last_id = self._append(sender_id, list(tracker.events))
            if last_id is not None and _single_session(tracker):
                self.cache.put(sender_id, _Entry(tracker, len(tracker.events), last_id))
            return
        if (
            entry is None
            or entry.tracker is not tracker
            or entry.saved > len(tracker.events)
            or self._last_event_id(sender_id) != entry.last_id  # another process wrote
        ):
            self.cache.drop(sender_id)  # the next load reads the database and caches that
            await self._save_counting(tracker)
            return
        await self.stream_events(tracker)
        new = list(itertools.islice(tracker.events, entry.saved, None))
        last_id = self._append(sender_id, new)
        if last_id is None:
            return
        if any(isinstance(event, SessionStarted) for event in new) and not _single_session(
            tracker
        ):
            self.cache.drop(sender_id)  # the next load reads the new session alone
            return
        entry.saved = len(tracker.events)
        entry.last_id = last_id

    def _append(self, sender_id: str, events: list[Any]) -> int | None:
        """Store ``events`` in one transaction; the newest id, or None when there were none."""
        if not events:
            return None
        rows = [self._values(sender_id, event) for event in events]
        with self.engine.begin() as connection:
            connection.execute(self._events.insert(), rows)
            # in the same transaction: our rows are the conversation's newest (one process
            # writes a conversation at a time: the gateway routes it to one Rasa)
            return connection.execute(self._newest_id, {"sender_id": sender_id}).scalar()

    async def _save_counting(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save: count the latest session's stored events, append the tracker's others."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            new = self._additional_events(session, tracker)
            session.add_all([self._row(tracker.sender_id, event) for event in new])
            session.commit()

    def _row(self, sender_id: str, event: Any) -> Any:
        return self.SQLEvent(**self._values(sender_id, event))

    @staticmethod
    def _values(sender_id: str, event: Any) -> dict[str, Any]:
        data = event_without_turn_only(event)
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }


def _single_session(tracker: DialogueStateTracker) -> bool:
    """True when ``tracker`` holds no earlier session: no user message before its one start."""
    starts = 0
    for event in tracker.events:
        if isinstance(event, SessionStarted):
            starts += 1
            if starts > 1:
                return False
        elif isinstance(event, UserUttered) and starts == 0:
            return False
    return True


def sqlite_engine(url: Any) -> sa.engine.Engine:
    """A pooled SQLite engine whose connections are in WAL mode with ``synchronous=NORMAL``."""
    engine = sa.create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    return engine


__all__ = ["DEFAULT_CACHE_SIZE", "PooledSQLTrackerStore", "TrackerCache", "sqlite_engine"]
