"""Errors raised inside the action server (one hierarchy for `bot.actions`)."""

from __future__ import annotations


class ActionsError(Exception):
    """Base class for errors of tier1's custom actions."""


class ActionConfigError(ActionsError):
    """The action server was started without a usable configuration."""


class AppUnavailable(ActionsError):
    """The app server could not be reached, timed out, refused the call or answered nonsense.

    Attributes:
        status_code: the HTTP status the app answered with, or None when there was no answer.
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
