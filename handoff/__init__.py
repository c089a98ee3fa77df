"""tier1's handoff module: conversations, the widget socket, the agent queue and API.

This is the package's face: it hands on the names below and does nothing else. Build the
module with `build_handoff` (`handoff.wiring`); importing this package creates nothing (no
engine, no sockets, no HTTP clients) and loads a submodule only when one of its names is
first used. It never imports ``rasa`` or ``bot``: Rasa is reached over HTTP.
"""

from __future__ import annotations

import importlib
from typing import Any

# Where each public name lives.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "handoff.accounts": ("AgentAccounts",),
    "handoff.assignment": ("Assigner",),
    "handoff.auth": ("Auth", "Principal"),
    "handoff.canned": ("CannedResponses",),
    "handoff.desk": ("AgentDesk",),
    "handoff.errors": (
        "AgentExists",
        "AlreadyClaimed",
        "AuthError",
        "ConversationNotFound",
        "Forbidden",
        "HandoffError",
        "IllegalTransition",
        "InvalidAgent",
        "InvalidMessage",
        "NotAssignee",
        "RasaUnavailable",
    ),
    "handoff.events": ("Event", "EventBus"),
    "handoff.models": ("Base",),
    "handoff.presence": ("InMemoryPresence", "Presence", "PresenceState"),
    "handoff.queue_positions": ("QueuePositions",),
    "handoff.rasa_client": ("HttpRasaClient", "InMemoryRasa", "RasaClient"),
    "handoff.records": (
        "Agent",
        "Conversation",
        "ConversationDetail",
        "ConversationSummary",
        "StoredMessage",
    ),
    "handoff.service": ("HandoffService",),
    "handoff.sessions": ("InvalidSession", "NotYourConversation", "WidgetSessions"),
    "handoff.settings": ("HandoffSettings",),
    "handoff.status": ("TRANSITIONS", "Status", "transition"),
    "handoff.store": ("ConversationStore",),
    "handoff.webhooks": ("WebhookNotifier",),
    "handoff.wiring": ("STATIC_DIR", "Handoff", "build_handoff"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'handoff' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


# The same names as `_EXPORTS` (tests/handoff/test_face.py checks).
__all__ = [
    "STATIC_DIR",
    "TRANSITIONS",
    "Agent",
    "AgentAccounts",
    "AgentDesk",
    "AgentExists",
    "AlreadyClaimed",
    "Assigner",
    "Auth",
    "AuthError",
    "Base",
    "CannedResponses",
    "Conversation",
    "ConversationDetail",
    "ConversationNotFound",
    "ConversationStore",
    "ConversationSummary",
    "Event",
    "EventBus",
    "Forbidden",
    "Handoff",
    "HandoffError",
    "HandoffService",
    "HandoffSettings",
    "HttpRasaClient",
    "IllegalTransition",
    "InMemoryPresence",
    "InMemoryRasa",
    "InvalidAgent",
    "InvalidMessage",
    "InvalidSession",
    "NotAssignee",
    "NotYourConversation",
    "Presence",
    "PresenceState",
    "Principal",
    "QueuePositions",
    "RasaClient",
    "RasaUnavailable",
    "Status",
    "StoredMessage",
    "WebhookNotifier",
    "WidgetSessions",
    "build_handoff",
    "transition",
]
