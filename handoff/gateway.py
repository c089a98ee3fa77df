"""The end user's socket: a python-socketio server speaking rasa-webchat's events.

Existing Rasa widgets work unchanged: ``session_request {session_id}`` -> ``session_confirm``
(the conversation id, a string as Rasa's channel sends it), ``user_uttered`` -> stored,
acknowledged, routed, and every bot, agent and system message arrives as ``bot_uttered``
(agents' internal notes never do).

tier1's additions (see docs/widget.md): ``session_request`` may carry ``session_token`` and,
if the client asks for an acknowledgement, is acknowledged with ``{session_id,
session_token, status, queue, availability}``; ``history {after_id}`` replays messages;
``user_typing {typing}``; the server emits ``agent_typing``, ``queue_position`` and, to every
widget when an agent's presence changes whether anyone can take a chat, ``availability``.
The conversation id is chosen by the server and is the only key to a room, so a client
cannot join a conversation it was not given (a token, or - for rasa-webchat clients - the
unguessable id itself).
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from datetime import timedelta
from typing import Any

import anyio
import socketio

from handoff import events
from handoff.delivery import SHOWN_SENDERS, DeliveryCursors
from handoff.errors import HandoffError
from handoff.events import Event, EventBus
from handoff.models import utcnow
from handoff.queue_positions import QueuePositions
from handoff.records import StoredMessage
from handoff.service import HandoffService
from handoff.sessions import OpenedSession, WidgetSessions

log = logging.getLogger(__name__)

SESSION_KEY = "conversation_id"
# The socket's session also keeps the delivery cursor it joined at (handoff.delivery).
JOINED_KEY = "joined_at_message_id"
SOURCE_PREFIX = "Source:"
SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)
TIER1_CUSTOM_KEYS = frozenset({"source", "csat"})
# How long before a clean close a message may still have been in flight and missed; after a
# ping timeout or a transport error the connection may have been dead much longer.
CLEAN_CLOSE_GRACE = {
    "client disconnect": timedelta(seconds=0.25),
    "server disconnect": timedelta(seconds=0.25),
    "transport close": timedelta(seconds=1),
    # A long-polling client's pending GET cut off: its last poll may not have been answered.
    "transport error": timedelta(seconds=5),
}


def _cors(origins: list[str] | str | None) -> list[str] | str | None:
    if isinstance(origins, str):
        return origins
    if not origins:
        return None  # engineio: same origin only
    return "*" if "*" in origins else list(origins)


def source_markdown(source: dict[str, Any]) -> str:
    """An answer's source as one line of Markdown: a link when it has a web address."""
    title = str(source.get("title") or "").strip()
    url = source.get("url")
    label = re.sub(r"([\\`*_\[\]])", r"\\\1", title) or None
    if isinstance(url, str) and SAFE_URL.match(url):
        href = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        return f"{SOURCE_PREFIX} [{label or href}]({href})"
    return f"{SOURCE_PREFIX} {label}" if label else ""


def webchat_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message (``StoredMessage.to_dict()``) in rasa-webchat's ``bot_uttered`` shape.

    rasa-webchat drops ``metadata`` and renders a message only when the rest is ``{text}``,
    ``{text, quick_replies}`` or an attachment, so everything tier1-specific travels in
    ``metadata``: who sent it, its cursor id, an agent's display name, ``csat: true`` on the
    rating prompt, and an answer's ``source``. Rasa sends a source as its own text-less
    message; here it becomes a text (``Source: [title](url)``, Markdown) marked
    ``metadata.kind = "source"`` so tier1's widget attaches it to the answer instead.
    Rasa's ``buttons`` become webchat ``quick_replies``, ``image`` an image ``attachment``.
    """
    payload = message.get("payload") or {}
    custom = payload.get("custom") if isinstance(payload.get("custom"), dict) else {}
    out: dict[str, Any] = {}
    metadata: dict[str, Any] = {
        "sender": message["sender"],
        "message_id": message["id"],
        "created_at": message["created_at"],
    }
    if message.get("text"):
        out["text"] = message["text"]
    buttons = payload.get("buttons") or payload.get("quick_replies")
    if isinstance(buttons, list):
        out["quick_replies"] = [
            {"content_type": "text", "title": b.get("title", ""), "payload": b.get("payload", "")}
            for b in buttons
            if isinstance(b, dict)
        ]
    if isinstance(payload.get("image"), str):
        out["attachment"] = {"type": "image", "payload": {"src": payload["image"]}}
    if isinstance(payload.get("attachment"), dict):
        out["attachment"] = payload["attachment"]
    source = payload.get("source") or custom.get("source")
    if isinstance(source, dict):
        metadata["source"] = source
        if "text" not in out and "attachment" not in out and source_markdown(source):
            out["text"] = source_markdown(source)
            metadata["kind"] = "source"
    if custom.get("csat"):
        metadata["csat"] = True
    # Any other custom JSON a bot sends goes on as Rasa's socket.io channel sends it (for a
    # client's own custom component); tier1's own keys are in metadata.
    others = {k: v for k, v in custom.items() if k not in TIER1_CUSTOM_KEYS}
    if others:
        out["custom"] = others
    if message["sender"] == "user" and message.get("client_id"):
        metadata["client_id"] = message["client_id"]
    user_meta = payload.get("metadata") if message["sender"] == "user" else None
    if isinstance(user_meta, dict) and isinstance(user_meta.get("display_text"), str):
        metadata["display_text"] = user_meta["display_text"]  # a button's title, not its payload
    if message["sender"] in ("agent", "system") and message.get("agent_name"):
        metadata["agent_name"] = message["agent_name"]
    out["metadata"] = metadata
    return out


def renderable(message: dict[str, Any]) -> bool:
    """False for a message with nothing to show (rasa-webchat would print "undefined")."""
    return any(k in message for k in ("text", "quick_replies", "attachment", "custom"))


class DisconnectReasonServer(socketio.AsyncServer):
    """`socketio.AsyncServer` whose ``disconnect`` handlers can read why the socket closed.

    Engine.IO reports the reason (``client disconnect``, ``transport close``, ``ping
    timeout``...); python-socketio 5.9 (pinned with Rasa) drops it. It is kept in
    `closing_reason` while the ``disconnect`` handlers of that socket run; a socket.io
    DISCONNECT packet from the client is ``client disconnect``.
    """

    closing_reason: str | None = None

    async def _handle_eio_disconnect(self, eio_sid: str, reason: str | None = None) -> None:
        self.closing_reason = reason
        try:
            await super()._handle_eio_disconnect(eio_sid)
        finally:
            self.closing_reason = None

    async def _handle_disconnect(self, eio_sid: str, namespace: str | None) -> None:
        if self.closing_reason is not None:  # from _handle_eio_disconnect: the reason is known
            await super()._handle_disconnect(eio_sid, namespace)
            return
        # Else the client sent socket.io's DISCONNECT packet: it said goodbye.
        self.closing_reason = "client disconnect"
        try:
            await super()._handle_disconnect(eio_sid, namespace)
        finally:
            self.closing_reason = None


class Gateway:
    """Registers the widget protocol on a `socketio.AsyncServer` and delivers messages to rooms.

    Attributes:
        sio: the server; mount it with ``socketio.ASGIApp(gateway.sio, other_asgi_app)``.
    """

    def __init__(
        self,
        service: HandoffService,
        bus: EventBus,
        cors_origins: list[str] | str | None,
        *,
        sessions: WidgetSessions,
        queue: QueuePositions,
        deliveries: DeliveryCursors | None = None,
        client_manager: socketio.AsyncManager | None = None,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.queue = queue
        self.deliveries = deliveries
        # async_handlers=False: one socket's events are handled in arrival order, so two
        # quick messages are stored (and routed) in the order the user sent them. Routing to
        # the bot runs in background tasks, so a slow bot never blocks the socket.
        self.sio = DisconnectReasonServer(
            async_mode="asgi",
            cors_allowed_origins=_cors(cors_origins),
            async_handlers=False,
            client_manager=client_manager,
        )
        self.sio.on("session_request", self.on_session_request)
        self.sio.on("user_uttered", self.on_user_uttered)
        self.sio.on("history", self.on_history)
        self.sio.on("user_typing", self.on_user_typing)
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("*", self.on_unknown_event)  # anything else, agents' events included
        self.bus = bus
        bus.subscribe(events.MESSAGE_CREATED, self.deliver)
        bus.subscribe(events.TYPING, self.deliver_typing)
        queue.listen(self.deliver_queue_position)
        queue.listen_team(self.deliver_availability)

    async def on_session_request(self, sid: str, data: Any = None) -> dict[str, Any] | None:
        """Join the socket to its conversation; emit ``session_confirm`` (the id).

        The conversation is the one ``session_token`` names; else (rasa-webchat clients, if
        allowed) the existing one with id ``session_id``; else a new one. Acknowledged with
        ``{session_id, session_token, status, queue, availability}`` for clients that ask.
        """
        data = data if isinstance(data, dict) else {}
        requested = data.get("session_id") if isinstance(data.get("session_id"), str) else None
        token = data.get("session_token") if isinstance(data.get("session_token"), str) else None
        custom = data.get("customData") if isinstance(data.get("customData"), dict) else {}
        try:
            opened: OpenedSession = await anyio.to_thread.run_sync(
                self.sessions.open, token, requested, custom
            )
            queue, team = await anyio.to_thread.run_sync(
                lambda: (self.queue.info(opened.conversation.id), self.queue.team())
            )
        except Exception:
            log.exception("session_request failed")
            await self._error(sid, "The server could not open a session; retry in a moment.")
            return None
        conversation = opened.conversation
        session = await self.sio.get_session(sid)
        previous = session.get(SESSION_KEY)
        if previous and previous != conversation.id:
            left = self.sio.leave_room(sid, previous)
            if inspect.isawaitable(left):  # a coroutine from python-socketio 5.10 on
                await left
        entered = self.sio.enter_room(sid, conversation.id)
        if inspect.isawaitable(entered):
            await entered
        session[SESSION_KEY] = conversation.id
        await self.sio.emit("session_confirm", conversation.id, room=sid)
        if previous != conversation.id:  # else: this socket is attached already and saw it all
            session[JOINED_KEY] = await self._replay(sid, conversation.id, data)
        await self.sio.save_session(sid, session)
        return {
            "session_id": conversation.id,
            "session_token": opened.token,
            "resumed": opened.resumed,
            "status": conversation.status.value,
            "queue": queue,
            "availability": team,
        }

    async def _replay(self, sid: str, conversation_id: str, data: dict[str, Any]) -> int | None:
        """Send this socket, as ``bot_uttered``, the messages its client has not seen.

        Moves the conversation's delivery cursor and returns the cursor the socket joined at.

        ``after_id`` (a message id): everything shown after it. ``replay: false``: nothing (the
        client asks ``history`` itself, as tier1's widget does). Otherwise what is after the
        cursor - from a little earlier when another socket of the conversation is still
        attached here, since it may be this client's dead connection the server has not
        noticed yet.
        """
        if self.deliveries is None:
            return None
        after_id = data.get("after_id")
        if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
            after_id = None
        try:
            if data.get("replay") is False:
                start = None
            elif after_id is not None:
                start = after_id
            else:
                start = await anyio.to_thread.run_sync(
                    self.deliveries.replay_after, conversation_id
                )
                if start is not None and self._attached_elsewhere(sid, conversation_id):
                    earlier = await anyio.to_thread.run_sync(
                        self.deliveries.newest_before,
                        conversation_id,
                        utcnow() - self._silent_grace(),
                    )
                    start = min(start, earlier or 0)
            if start is not None:
                missed = await anyio.to_thread.run_sync(
                    self.service.history, conversation_id, min(start, 2**63 - 1)
                )
                for message in missed:
                    if message.sender in SHOWN_SENDERS:
                        out = webchat_message(message.to_dict())
                        if renderable(out):
                            await self.sio.emit("bot_uttered", out, to=sid)
            return await anyio.to_thread.run_sync(self.deliveries.joined, conversation_id)
        except Exception:  # the session itself is open: a replay failure must not undo it
            log.exception("replaying unseen messages of %s failed", conversation_id)
            return None

    def _attached_elsewhere(self, sid: str, conversation_id: str) -> bool:
        """Another socket of this conversation is connected to this process."""
        others = self.sio.manager.rooms.get("/", {}).get(conversation_id, {})
        return any(other != sid for other in others)

    def _silent_grace(self) -> timedelta:
        """How long a dead connection can look alive: a ping interval plus its timeout."""
        eio = self.sio.eio
        interval = eio.ping_interval if isinstance(eio.ping_interval, (int, float)) else 25
        return timedelta(seconds=float(interval) + float(eio.ping_timeout))

    async def on_disconnect(self, sid: str) -> None:
        """Move the delivery cursor past what this socket saw before it left."""
        reason = self.sio.closing_reason
        session = await self.sio.get_session(sid)
        conversation_id = session.get(SESSION_KEY)
        if self.deliveries is None or conversation_id is None:
            return
        grace = CLEAN_CLOSE_GRACE.get(reason or "") or self._silent_grace()
        try:
            await anyio.to_thread.run_sync(
                self.deliveries.left, conversation_id, session.get(JOINED_KEY) or 0, grace
            )
        except Exception:
            log.exception("moving the delivery cursor of %s failed", conversation_id)

    async def on_user_uttered(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Store the message, acknowledge it, then route it in the background.

        Ack: ``{"ok": true, "message_id", "client_id", "duplicate"}``, or ``{"ok": false,
        "error"}`` (also emitted as an ``error`` event) when nothing was stored.
        """
        received = time.perf_counter()
        conversation_id = (await self.sio.get_session(sid)).get(SESSION_KEY)
        if not isinstance(data, dict):
            return await self._reject(
                sid, 'user_uttered needs an object like {"message": "...", "session_id": "..."}.'
            )
        if conversation_id is None:
            return await self._reject(
                sid, "No session yet: emit session_request and wait for session_confirm first."
            )
        if data.get("session_id") not in (None, conversation_id):
            return await self._reject(
                sid,
                "session_id does not match this connection's session; use the id from "
                "session_confirm.",
            )
        custom = data.get("customData")
        try:
            message = await self.service.accept_user_message(
                conversation_id,
                data.get("message"),
                data.get("client_id"),
                custom if isinstance(custom, dict) and custom else None,
            )
        except HandoffError as e:
            return await self._reject(sid, str(e))
        except Exception:
            log.exception("storing a user message of %s failed", conversation_id)
            return await self._reject(
                sid, "The server could not store your message; send it again."
            )
        if not message.duplicate:
            self.service.route_in_background(message)
        if self.service.observe_stage is not None:
            self.service.observe_stage("gateway_store_ack", time.perf_counter() - received)
        return {
            "ok": True,
            "message_id": message.id,
            "client_id": message.client_id,
            "duplicate": message.duplicate,
        }

    async def on_history(self, sid: str, data: Any = None) -> list[dict[str, Any]] | dict[str, Any]:
        """Ack with the messages after ``after_id`` in ``bot_uttered`` shape (user ones too)."""
        conversation_id = (await self.sio.get_session(sid)).get(SESSION_KEY)
        data = data if isinstance(data, dict) else {}
        if conversation_id is None or data.get("session_id") not in (None, conversation_id):
            return await self._reject(
                sid,
                "history needs this connection's session: emit session_request first and "
                "pass the id from session_confirm.",
            )
        after_id = data.get("after_id")
        if after_id is not None and (
            isinstance(after_id, bool) or not isinstance(after_id, int) or not 0 <= after_id < 2**63
        ):
            return await self._reject(sid, "after_id must be a message id (an integer) or null.")
        messages: list[StoredMessage] = await anyio.to_thread.run_sync(
            self.service.history, conversation_id, after_id
        )
        return [webchat_message(m.to_dict()) for m in messages]

    async def on_user_typing(self, sid: str, data: Any = None) -> None:
        """``user_typing {typing: bool}``: tell the agents watching this conversation."""
        conversation_id = (await self.sio.get_session(sid)).get(SESSION_KEY)
        if conversation_id is None:
            return
        typing = bool(data.get("typing")) if isinstance(data, dict) else bool(data)
        await self.bus.publish(
            Event(events.TYPING, conversation_id, {"sender": "user", "typing": typing})
        )

    async def deliver(self, event: Event) -> None:
        """Push a new bot/agent/system message to its conversation's room as ``bot_uttered``."""
        if event.data.get("sender") in ("user", "note"):
            return  # the sender's widget already shows it; notes are for agents only
        out = webchat_message(event.data)
        if renderable(out):
            await self.sio.emit("bot_uttered", out, room=event.conversation_id)

    async def deliver_typing(self, event: Event) -> None:
        """An agent's typing indicator reaches the widget as ``agent_typing``."""
        if event.data.get("sender") != "agent":
            return
        await self.sio.emit(
            "agent_typing",
            {"typing": bool(event.data.get("typing")), "agent_name": event.data.get("agent_name")},
            room=event.conversation_id,
        )

    async def deliver_queue_position(self, conversation_id: str, info: dict[str, Any]) -> None:
        """``queue_position {status, position, queue_length, estimated_wait_seconds}``."""
        await self.sio.emit("queue_position", info, room=conversation_id)

    async def deliver_availability(self, team: dict[str, Any]) -> None:
        """Push ``availability {agents_available}`` to every widget.

        An agent came or went and that changed whether anyone can take a chat (the header and
        banner follow it live).
        """
        await self.sio.emit("availability", team)

    async def on_unknown_event(self, event: str, sid: str, *_args: Any) -> dict[str, Any]:
        """Refuse an event the widget protocol does not have.

        For example an agent's ``send``, which lives on the ``/agent`` namespace behind an
        agent token.
        """
        known = sorted(
            e for e in self.sio.handlers.get("/", {}) if e not in ("*", "connect", "disconnect")
        )
        return await self._reject(
            sid,
            f"unknown event {str(event)[:40]!r}; the widget socket takes {', '.join(known)} "
            "(agents use the /agent namespace).",
        )

    async def _reject(self, sid: str, error: str) -> dict[str, Any]:
        await self._error(sid, error)
        return {"ok": False, "error": error}

    async def _error(self, sid: str, error: str) -> None:
        await self.sio.emit("error", {"error": error}, room=sid)


__all__ = ["Gateway", "webchat_message"]
