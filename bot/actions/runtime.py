"""Per-process state of the action server: settings and one shared HTTP client, made lazily.

rasa-sdk imports every module of `bot.actions` at start-up, so nothing here runs at import
time; the first action that needs settings reads them from the config named by ``TIER1_CONFIG``.
"""

from __future__ import annotations

import functools
import logging
import os

import httpx

from bot import metrics
from bot.actions.app_client import AppClient
from bot.actions.errors import ActionConfigError
from bot.actions.settings import ActionSettings, ActionSettingsError, load_action_settings
from bot.escalation import EscalationPolicy
from bot.metrics import StageObserver

CONFIG_ENV = "TIER1_CONFIG"
# Upper bound for one call to the app server. The gateway waits handoff.rasa_timeout_seconds for
# Rasa's whole turn, which may hold a KB search and a handoff request: each call gets at most a
# third of that budget, so a slow app leads to the bot's own apology, not to a gateway timeout.
APP_CALL_TIMEOUT_SECONDS = 5.0

_http: httpx.AsyncClient | None = None


@functools.lru_cache(maxsize=1)
def settings() -> ActionSettings:
    """The action server's settings, read once per process from ``$TIER1_CONFIG``.

    Raises:
        ActionConfigError: the variable is unset or the config/secrets are invalid.
    """
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise ActionConfigError(
            f"{CONFIG_ENV} is not set: start the action server with `tier1 run`, or export "
            f"{CONFIG_ENV}=/absolute/path/to/config.yml (and the TIER1_* secrets) before "
            "`rasa run actions --actions bot.actions`"
        )
    try:
        return load_action_settings(path, os.environ)
    except ActionSettingsError as e:
        raise ActionConfigError(f"the action server cannot start its actions: {e}") from e


@functools.lru_cache(maxsize=1)
def observe_stage() -> StageObserver:
    """Records ``(stage, seconds)`` into the stage histogram as the ``actions`` process."""
    return metrics.observer("actions")


def policy() -> EscalationPolicy:
    """The escalation policy configured by the ``escalation:`` section."""
    return EscalationPolicy(settings().escalation)


def app_call_timeout(s: ActionSettings) -> float:
    """Seconds allowed for one call to the app server (see APP_CALL_TIMEOUT_SECONDS)."""
    return min(APP_CALL_TIMEOUT_SECONDS, s.rasa_timeout_seconds / 3)


def http_client() -> httpx.AsyncClient:
    """The process-wide HTTP client (connection pooling across actions), created on first use."""
    global _http
    if _http is None or _http.is_closed:
        # One INFO line per KB call is noise (and CPU) at tens of messages a second; the app
        # server quiets httpx the same way.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        _http = httpx.AsyncClient()
    return _http


def use_http_client(client: httpx.AsyncClient | None) -> None:
    """Replace the shared HTTP client, e.g. with one on an `httpx.MockTransport` in tests.

    ``None`` drops the current client; the next call to `http_client` creates a fresh one.
    """
    global _http
    _http = client


def app_client() -> AppClient:
    """A client for the app server's internal API, built from the settings."""
    s = settings()
    return AppClient(
        http_client(),
        s.app_url,
        s.internal_token.get_secret_value(),
        app_call_timeout(s),
    )


def reset() -> None:
    """Forget cached settings and the HTTP client (tests; a config reload)."""
    settings.cache_clear()
    use_http_client(None)
