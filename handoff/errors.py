"""The handoff module's error hierarchy.

Every error has a message that says what was wrong and what to do. The errors know nothing
of HTTP: the app maps them to status codes (and headers) in one place, at its edge
(``tier1.http_errors``).
"""

from __future__ import annotations


class HandoffError(Exception):
    """Base class of every error the handoff module raises on purpose."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    default_message = "The handoff module failed unexpectedly; check the server log."

    @property
    def message(self) -> str:
        return str(self)


class ConversationNotFound(HandoffError):
    default_message = "No conversation has this id; list conversations to find a valid one."


class IllegalTransition(HandoffError):
    default_message = (
        "The conversation cannot move to that status from its current one; reload it and retry."
    )


class AlreadyClaimed(HandoffError):
    default_message = "Another agent has already claimed this conversation; pick another one."


class NotAssignee(HandoffError):
    default_message = "Only the agent assigned to this conversation can do that; claim it first."


class InvalidMessage(HandoffError):
    default_message = "The message is not valid; send non-empty text."


class InvalidAgent(HandoffError):
    default_message = "The agent details are not valid; check the email, password and role."


class AuthError(HandoffError):
    default_message = (
        "Missing or invalid credentials; log in at POST /api/auth/token and send "
        "'Authorization: Bearer <access_token>'."
    )


class Forbidden(HandoffError):
    default_message = "Your role does not allow this; ask an admin."


class RasaUnavailable(HandoffError):
    default_message = "The Rasa server did not answer; check that it is running and retry."


class AgentExists(HandoffError):
    default_message = "An agent with this email already exists; log in or pick another email."


class AgentNotFound(HandoffError):
    default_message = "No agent has this id; list agents at GET /api/agents."


class CannedResponseNotFound(HandoffError):
    default_message = "No canned response has this id; list them at GET /api/canned-responses."


class CannedResponseExists(HandoffError):
    default_message = "A canned response with this shortcut exists; pick another shortcut."


class InvalidCannedResponse(HandoffError):
    default_message = (
        "The canned response is not valid; send a shortcut of 1-40 characters and non-empty text."
    )


__all__ = [
    "AgentExists",
    "AgentNotFound",
    "AlreadyClaimed",
    "AuthError",
    "CannedResponseExists",
    "CannedResponseNotFound",
    "ConversationNotFound",
    "Forbidden",
    "HandoffError",
    "IllegalTransition",
    "InvalidAgent",
    "InvalidCannedResponse",
    "InvalidMessage",
    "NotAssignee",
    "RasaUnavailable",
]
