"""The agents' real-time socket: the socket.io namespace ``/agent``.

Connect with the agent's access token in the ``auth`` payload (``{"token": "<jwt>"}``); a
missing or invalid token refuses the connection. While connected the agent is present
(heartbeats keep them so; see `handoff.presence`).

Client -> server (each acknowledged with ``{"ok": true, ...}`` or ``{"ok": false, "error",
"status"}``): ``heartbeat {state: online|away}``, ``watch {conversation_id, after_id}`` (join
its live feed; the ack carries every message after ``after_id``, notes included, so a
reconnect replays without gaps or duplicates), ``unwatch``, ``send {conversation_id, text,
client_id}`` and ``note {...}`` (acknowledged only once stored), ``typing {conversation_id,
typing}``.

Server -> client: ``queue {event, conversation_id, data}`` on every status change,
``message`` (a stored message) and ``typing`` for watched conversations, ``activity
{conversation_id, message_id, sender}`` to every agent when a user writes in any conversation
(lists refresh their previews and mark it unread; the text stays in the watched feed),
``presence {agent_id, presence}``, ``csat {conversation_id, rating}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import socketio

from handoff import events
from handoff.assignment import Assigner
from handoff.auth import Auth
from handoff.desk import AgentDesk
from handoff.errors import AuthError, HandoffError
from handoff.events import Event, EventBus
from handoff.presence import PresenceState
from handoff.records import Agent
from handoff.status import Status

log = logging.getLogger(__name__)

NAMESPACE = "/agent"
ALL_AGENTS = "agents"


def _room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class AgentSocket:
    """Registers the ``/agent`` namespace on the shared `socketio.AsyncServer`."""

    def __init__(
        self, sio: socketio.AsyncServer, auth: Auth, desk: AgentDesk, assigner: Assigner,
        bus: EventBus, error_status: Callable[[Exception], int] = lambda _e: 500,
    ) -> None:
        # The status a failed ack carries: the app's one error-to-HTTP mapping, handed in.
        self.error_status = error_status
        self.sio = sio
        self.auth = auth
        self.desk = desk
        self.service = desk.service
        self.assigner = assigner
        for name, handler in {
            "connect": self.on_connect,
            "disconnect": self.on_disconnect,
            "heartbeat": self.on_heartbeat,
            "watch": self.on_watch,
            "unwatch": self.on_unwatch,
            "send": self.on_send,
            "note": self.on_note,
            "typing": self.on_typing,
        }.items():
            sio.on(name, handler, namespace=NAMESPACE)
        bus.subscribe(events.MESSAGE_CREATED, self.push_message)
        bus.subscribe(events.TYPING, self.push_typing)
        bus.subscribe(events.PRESENCE_CHANGED, self.push_presence)
        bus.subscribe(events.CSAT_RECEIVED, self.push_csat)
        bus.subscribe(events.AGENT_DEACTIVATED, self.disconnect_agent)
        self._sids: dict[int, set[str]] = {}  # agent id -> its sockets in this process
        for name in events.STATUS_EVENTS:
            bus.subscribe(name, self.push_queue)

    # -- connection ----------------------------------------------------------------------

    async def on_connect(self, sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
        """Admit an agent by access token, send ``hello`` and mark them present.

        Raises:
            socketio.exceptions.ConnectionRefusedError: the token is missing or invalid.
        """
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            agent = await self.auth.agent_for(token if isinstance(token, str) else None)
        except AuthError as e:
            raise socketio.exceptions.ConnectionRefusedError(str(e)) from e
        await self.sio.save_session(sid, {"token": token, "agent_id": agent.id}, namespace=NAMESPACE)
        self._sids.setdefault(agent.id, set()).add(sid)
        await self._enter(sid, ALL_AGENTS)
        await self.sio.emit(
            "hello",
            {
                "agent": {"id": agent.id, "display_name": agent.display_name, "role": agent.role},
                "heartbeat_interval_seconds": self.service.settings.heartbeat_interval_seconds,
            },
            to=sid,
            namespace=NAMESPACE,
        )
        await self.assigner.presence_changed(self.assigner.presence.connected(agent.id, sid))

    async def on_disconnect(self, sid: str) -> None:
        """Forget the socket and update the agent's presence."""
        session = await self.sio.get_session(sid, namespace=NAMESPACE)
        agent_id = session.get("agent_id")
        if agent_id is not None:
            self._sids.get(agent_id, set()).discard(sid)
            await self.assigner.presence_changed(
                self.assigner.presence.disconnected(agent_id, sid)
            )

    # -- client events -------------------------------------------------------------------

    async def on_heartbeat(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Keep the agent present as ``online`` or ``away``."""
        async def act(agent: Agent) -> dict[str, Any]:
            state = data.get("state", "online") if isinstance(data, dict) else "online"
            if state not in (PresenceState.ONLINE.value, PresenceState.AWAY.value):
                return {"ok": False, "error": "state must be 'online' or 'away'.", "status": 422}
            changes = self.assigner.presence.heartbeat(agent.id, PresenceState(state))
            await self.assigner.presence_changed(changes)
            return {"ok": True, "presence": state}

        return await self._as_agent(sid, act)

    async def on_watch(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Join a conversation's live feed; ack with every message after ``after_id``."""
        async def act(_agent: Agent) -> dict[str, Any]:
            conversation_id, after_id = _field(data, "conversation_id"), _field(data, "after_id")
            if not isinstance(conversation_id, str):
                return _bad("watch needs {conversation_id, after_id}.")
            if after_id is not None and (isinstance(after_id, bool) or not isinstance(after_id, int)):
                return _bad("after_id must be a message id (an integer) or null.")
            # Join first, then read: a message stored in between arrives twice (the client
            # drops the known id) instead of never.
            await self._enter(sid, _room(conversation_id))
            messages = await anyio.to_thread.run_sync(
                lambda: self.service.history(conversation_id, after_id, 1000, include_notes=True)
            )
            return {"ok": True, "messages": [m.to_dict() for m in messages]}

        return await self._as_agent(sid, act)

    async def on_unwatch(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Leave a conversation's live feed."""
        conversation_id = _field(data, "conversation_id")
        if isinstance(conversation_id, str):
            left = self.sio.leave_room(sid, _room(conversation_id), namespace=NAMESPACE)
            if hasattr(left, "__await__"):
                await left
        return {"ok": True}

    async def on_send(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Store and publish the assigned agent's reply; ack with it once stored."""
        async def act(agent: Agent) -> dict[str, Any]:
            message = await self.desk.agent_message(
                _field(data, "conversation_id"), agent, _field(data, "text"),
                _field(data, "client_id"),
            )
            return {"ok": True, "message": message.to_dict()}

        return await self._as_agent(sid, act)

    async def on_note(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Add an internal note (agents only); ack with it once stored."""
        async def act(agent: Agent) -> dict[str, Any]:
            note = await self.desk.add_note(
                _field(data, "conversation_id"), agent, _field(data, "text"),
                _field(data, "client_id"),
            )
            return {"ok": True, "message": note.to_dict()}

        return await self._as_agent(sid, act)

    async def on_typing(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Publish whether the assigned agent is typing (the user and watchers see it)."""
        async def act(agent: Agent) -> dict[str, Any]:
            conversation_id = _field(data, "conversation_id")
            if not isinstance(conversation_id, str):
                return _bad("typing needs {conversation_id, typing}.")
            conversation = await anyio.to_thread.run_sync(
                self.service.store.get_conversation, conversation_id
            )
            if conversation.status is not Status.ASSIGNED or conversation.assignee_id != agent.id:
                return {"ok": False, "error": "Only the assigned agent's typing is shown.",
                        "status": 403}
            await self.desk.typing(conversation_id, "agent", bool(_field(data, "typing")), agent)
            return {"ok": True}

        return await self._as_agent(sid, act)

    # -- pushes --------------------------------------------------------------------------

    async def push_message(self, event: Event) -> None:
        """Push a stored message to its watchers; a user's also as ``activity`` to all agents."""
        await self._emit("message", event.data, _room(event.conversation_id))
        if event.data.get("sender") == "user":
            await self._emit(
                "activity",
                {"conversation_id": event.conversation_id, "message_id": event.data.get("id"),
                 "sender": "user"},
                ALL_AGENTS,
            )

    async def push_typing(self, event: Event) -> None:
        """Push a typing indicator to the conversation's watchers."""
        await self._emit(
            "typing", {"conversation_id": event.conversation_id, **event.data},
            _room(event.conversation_id),
        )

    async def push_queue(self, event: Event) -> None:
        """Push a status change to every agent as ``queue``."""
        await self._emit(
            "queue",
            {"event": event.name, "conversation_id": event.conversation_id, "data": event.data},
            ALL_AGENTS,
        )

    async def push_presence(self, event: Event) -> None:
        """Push an agent's presence change to every agent."""
        await self._emit("presence", event.data, ALL_AGENTS)

    async def disconnect_agent(self, event: Event) -> None:
        """A deactivated account: close its sockets here (pushes to it stop at once)."""
        for sid in list(self._sids.pop(event.data["agent_id"], ())):
            await self.sio.disconnect(sid, namespace=NAMESPACE)

    async def push_csat(self, event: Event) -> None:
        """Push a satisfaction rating to the conversation's watchers."""
        await self._emit(
            "csat", {"conversation_id": event.conversation_id, **event.data},
            _room(event.conversation_id),
        )

    # -- helpers -------------------------------------------------------------------------

    async def _as_agent(
        self, sid: str, act: Callable[[Agent], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Run ``act`` as the socket's agent; handoff errors become a failed ack.

        The agent is reloaded from the token each time, so a revoked account stops at once.
        """
        session = await self.sio.get_session(sid, namespace=NAMESPACE)
        try:
            agent = await self.auth.agent_for(session.get("token"))
            return await act(agent)
        except HandoffError as e:
            return {"ok": False, "error": str(e), "status": self.error_status(e)}
        except Exception:
            log.exception("agent socket event failed")
            return {"ok": False, "error": "The server failed; retry in a moment.", "status": 500}

    async def _enter(self, sid: str, room: str) -> None:
        entered = self.sio.enter_room(sid, room, namespace=NAMESPACE)
        if hasattr(entered, "__await__"):  # a coroutine from python-socketio 5.10 on
            await entered

    async def _emit(self, name: str, data: dict[str, Any], room: str) -> None:
        await self.sio.emit(name, data, room=room, namespace=NAMESPACE)


def _field(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _bad(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "status": 422}


__all__ = ["NAMESPACE", "AgentSocket"]
