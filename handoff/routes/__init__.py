"""The handoff HTTP API, one module-level router per resource.

``/api/auth`` (login), ``/api/agents``, ``/api/conversations``, ``/api/canned-responses``,
``/api/internal`` (the action server's hook) and ``/api/tickets`` for agents; ``/widget.js``,
``/api/widget/config`` and ``/api/chat`` for end users. The routes reach the wired services
through `handoff.deps`; `handoff.wiring.build_handoff` includes `ROUTERS`, in this order, in
the router it hands the app (`Handoff.router`).
"""

from handoff.routes import (
    agents,
    auth,
    canned_responses,
    chat,
    conversations,
    internal,
    tickets,
    widget,
)

ROUTERS = (
    auth.router,
    agents.router,
    conversations.router,
    canned_responses.router,
    internal.router,
    tickets.router,
    widget.router,
    chat.router,
)

__all__ = ["ROUTERS"]
