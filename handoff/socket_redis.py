"""The widget socket across replicas over Redis, with a resync after a Redis outage.

python-socketio's `AsyncRedisManager` relays every emit through Redis pub/sub. While Redis is
down (a restart, a failover) its publishes are dropped after one retry, and after Redis is back
its listener resubscribes only after a back-off: every bot, agent and system message pushed in
that gap is stored but never reaches its widget, which waits in silence. This manager closes
the transport of every socket on this replica as soon as its listener has resubscribed; the
clients reconnect on their own (a transport close, unlike a socket.io disconnect, makes
socket.io clients reconnect), rejoin their conversation and replay what they missed with
``history {after_id}``.
"""

from __future__ import annotations

import asyncio
import logging

import socketio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class ResyncingRedisManager(socketio.AsyncRedisManager):
    """`socketio.AsyncRedisManager` that makes local clients resync after a pub/sub gap."""

    async def _redis_listen_with_retries(self):  # overrides upstream: resync after reconnecting
        retry_sleep = 1
        connect = False
        while True:
            try:
                if connect:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    retry_sleep = 1
                    connect = False
                    await self.resync_local_clients()
                async for message in self.pubsub.listen():
                    yield message
            except RedisError:
                log.error("lost the Redis pub/sub connection; retrying in %d s", retry_sleep)
                connect = True
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 60)

    async def resync_local_clients(self) -> int:
        """Close the transport of every socket connected to this replica; returns how many."""
        eio_sids = {eio for rooms in self.rooms.values() for eio in rooms.get(None, {}).values()}
        for eio_sid in eio_sids:
            try:
                await self.server.eio.disconnect(eio_sid)
            except Exception:  # one broken socket must not stop the others
                log.exception("could not close socket %s for a resync", eio_sid)
        if eio_sids:
            log.warning("Redis pub/sub is back: %d widget sockets reconnect to replay what "
                        "they missed", len(eio_sids))
        return len(eio_sids)


__all__ = ["ResyncingRedisManager"]
