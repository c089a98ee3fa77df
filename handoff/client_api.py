"""The end users' HTTP API: the widget's script and config, and REST + Server-Sent Events
for native apps and other clients that do not speak socket.io.

A client creates a session (``POST /api/chat/sessions``), keeps the ``session_token`` and
sends it as ``Authorization: Bearer <token>`` (or, for the event stream only, as ``?token=``,
because browsers' EventSource cannot set headers). Messages carry a client id and are
acknowledged only after they are stored; a resend with the same id is answered with the
stored message and not routed again. The event stream replays every message after
``Last-Event-ID`` (or ``?after_id=``) from the store, then streams new ones; messages are
read from SQL, so a stream misses nothing even when the message was stored by another
replica (those arrive within `STORE_POLL_SECONDS`). Protocol details: docs/widget.md.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases below,
# which are local to `build_client_router`, as evaluated annotations.
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from handoff import events
from handoff.events import Event, EventBus
from handoff.queue_positions import QueuePositions
from handoff.records import StoredMessage
from handoff.service import MAX_CLIENT_ID_CHARS, HandoffService
from handoff.sessions import InvalidSession, WidgetSessions
from handoff.settings import WidgetSettings

STORE_POLL_SECONDS = 2.0  # how often a stream re-reads the store without a local wake-up
PAGE = 200


class SessionCreate(BaseModel):
    session_token: str | None = Field(None, description="a previous token: resume its conversation")
    metadata: dict[str, Any] | None = Field(None, description="passed to the bot as metadata")

    class Config:
        extra = "forbid"


class QueueInfo(BaseModel):
    status: str
    position: int | None
    queue_length: int | None
    estimated_wait_seconds: int | None
    agents_available: bool | None = Field(
        None, description="false while nobody can take the chat (closed hours or no agent "
        "online): then there is no wait estimate"
    )


class SessionPublic(BaseModel):
    session_id: str
    session_token: str
    expires_at: datetime
    resumed: bool = Field(description="true when the token's conversation was resumed")
    status: str
    queue: QueueInfo


class SessionState(BaseModel):
    session_id: str
    status: str
    queue: QueueInfo


class ChatMessageCreate(BaseModel):
    text: str = Field(min_length=1)
    client_id: str = Field(
        min_length=1, max_length=MAX_CLIENT_ID_CHARS,
        description="unique per message (e.g. a UUID); a resend with the same id is a no-op",
    )

    class Config:
        extra = "forbid"


class MessageAck(BaseModel):
    message_id: int
    client_id: str
    duplicate: bool


class ChatButton(BaseModel):
    title: str
    payload: str


class ChatMessage(BaseModel):
    id: int = Field(description="the cursor: pass it as after_id / Last-Event-ID")
    sender: str = Field(description="user | bot | agent | system")
    text: str
    buttons: list[ChatButton] = Field(default_factory=list)
    source: dict[str, Any] | None = Field(None, description="the KB article an answer came from")
    custom: Any = None
    agent_name: str | None = None
    client_id: str | None = None
    created_at: str


class TypingRequest(BaseModel):
    typing: bool

    class Config:
        extra = "forbid"


def client_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message (``StoredMessage.to_dict()``) as the REST/SSE API shows it."""
    payload = message.get("payload") or {}
    custom = payload.get("custom")
    buttons = payload.get("buttons") or payload.get("quick_replies") or []
    source = payload.get("source") or (custom.get("source") if isinstance(custom, dict) else None)
    return {
        "id": message["id"],
        "sender": message["sender"],
        "text": message.get("text") or "",
        "buttons": [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in buttons
            if isinstance(b, dict)
        ],
        "source": source if isinstance(source, dict) else None,
        "custom": custom,
        "agent_name": message.get("agent_name") if message["sender"] in ("agent", "system") else None,
        "client_id": message.get("client_id") if message["sender"] == "user" else None,
        "created_at": message["created_at"],
    }


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One Server-Sent Events frame."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class EventStream:
    """The event stream of one conversation: messages from the store after a cursor, plus
    live ``typing`` and ``queue_position`` events, and heartbeat comments."""

    def __init__(
        self,
        service: HandoffService,
        bus: EventBus,
        queue: QueuePositions,
        heartbeat_seconds: float,
        poll_seconds: float = STORE_POLL_SECONDS,
    ) -> None:
        self.service, self.bus, self.queue = service, bus, queue
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds

    async def frames(self, conversation_id: str, after_id: int | None) -> AsyncIterator[str]:
        """SSE frames until the consumer stops iterating (the client disconnects)."""
        inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=500)

        def put(item: tuple[str, Any]) -> None:
            with contextlib.suppress(asyncio.QueueFull):  # a stuck client drops live extras
                inbox.put_nowait(item)

        def on_message(event: Event) -> None:
            if event.conversation_id == conversation_id:
                put(("wake", None))

        def on_typing(event: Event) -> None:
            if event.conversation_id == conversation_id and event.data.get("sender") == "agent":
                put(("typing", {"sender": "agent", "typing": bool(event.data.get("typing")),
                                "agent_name": event.data.get("agent_name")}))

        async def on_queue(cid: str, info: dict[str, Any]) -> None:
            if cid == conversation_id:
                put(("queue_position", info))

        self.bus.subscribe(events.MESSAGE_CREATED, on_message)
        self.bus.subscribe(events.TYPING, on_typing)
        self.queue.listen(on_queue)
        try:
            yield "retry: 3000\n\n"
            info = await anyio.to_thread.run_sync(self.queue.info, conversation_id)
            yield sse("queue_position", info)
            cursor, last_write = after_id, time.monotonic()
            while True:
                found: list[StoredMessage] = await anyio.to_thread.run_sync(
                    self.service.history, conversation_id, cursor, PAGE
                )
                for m in found:
                    yield sse("message", client_message(m.to_dict()), m.id)
                    cursor, last_write = m.id, time.monotonic()
                if len(found) == PAGE:
                    continue
                try:
                    kind, data = await asyncio.wait_for(inbox.get(), self.poll_seconds)
                except asyncio.TimeoutError:
                    if time.monotonic() - last_write >= self.heartbeat_seconds:
                        yield ": ping\n\n"
                        last_write = time.monotonic()
                    continue
                if kind != "wake":
                    yield sse(kind, data)
                    last_write = time.monotonic()
        finally:
            self.bus.unsubscribe(events.MESSAGE_CREATED, on_message)
            self.bus.unsubscribe(events.TYPING, on_typing)
            self.queue.unlisten(on_queue)


def build_client_router(
    service: HandoffService,
    sessions: WidgetSessions,
    queue: QueuePositions,
    bus: EventBus,
    settings: WidgetSettings,
    static_dir: Path,
) -> APIRouter:
    """``GET /widget.js``, ``GET /api/widget/config`` and the ``/api/chat`` session API."""
    router = APIRouter(tags=["chat"])
    bearer = HTTPBearer(auto_error=False)
    stream = EventStream(service, bus, queue, settings.sse_heartbeat_seconds)

    def run(fn, *args):
        return anyio.to_thread.run_sync(fn, *args)

    async def session_of(
        session_id: str,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        token = credentials.credentials if credentials is not None else None
        return sessions.authorize(token, session_id)

    async def stream_session_of(
        session_id: str,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        token: Annotated[str | None, Query(description="the session token (EventSource)")] = None,
    ) -> str:
        given = credentials.credentials if credentials is not None else token
        return sessions.authorize(given, session_id)

    Session = Annotated[str, Depends(session_of)]
    StreamSession = Annotated[str, Depends(stream_session_of)]

    @router.get("/widget.js", include_in_schema=False)
    async def widget_script() -> FileResponse:
        # Short cache: an upgrade reaches embedding sites within minutes.
        return FileResponse(
            static_dir / "widget.js",
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @router.get(
        "/api/widget/config",
        summary="The widget's title, theme, texts and avatar (public)",
    )
    async def widget_config() -> dict[str, Any]:
        return settings.dict(
            include={
                "title", "subtitle", "avatar_url", "welcome_message", "position", "theme",
                "strings", "feedback_helpful_payload", "feedback_not_helpful_payload",
            }
        )

    @router.post(
        "/api/chat/sessions",
        response_model=SessionPublic,
        status_code=201,
        summary="Start a chat, or resume one with its session token (public)",
    )
    async def create_session(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        body: SessionCreate | None = None,
    ) -> SessionPublic:
        token = (body.session_token if body else None) or (
            credentials.credentials if credentials is not None else None
        )
        opened = await run(sessions.open, token, None, body.metadata if body else None)
        info = await run(queue.info, opened.conversation.id)
        return SessionPublic(
            session_id=opened.conversation.id,
            session_token=opened.token,
            expires_at=datetime.now(timezone.utc) + sessions.tokens.ttl,
            resumed=opened.resumed,
            status=opened.conversation.status.value,
            queue=QueueInfo(**info),
        )

    @router.get(
        "/api/chat/sessions/{session_id}",
        response_model=SessionState,
        summary="The chat's status and queue position (session token)",
    )
    async def session_state(session_id: Session) -> SessionState:
        info = await run(queue.info, session_id)
        return SessionState(session_id=session_id, status=info["status"], queue=QueueInfo(**info))

    @router.post(
        "/api/chat/sessions/{session_id}/messages",
        response_model=MessageAck,
        status_code=201,
        summary="Send a message; idempotent by client_id (201 stored, 200 already stored)",
        responses={200: {"model": MessageAck,
                         "description": "A resend with a known client_id: already stored"}},
    )
    async def send_message(
        session_id: Session, body: ChatMessageCreate, response: Response
    ) -> MessageAck:
        message = await service.accept_user_message(session_id, body.text, body.client_id)
        if message.duplicate:
            response.status_code = 200
        else:
            service.route_in_background(message)
        return MessageAck(
            message_id=message.id, client_id=body.client_id, duplicate=message.duplicate
        )

    @router.get(
        "/api/chat/sessions/{session_id}/messages",
        response_model=list[ChatMessage],
        summary="Messages after a cursor, oldest first (session token)",
    )
    async def list_messages(
        session_id: Session,
        after_id: Annotated[int | None, Query(description="the last message id you have")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[dict[str, Any]]:
        found = await run(service.history, session_id, after_id, limit)
        return [client_message(m.to_dict()) for m in found]

    @router.get(
        "/api/chat/sessions/{session_id}/events",
        summary="Server-Sent Events: messages after Last-Event-ID, typing, queue position",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def event_stream(
        session_id: StreamSession,
        after_id: Annotated[int | None, Query(description="replay after this message id")] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        cursor = after_id
        if last_event_id and last_event_id.strip().isdigit():
            cursor = int(last_event_id.strip())  # the browser's automatic resume wins
        await run(service.store.get_conversation, session_id)  # 404 before streaming
        return StreamingResponse(
            stream.frames(session_id, cursor),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post(
        "/api/chat/sessions/{session_id}/typing",
        status_code=204,
        summary="Tell the agent the user is typing (session token)",
    )
    async def typing(session_id: Session, body: TypingRequest) -> Response:
        await bus.publish(
            Event(events.TYPING, session_id, {"sender": "user", "typing": body.typing})
        )
        return Response(status_code=204)

    return router


__all__ = ["EventStream", "InvalidSession", "build_client_router", "client_message", "sse"]
