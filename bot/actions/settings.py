"""The few settings the action server needs, read from config.yml without the app's settings.

The action server is a Rasa process: it must not import the app (`tier1`). `tier1 run`
validates the whole config before it starts the action server; this module reads only what
the actions use - where the app is, the internal token, the gateway's time budget, the
clarify size and the ``escalation:`` section - with the owning packages' own models, so a
value means the same here as in the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError

from bot.escalation import EscalationSettings
from handoff.settings import HandoffSettings
from knowledge_base.settings import KnowledgeBaseSettings

INTERNAL_TOKEN_ENV = "TIER1_INTERNAL_TOKEN"
# The app's defaults for server.host / server.port (tier1.settings.ServerSettings).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ActionSettingsError(Exception):
    """config.yml or the environment cannot give the action server its settings."""


class ActionSettings(BaseModel):
    """What the custom actions read: validated once per process."""

    app_url: str
    internal_token: SecretStr
    rasa_timeout_seconds: float = Field(gt=0)
    clarify_max_options: int = Field(ge=1)
    escalation: EscalationSettings = EscalationSettings()

    class Config:
        """Pydantic options: read-only once validated."""

        allow_mutation = False


def app_url(server: Mapping[str, Any]) -> str:
    """The app's loopback URL from the ``server:`` section (a wildcard host means loopback)."""
    host = server.get("host") or DEFAULT_HOST
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{host}:{int(server.get('port') or DEFAULT_PORT)}"


def action_settings_from_dict(data: Mapping[str, Any], internal_token: str) -> ActionSettings:
    """Build the settings from a parsed config.yml and the internal token."""
    try:
        handoff = HandoffSettings(**(data.get("handoff") or {}))
        kb = KnowledgeBaseSettings(**(data.get("knowledge_base") or {}))
        return ActionSettings(
            app_url=app_url(data.get("server") or {}),
            internal_token=internal_token,
            rasa_timeout_seconds=handoff.rasa_timeout_seconds,
            clarify_max_options=kb.decision.clarify_max_options,
            escalation=EscalationSettings(**(data.get("escalation") or {})),
        )
    except (ValidationError, TypeError, ValueError) as e:
        raise ActionSettingsError(f"config is invalid for the action server: {e}") from e


def load_action_settings(config_path: Path | str, env: Mapping[str, str]) -> ActionSettings:
    """Read config.yml and the internal token from ``env``; raise ActionSettingsError naming the problem."""
    path = Path(config_path)
    token = env.get(INTERNAL_TOKEN_ENV)
    if not token:
        raise ActionSettingsError(
            f"missing secret in the environment: {INTERNAL_TOKEN_ENV}. `tier1 run` sets it; "
            "otherwise export it with the app's value"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise ActionSettingsError(f"{path}: not found") from e
    except yaml.YAMLError as e:
        raise ActionSettingsError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ActionSettingsError(f"{path}: expected a mapping of sections at the top level")
    return action_settings_from_dict(data, token)


__all__ = [
    "ActionSettings",
    "ActionSettingsError",
    "action_settings_from_dict",
    "app_url",
    "load_action_settings",
]
