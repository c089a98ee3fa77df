"""The end users' REST + Server-Sent Events API (``/api/chat``).

For native apps and other clients that do not speak socket.io. A client creates a session
(``POST /api/chat/sessions``), keeps the ``session_token`` and sends it as
``Authorization: Bearer <token>`` (or, for the event stream only, as ``?token=``, because
browsers' EventSource cannot set headers). Messages carry a client id and are acknowledged
only after they are stored; a resend with the same id is answered with the stored message
and not routed again. The event stream replays every message after
``Last-Event-ID`` (or ``?after_id=``) from the store, then streams new ones
(`handoff.event_stream`). Protocol details: docs/widget.md.
"""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from datetime import datetime, timezone
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from handoff import events
from handoff.deps import (
    BusDep,
    QueueDep,
    ServiceDep,
    SessionCredentials,
    SessionsDep,
    StreamDep,
)
from handoff.event_stream import client_message
from handoff.events import Event
from handoff.service import MAX_CLIENT_ID_CHARS

router = APIRouter(tags=["chat"])


class SessionCreate(BaseModel):
    """A new chat, or the session token of one to resume, and metadata for the bot."""

    session_token: str | None = Field(None, description="a previous token: resume its conversation")
    metadata: dict[str, Any] | None = Field(None, description="passed to the bot as metadata")

    class Config:
        """Pydantic options: unknown fields are errors."""

        extra = "forbid"


class QueueInfo(BaseModel):
    """The chat's status and, while it is queued, its place and estimated wait."""

    status: str
    position: int | None
    queue_length: int | None
    estimated_wait_seconds: int | None
    agents_available: bool | None = Field(
        None, description="false while nobody can take the chat (closed hours or no agent "
        "online): then there is no wait estimate"
    )


class SessionPublic(BaseModel):
    """A chat session: its id, the token to send with each request, its status."""

    session_id: str
    session_token: str
    expires_at: datetime
    resumed: bool = Field(description="true when the token's conversation was resumed")
    status: str
    queue: QueueInfo


class SessionState(BaseModel):
    """A chat's status and queue position."""

    session_id: str
    status: str
    queue: QueueInfo


class ChatMessageCreate(BaseModel):
    """A user's message, with the client id that makes resending it safe."""

    text: str = Field(min_length=1)
    client_id: str = Field(
        min_length=1, max_length=MAX_CLIENT_ID_CHARS,
        description="unique per message (e.g. a UUID); a resend with the same id is a no-op",
    )

    class Config:
        """Pydantic options: unknown fields are errors."""

        extra = "forbid"


class MessageAck(BaseModel):
    """A stored user message: its id, and whether its client id was already stored."""

    message_id: int
    client_id: str
    duplicate: bool


class ChatButton(BaseModel):
    """A button offered with a message: the title shown, the payload to send back."""

    title: str
    payload: str


class ChatMessage(BaseModel):
    """A message of the chat as the user sees it (internal notes are never shown)."""

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
    """Whether the user is typing."""

    typing: bool

    class Config:
        """Pydantic options: unknown fields are errors."""

        extra = "forbid"


async def session_of(
    session_id: str, credentials: SessionCredentials, sessions: SessionsDep
) -> str:
    """The session id, once the bearer token is shown to be that session's."""
    token = credentials.credentials if credentials is not None else None
    return sessions.authorize(token, session_id)


async def stream_session_of(
    session_id: str,
    credentials: SessionCredentials,
    sessions: SessionsDep,
    token: Annotated[str | None, Query(description="the session token (EventSource)")] = None,
) -> str:
    """Like `session_of`; the token may also come as ``?token=`` (EventSource sets no headers)."""
    given = credentials.credentials if credentials is not None else token
    return sessions.authorize(given, session_id)


Session = Annotated[str, Depends(session_of)]
StreamSession = Annotated[str, Depends(stream_session_of)]


@router.post(
    "/api/chat/sessions",
    response_model=SessionPublic,
    status_code=201,
    summary="Start a chat, or resume one with its session token (public)",
)
async def create_session(
    credentials: SessionCredentials,
    sessions: SessionsDep,
    queue: QueueDep,
    body: SessionCreate | None = None,
) -> SessionPublic:
    token = (body.session_token if body else None) or (
        credentials.credentials if credentials is not None else None
    )
    opened = await anyio.to_thread.run_sync(
        sessions.open, token, None, body.metadata if body else None
    )
    info = await anyio.to_thread.run_sync(queue.info, opened.conversation.id)
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
async def session_state(session_id: Session, queue: QueueDep) -> SessionState:
    info = await anyio.to_thread.run_sync(queue.info, session_id)
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
    session_id: Session, body: ChatMessageCreate, response: Response, service: ServiceDep
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
    service: ServiceDep,
    after_id: Annotated[int | None, Query(description="the last message id you have")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[dict[str, Any]]:
    found = await anyio.to_thread.run_sync(service.history, session_id, after_id, limit)
    return [client_message(m.to_dict()) for m in found]


@router.get(
    "/api/chat/sessions/{session_id}/events",
    summary="Server-Sent Events: messages after Last-Event-ID, typing, queue position",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def event_stream(
    session_id: StreamSession,
    service: ServiceDep,
    stream: StreamDep,
    after_id: Annotated[int | None, Query(description="replay after this message id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    cursor = after_id
    if last_event_id and last_event_id.strip().isdigit():
        cursor = int(last_event_id.strip())  # the browser's automatic resume wins
    # 404 before streaming
    await anyio.to_thread.run_sync(service.store.get_conversation, session_id)
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
async def typing(session_id: Session, body: TypingRequest, bus: BusDep) -> Response:
    await bus.publish(
        Event(events.TYPING, session_id, {"sender": "user", "typing": body.typing})
    )
    return Response(status_code=204)


__all__ = [
    "ChatButton",
    "ChatMessage",
    "ChatMessageCreate",
    "MessageAck",
    "QueueInfo",
    "SessionCreate",
    "SessionPublic",
    "SessionState",
    "TypingRequest",
    "router",
]
