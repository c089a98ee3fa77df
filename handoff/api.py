"""The handoff HTTP API: agent login, the conversation queue, replies, the internal handoff hook.

Endpoints raise `handoff.errors.HandoffError` subclasses; the composition root maps their
``http_status`` (and ``headers``) to responses in one place.
"""

# No `from __future__ import annotations` here: FastAPI resolves string annotations in the
# module's globals, and the dependency aliases below are local to `build_router`.
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from handoff.auth import Auth, Principal
from handoff.errors import AuthError
from handoff.records import (
    Agent,
    Conversation,
    ConversationDetail,
    ConversationSummary,
    StoredMessage,
)
from handoff.service import HandoffService
from handoff.status import Status


class _Schema(BaseModel):
    class Config:
        extra = "forbid"


# -- requests ------------------------------------------------------------------------------


class LoginJson(_Schema):
    username: str
    password: str


class AgentMessageCreate(_Schema):
    text: str = Field(..., description="The reply; delivered to the user's widget live.")


class HandoffRequest(_Schema):
    conversation_id: str
    reason: str = Field(..., max_length=200, description="e.g. low_confidence, request_human")
    context: dict[str, Any] = Field(
        default_factory=dict, description="the bot's KB hits, last question"
    )


class AgentCreate(_Schema):
    email: str
    password: str = Field(..., description="at least 8 characters")
    role: str = Field("agent", description="agent | admin")
    display_name: str | None = None


# -- responses -----------------------------------------------------------------------------


class TokenPublic(_Schema):
    access_token: str
    token_type: str = "bearer"


class AgentPublic(_Schema):
    id: int
    email: str
    role: str
    display_name: str
    created_at: datetime

    @classmethod
    def of(cls, a: Agent) -> "AgentPublic":
        return cls(
            id=a.id,
            email=a.email,
            role=a.role,
            display_name=a.display_name,
            created_at=a.created_at,
        )


class AssigneePublic(_Schema):
    id: int
    display_name: str | None


class MessagePublic(_Schema):
    id: int
    sender: str
    text: str
    payload: dict[str, Any] | None
    client_id: str | None
    agent_id: int | None
    agent_name: str | None
    created_at: datetime

    @classmethod
    def of(cls, m: StoredMessage) -> "MessagePublic":
        return cls(
            id=m.id,
            sender=m.sender,
            text=m.text,
            payload=m.payload,
            client_id=m.client_id,
            agent_id=m.agent_id,
            agent_name=m.agent_name,
            created_at=m.created_at,
        )


class ConversationListItem(_Schema):
    id: str
    status: Status
    reason: str | None
    queued_at: datetime | None
    assignee: AssigneePublic | None
    created_at: datetime
    updated_at: datetime
    last_message: str | None
    last_message_at: datetime | None

    @classmethod
    def of(cls, c: ConversationSummary) -> "ConversationListItem":
        return cls(
            id=c.id,
            status=c.status,
            reason=c.reason,
            queued_at=c.queued_at,
            assignee=_assignee(c.assignee_id, c.assignee_name),
            created_at=c.created_at,
            updated_at=c.updated_at,
            last_message=c.last_message,
            last_message_at=c.last_message_at,
        )


class ConversationPublic(_Schema):
    id: str
    status: Status
    reason: str | None
    queued_at: datetime | None
    assignee: AssigneePublic | None
    context: dict[str, Any]
    user_metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, c: Conversation) -> dict[str, Any]:
        return {
            "id": c.id,
            "status": c.status,
            "reason": c.reason,
            "queued_at": c.queued_at,
            "assignee": _assignee(c.assignee_id, c.assignee_name),
            "context": c.context,
            "user_metadata": c.user_metadata,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }

    @classmethod
    def of(cls, c: Conversation) -> "ConversationPublic":
        return cls(**cls.fields_of(c))


class ConversationWithMessages(ConversationPublic):
    messages: list[MessagePublic]

    @classmethod
    def of(cls, c: ConversationDetail) -> "ConversationWithMessages":  # type: ignore[override]
        return cls(**cls.fields_of(c), messages=[MessagePublic.of(m) for m in c.messages])


class HandoffAccepted(_Schema):
    status: Status


def _assignee(agent_id: int | None, name: str | None) -> AssigneePublic | None:
    return None if agent_id is None else AssigneePublic(id=agent_id, display_name=name)


_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                }
            },
            "application/json": {"schema": LoginJson.schema()},
        },
    }
}


def build_router(service: HandoffService, auth: Auth) -> APIRouter:
    """The handoff API under ``/api``, guarded by ``auth``'s dependencies."""
    router = APIRouter(prefix="/api", tags=["handoff"])
    CurrentAgent = Annotated[Agent, Depends(auth.require_agent)]
    Admin = Annotated[Agent, Depends(auth.require_admin)]
    Internal = Annotated[Principal, Depends(auth.require_internal)]

    @router.post(
        "/auth/token",
        response_model=TokenPublic,
        summary="Log in as an agent",
        description="Form fields or a JSON body with `username` (the email) and `password`.",
        openapi_extra=_LOGIN_BODY,
    )
    async def login(request: Request) -> TokenPublic:
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except ValueError as e:
                raise AuthError('The JSON body is malformed; send {"username", "password"}.') from e
        else:
            body = dict(await request.form())
        username = body.get("username") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthError("Send username (your email) and password, as form fields or JSON.")
        token = await anyio.to_thread.run_sync(service.authenticate, username, password)
        return TokenPublic(access_token=token)

    @router.get("/agents/me", response_model=AgentPublic, summary="The logged-in agent")
    async def me(agent: CurrentAgent) -> AgentPublic:
        return AgentPublic.of(agent)

    @router.post(
        "/agents", response_model=AgentPublic, status_code=201, summary="Create an agent (admin)"
    )
    async def create_agent(body: AgentCreate, _: Admin) -> AgentPublic:
        agent = await anyio.to_thread.run_sync(
            lambda: service.create_agent(body.email, body.password, body.role, body.display_name)
        )
        return AgentPublic.of(agent)

    @router.get(
        "/conversations",
        response_model=list[ConversationListItem],
        summary="List conversations, optionally by status (queued: oldest first)",
    )
    def list_conversations(
        _: CurrentAgent,
        status: Annotated[
            Status | None, Query(description="bot | queued | assigned | resolved")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[ConversationListItem]:
        return [ConversationListItem.of(c) for c in service.list_conversations(status, limit)]

    @router.get(
        "/conversations/{conversation_id}",
        response_model=ConversationWithMessages,
        summary="One conversation with its full message list",
    )
    def get_conversation(conversation_id: str, _: CurrentAgent) -> ConversationWithMessages:
        return ConversationWithMessages.of(service.get_conversation(conversation_id))

    @router.post(
        "/conversations/{conversation_id}/claim",
        response_model=ConversationPublic,
        summary="Claim a queued conversation (409 if another agent holds it)",
    )
    async def claim(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await service.claim(conversation_id, agent))

    @router.post(
        "/conversations/{conversation_id}/messages",
        response_model=MessagePublic,
        status_code=201,
        summary="Reply as the assigned agent (delivered to the user live)",
    )
    async def reply(
        conversation_id: str, body: AgentMessageCreate, agent: CurrentAgent
    ) -> MessagePublic:
        return MessagePublic.of(await service.agent_message(conversation_id, agent, body.text))

    @router.post(
        "/conversations/{conversation_id}/resolve",
        response_model=ConversationPublic,
        summary="Mark the conversation resolved (assigned agent)",
    )
    async def resolve(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await service.resolve(conversation_id, agent))

    @router.post(
        "/conversations/{conversation_id}/handback",
        response_model=ConversationPublic,
        summary="Hand the conversation back to the bot (assigned agent)",
    )
    async def handback(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await service.handback(conversation_id, agent))

    @router.post(
        "/conversations/{conversation_id}/release",
        response_model=ConversationPublic,
        summary="Put the conversation back in the queue for another agent (assigned agent)",
    )
    async def release(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await service.release(conversation_id, agent))

    @router.post(
        "/internal/handoff",
        response_model=HandoffAccepted,
        summary="Queue a conversation for an agent (action server; internal token)",
    )
    async def internal_handoff(body: HandoffRequest, principal: Internal) -> HandoffAccepted:
        conversation = await service.request_handoff(
            body.conversation_id, body.reason, body.context, actor=principal.actor
        )
        return HandoffAccepted(status=conversation.status)

    return router


__all__ = ["build_router"]
