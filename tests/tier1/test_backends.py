"""Backends chosen by config: defaults in-process, Redis only when asked and configured."""

from __future__ import annotations

import pytest
import yaml

from handoff.presence import InMemoryPresence
from handoff.presence_redis import RedisPresence
from knowledge_base.invalidation import NoInvalidation, VersionPoller
from tier1 import backends
from tier1.settings import SettingsError, settings_from_dict
from tier1.stack import write_rasa_files

pytestmark = pytest.mark.unit

SECRETS = {"jwt_secret": "j" * 32, "internal_token": "i" * 32, "rasa_token": "r" * 32}
REDIS = {
    "redis": {"url": "redis://:pw@10.0.0.5:6380/3", "key_prefix": "acme-prod"},
    "backends": {"socket_manager": "redis", "presence": "redis", "kb_sync": "poll",
                 "rasa_lock_store": "redis"},
}


def test_defaults_stay_in_process(tmp_path):
    s = settings_from_dict({"server": {"state_dir": str(tmp_path)}}, SECRETS)
    assert backends.socket_manager(s) is None
    assert isinstance(backends.presence(s), InMemoryPresence)
    assert isinstance(backends.kb_invalidation(s, kb=None), NoInvalidation)
    endpoints, _ = write_rasa_files(s)
    assert "lock_store" not in yaml.safe_load(endpoints.read_text())


def test_redis_backends_when_configured(tmp_path):
    s = settings_from_dict({**REDIS, "server": {"state_dir": str(tmp_path)}}, SECRETS)
    manager = backends.socket_manager(s)  # connects lazily: no Redis needed to build it
    assert type(manager).__name__ == "ResyncingRedisManager"  # an AsyncRedisManager
    assert manager.channel == "acme-prod:socketio"
    assert isinstance(backends.presence(s), RedisPresence)
    assert isinstance(backends.kb_invalidation(s, kb=None), VersionPoller)
    endpoints, _ = write_rasa_files(s)
    assert yaml.safe_load(endpoints.read_text())["lock_store"] == {
        "type": "redis", "url": "10.0.0.5", "port": 6380, "db": 3, "key_prefix": "acmeprod",
        "password": "pw",
    }


def test_a_redis_backend_without_a_url_is_refused():
    with pytest.raises(SettingsError, match=r"backends.presence is redis but redis.url is not set"):
        settings_from_dict({"backends": {"presence": "redis"}}, SECRETS)


def test_an_unknown_backend_type_is_an_error_not_a_fallback():
    with pytest.raises(SettingsError, match=r"backends.socket_manager: unexpected value"):
        settings_from_dict({"backends": {"socket_manager": "kafka"}}, SECRETS)
    with pytest.raises(SettingsError, match=r"redis.url: must start with redis://"):
        settings_from_dict({"redis": {"url": "127.0.0.1:6379"}}, SECRETS)
