"""The shared-state backends chosen by ``backends:`` in config.yml (one factory each).

``memory`` / ``none`` keep state in this process (one replica, the zero-setup default);
``redis`` / ``poll`` share it between replicas: socket.io's `AsyncRedisManager` relays
every emit to the replica holding the socket, agent presence lives in Redis, and each
replica polls the knowledge base's version. Settings validation already refused a Redis
backend without ``redis.url``; an unknown type here is a programming error.
"""

from __future__ import annotations

from typing import Any

from handoff.presence import InMemoryPresence, Presence
from knowledge_base.invalidation import Invalidation, create_invalidation
from tier1.settings import Settings


def _redis_url(settings: Settings) -> str:
    if settings.redis.url is None:  # settings validation prevents this
        raise ValueError("a redis backend is configured without redis.url")
    return settings.redis.url


def socket_manager(settings: Settings) -> Any | None:
    """The socket.io client manager (None: python-socketio's in-process default)."""
    kind = settings.backends.socket_manager
    if kind == "memory":
        return None
    if kind == "redis":
        from handoff.socket_redis import ResyncingRedisManager

        return ResyncingRedisManager(
            _redis_url(settings), channel=f"{settings.redis.key_prefix}:socketio"
        )
    raise ValueError(f"unknown backends.socket_manager {kind!r}; use memory or redis")


def presence(settings: Settings) -> Presence:
    """Where agents' presence lives."""
    kind = settings.backends.presence
    timeout = settings.handoff.presence_timeout_seconds
    if kind == "memory":
        return InMemoryPresence(timeout)
    if kind == "redis":
        import redis

        from handoff.presence_redis import RedisPresence

        client = redis.Redis.from_url(_redis_url(settings), socket_timeout=5, health_check_interval=30)
        return RedisPresence(client, timeout, prefix=settings.redis.key_prefix)
    raise ValueError(f"unknown backends.presence {kind!r}; use memory or redis")


def kb_invalidation(settings: Settings, kb) -> Invalidation:
    """How this replica learns of knowledge-base writes made by another."""
    return create_invalidation(settings.backends.kb_sync, kb, settings.backends.kb_sync_interval_seconds)


def rasa_lock_store(settings: Settings) -> dict[str, Any] | None:
    """Rasa's ``lock_store`` entry for endpoints.yml (None: Rasa's in-memory lock store)."""
    kind = settings.backends.rasa_lock_store
    if kind == "memory":
        return None
    if kind == "redis":
        from redis.connection import parse_url

        parts = parse_url(_redis_url(settings))
        store: dict[str, Any] = {
            "type": "redis",
            "url": parts.get("host", "localhost"),
            "port": int(parts.get("port", 6379)),
            "db": int(parts.get("db", 0)),
            # Rasa accepts only an alphanumeric prefix (else it warns and uses its own).
            "key_prefix": "".join(c for c in settings.redis.key_prefix if c.isalnum()) or "tier1",
        }
        if parts.get("password"):
            store["password"] = parts["password"]
        if _redis_url(settings).startswith("rediss://"):
            store["use_ssl"] = True
        return store
    raise ValueError(f"unknown backends.rasa_lock_store {kind!r}; use memory or redis")


__all__ = ["kb_invalidation", "presence", "rasa_lock_store", "socket_manager"]
