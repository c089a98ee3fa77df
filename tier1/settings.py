"""Typed settings for the whole assistant, validated at start-up.

`config.yml` holds Rasa's keys and tier1's sections. tier1 validates its own sections into
`Settings` and refuses unknown keys with a message naming the key. Secrets come from the
environment only; nothing below this module reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, root_validator, validator

from bot.escalation import EscalationSettings
from bot.rasa_config import RASA_KEYS, rasa_config  # noqa: F401 (rasa_config: part of this face)
from handoff.ratelimit import LimitSettings
from handoff.settings import HandoffSettings
from knowledge_base.settings import KnowledgeBaseSettings

TIER1_SECTIONS = (
    "server", "database", "knowledge_base", "handoff", "escalation", "redis", "backends", "limits",
)
SECRET_ENV = {
    "jwt_secret": "TIER1_JWT_SECRET",
    "internal_token": "TIER1_INTERNAL_TOKEN",
    "rasa_token": "TIER1_RASA_TOKEN",
}
# Optional secrets: read when set, never required.
OPTIONAL_SECRET_ENV = {"webhook_secret": "TIER1_WEBHOOK_SECRET"}


class SettingsError(Exception):
    """config.yml or the environment is invalid; the message names the key and the fix."""


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class ServerSettings(_Strict):
    """``server:``: where the app, Rasa and the action server listen, and local folders."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str | None = None
    rasa_port: int = Field(5005, ge=1, le=65535)
    # Rasa server processes: "auto" = one per core. Each listens on rasa_port + i; the app sends
    # a conversation always to the same one (by its id), so Rasa's in-process lock store holds.
    rasa_processes: int | Literal["auto"] = 1
    action_port: int = Field(5055, ge=1, le=65535)
    state_dir: Path = Path(".tier1")
    models_dir: Path = Path("models")
    cors_origins: list[str] = ["*"]
    startup_timeout_seconds: float = Field(180, gt=0)

    @property
    def app_url(self) -> str:
        """The app's local URL (a wildcard host means 127.0.0.1)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The app's public URL (``public_url``, else `app_url`), without a trailing slash."""
        return (self.public_url or self.app_url).rstrip("/")

    @validator("rasa_processes", pre=True)
    def _processes(cls, v: int | str) -> int | str:
        if v != "auto" and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 64):
            raise ValueError('must be "auto" (one per core) or a whole number from 1 to 64')
        return v

    @property
    def rasa_process_count(self) -> int:
        """How many Rasa servers `tier1 run` starts ("auto": the machine's cores)."""
        if self.rasa_processes == "auto":
            return max(1, os.cpu_count() or 1)
        return int(self.rasa_processes)

    @property
    def rasa_url(self) -> str:
        """The first Rasa server (all of them: `rasa_urls`)."""
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa server, on consecutive ports from ``rasa_port``."""
        return [f"http://127.0.0.1:{self.rasa_port + i}" for i in range(self.rasa_process_count)]

    @property
    def action_url(self) -> str:
        """The action server's local URL."""
        return f"http://127.0.0.1:{self.action_port}"


class DatabaseSettings(_Strict):
    """``database:``: the SQLAlchemy URL every package's tables live in."""

    url: str = "sqlite:///.tier1/tier1.db"

    @validator("url")
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite:", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg2://")
        return v


class RedisSettings(_Strict):
    """Where Redis is, for the ``redis`` backends (none configured: no backend may use it)."""

    url: str | None = None
    # Namespaces socket.io's channel and tier1's keys, so several deployments can share a Redis.
    key_prefix: str = Field("tier1", regex=r"^[A-Za-z0-9_.:-]{1,64}$")

    @validator("url")
    def _redis_scheme(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)")
        return v


class BackendSettings(_Strict):
    """Which implementation backs each shared piece of state.

    The defaults run in one process; every ``redis`` type needs ``redis.url``. See
    tier1/backends.py.
    """

    socket_manager: Literal["memory", "redis"] = "memory"  # redis: emits reach every replica's sockets
    presence: Literal["memory", "redis"] = "memory"  # redis: every replica sees every agent
    kb_sync: Literal["none", "poll"] = "none"  # poll: rebuild the index when another replica wrote
    kb_sync_interval_seconds: float = Field(0.5, gt=0, le=60)
    rasa_lock_store: Literal["memory", "redis"] = "memory"  # redis: several Rasa servers

    def redis_users(self) -> list[str]:
        """The keys set to a Redis backend."""
        return [k for k in ("socket_manager", "presence", "rasa_lock_store") if getattr(self, k) == "redis"]


class Secrets(_Strict):
    """The secrets, read from the environment (never from config.yml); 16 characters or more."""

    jwt_secret: SecretStr
    internal_token: SecretStr
    rasa_token: SecretStr
    webhook_secret: SecretStr | None = None  # signs handoff webhooks (handoff.webhooks.urls)

    @validator("*")
    def _long_enough(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return v


class Settings(_Strict):
    """Every setting of the app: config.yml's sections plus the secrets and the project root."""

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    knowledge_base: KnowledgeBaseSettings = KnowledgeBaseSettings()
    handoff: HandoffSettings = HandoffSettings()
    escalation: EscalationSettings = EscalationSettings()
    redis: RedisSettings = RedisSettings()
    backends: BackendSettings = BackendSettings()
    limits: LimitSettings = LimitSettings()
    secrets: Secrets
    root: Path = Field(Path("."), description="directory config.yml lives in; relative paths resolve here")

    @root_validator(skip_on_failure=True)
    def _redis_configured(cls, values: dict[str, Any]) -> dict[str, Any]:
        users = values["backends"].redis_users()
        if users and values["redis"].url is None:
            raise ValueError(
                f"backends.{users[0]} is redis but redis.url is not set; set redis.url "
                "(e.g. redis://127.0.0.1:6379/0) or use the in-process type"
            )
        return values

    @root_validator(skip_on_failure=True)
    def _onnx_cache_in_state_dir(cls, values: dict[str, Any]) -> dict[str, Any]:
        # Like kb_index_path, the exported ONNX models live under server.state_dir (default
        # <state_dir>/onnx). Resolved into the settings because the embedder is built from
        # knowledge_base.embedder alone (knowledge_base.embedder.create_embedder).
        # Installed encoders too: <state_dir>/encoders (tier1 models install).
        kb = values["knowledge_base"]
        state_dir = values["root"] / values["server"].state_dir  # an absolute one wins
        update = {}
        for key, default in (("cache_dir", "onnx"), ("models_dir", "encoders")):
            value = getattr(kb.embedder, key)
            if value is None or not value.is_absolute():
                update[key] = state_dir / (value or default)
        embedder = kb.embedder.copy(update=update)
        values["knowledge_base"] = kb.copy(update={"embedder": embedder})
        return values

    def path(self, p: Path | str) -> Path:
        """Resolve a path from config relative to the project root."""
        p = Path(p)
        return p if p.is_absolute() else (self.root / p)

    @property
    def state_dir(self) -> Path:
        """The state folder (``server.state_dir``) resolved against the project root."""
        return self.path(self.server.state_dir)

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path resolved against the project root."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
            return prefix + str(self.path(url[len(prefix):]).resolve())
        return url

    @property
    def models_dir(self) -> Path:
        """The Rasa models folder (``server.models_dir``) resolved against the project root."""
        return self.path(self.server.models_dir)

    @property
    def kb_index_path(self) -> Path:
        """The knowledge base's index file (``knowledge_base.index.path``), in ``state_dir``."""
        return self.state_dir / self.knowledge_base.index.path


def _format_error(err: ValidationError, source: str) -> str:
    lines = [f"{source} is invalid:"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"] if p != "__root__")
        msg = e["msg"]
        if e["type"] == "value_error.extra":
            msg = "unknown key (check the spelling; see config.yml in the tier1 repository for the valid keys)"
        if key.startswith("secrets."):
            field = key.split(".", 1)[1]
            name = SECRET_ENV.get(field) or OPTIONAL_SECRET_ENV.get(field, key)
            lines.append(f"  - environment variable {name}: {msg}")
        else:
            lines.append(f"  - {key or '(top level)'}: {msg}")
    return "\n".join(lines)


def settings_from_dict(
    data: Mapping[str, Any], secrets: Mapping[str, str], root: Path = Path("."), source: str = "config"
) -> Settings:
    """Validate tier1's sections of a parsed config plus secrets into `Settings`."""
    unknown = sorted(k for k in data if k not in RASA_KEYS and k not in TIER1_SECTIONS)
    if unknown:
        raise SettingsError(
            f"{source}: unknown top-level key(s) {', '.join(unknown)}; tier1 knows "
            f"{', '.join(TIER1_SECTIONS)} and Rasa's {', '.join(sorted(RASA_KEYS))}"
        )
    ours = {k: data[k] for k in TIER1_SECTIONS if data.get(k) is not None}
    try:
        return Settings(**ours, secrets=dict(secrets), root=root)
    except ValidationError as e:
        raise SettingsError(_format_error(e, source)) from e


def secrets_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The secrets from ``env`` by field name; raise SettingsError naming any that is missing."""
    missing = [name for name in SECRET_ENV.values() if not env.get(name)]
    if missing:
        raise SettingsError(
            "missing secret(s) in the environment: " + ", ".join(missing)
            + ". `tier1 run` creates them in .tier1/secrets.env; otherwise export them "
            "(e.g. `export TIER1_JWT_SECRET=$(openssl rand -hex 32)`)."
        )
    found = {field: env[name] for field, name in SECRET_ENV.items()}
    found.update({field: env[name] for field, name in OPTIONAL_SECRET_ENV.items() if env.get(name)})
    return found


def load_settings(config_path: Path | str = "config.yml", env: Mapping[str, str] | None = None) -> Settings:
    """Read config.yml and secrets from the environment; raise SettingsError naming the problem."""
    path = Path(config_path)
    env = os.environ if env is None else env
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise SettingsError(f"{path}: not found; run tier1 from the repository root or pass --config") from e
    except yaml.YAMLError as e:
        raise SettingsError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of sections at the top level")
    return settings_from_dict(data, secrets_from_env(env), root=path.resolve().parent, source=str(path))


def load_settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings for a child process: config path from TIER1_CONFIG (default ./config.yml)."""
    env = os.environ if env is None else env
    return load_settings(env.get("TIER1_CONFIG", "config.yml"), env)
