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
        """The error's message, as ``str(error)`` gives it."""
        return str(self)


class ConversationNotFound(HandoffError):
    """Raised when no conversation has the id asked for."""

    default_message = "No conversation has this id; list conversations to find a valid one."


class IllegalTransition(HandoffError):
    """Raised when a conversation cannot make the asked move from its current status.

    The move is missing from `handoff.status.TRANSITIONS`, the conversation changed
    meanwhile, or a guard refuses it (e.g. an agent writing to a conversation it does
    not hold as ``assigned``).
    """

    default_message = (
        "The conversation cannot move to that status from its current one; reload it and retry."
    )


class AlreadyClaimed(HandoffError):
    """Raised when claiming a conversation that is already assigned (e.g. another claim won)."""

    default_message = "Another agent has already claimed this conversation; pick another one."


class NotAssignee(HandoffError):
    """Raised when an agent acts on an assigned conversation that another agent holds."""

    default_message = "Only the agent assigned to this conversation can do that; claim it first."


class InvalidMessage(HandoffError):
    """Raised when a message (text, client id, metadata) or a handoff request is not valid."""

    default_message = "The message is not valid; send non-empty text."


class InvalidAgent(HandoffError):
    """Raised when an account's details or an action on agents are not valid.

    E.g. a bad email, role, capacity or password; an admin deactivating their own
    account; a transfer to an unknown or deactivated agent, or to the holder itself.
    """

    default_message = "The agent details are not valid; check the email, password and role."


class AuthError(HandoffError):
    """Raised when credentials are missing or not valid: a wrong password, a bad token."""

    default_message = (
        "Missing or invalid credentials; log in at POST /api/auth/token and send "
        "'Authorization: Bearer <access_token>'."
    )


class Forbidden(HandoffError):
    """Raised when a known caller may not do this: its role, or a deactivated account."""

    default_message = "Your role does not allow this; ask an admin."


class RasaUnavailable(HandoffError):
    """Raised when the Rasa server cannot be reached, is too busy or slow, or fails a request."""

    default_message = "The Rasa server did not answer; check that it is running and retry."


class AgentExists(HandoffError):
    """Raised when an agent account is created with an email already in use."""

    default_message = "An agent with this email already exists; log in or pick another email."


class AgentNotFound(HandoffError):
    """Raised when no agent has the id (or, in the CLI, the email) asked for."""

    default_message = "No agent has this id; list agents at GET /api/agents."


class CannedResponseNotFound(HandoffError):
    """Raised when no canned response has the id asked for."""

    default_message = "No canned response has this id; list them at GET /api/canned-responses."


class CannedResponseExists(HandoffError):
    """Raised when a canned response would take a shortcut another one already uses."""

    default_message = "A canned response with this shortcut exists; pick another shortcut."


class InvalidCannedResponse(HandoffError):
    """Raised when a canned response's shortcut or text is empty or too long."""

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
