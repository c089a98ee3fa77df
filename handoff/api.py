"""The handoff HTTP API: agent login, the conversation queue, replies, the internal handoff hook.

Endpoints raise `handoff.errors.HandoffError` subclasses; the app maps them to HTTP statuses
in one place, at its edge (``tier1.http_errors``).
"""

# No `from __future__ import annotations` here: FastAPI resolves string annotations in the
# module's globals, and the dependency aliases below are local to `build_router`.
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response

from handoff.account_admin import AccountAdmin
from handoff.assignment import Assigner
from handoff.auth import Auth, Principal
from handoff.canned import CannedResponses
from handoff.conversation_search import MAX_QUERY_CHARS, ConversationSearch, View
from handoff.desk import AgentDesk
from handoff.errors import AuthError, Forbidden
from handoff.presence import PresenceState
from handoff.records import Agent
from handoff.schemas import (
    AgentCreate,
    AgentMessageCreate,
    AgentPublic,
    AgentStatusPublic,
    AgentUpdate,
    AuditEntry,
    CannedResponsePublic,
    CannedResponseWrite,
    ConversationEntryPublic,
    ConversationListItem,
    ConversationPublic,
    ConversationWithMessages,
    DeactivationPublic,
    HandoffAccepted,
    HandoffRequest,
    HeartbeatRequest,
    LoginJson,
    MessagePublic,
    NoteCreate,
    PasswordReset,
    PasswordResetPublic,
    PresencePublic,
    TokenPublic,
    TransferRequest,
    ViewCountsPublic,
)
from handoff.service import HandoffService
from handoff.status import Status

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


def build_router(
    service: HandoffService,
    desk: AgentDesk,
    assigner: Assigner,
    canned: CannedResponses,
    auth: Auth,
    offline=None,
    search: ConversationSearch | None = None,
) -> APIRouter:
    """The handoff API under ``/api``, guarded by ``auth``'s dependencies.

    ``offline`` (`handoff.tickets_flow.OfflineTickets`) tells the internal handoff hook whether
    the chat went to the offline-message flow. ``search`` serves the console's views and
    search (default: one on the conversation store's engine).
    """
    # The composition root may pass its own; else read the tables the store writes.
    search = search or ConversationSearch(service.store._engine)
    router = APIRouter(prefix="/api", tags=["handoff"])
    CurrentAgent = Annotated[Agent, Depends(auth.require_agent)]
    Admin = Annotated[Agent, Depends(auth.require_admin)]
    Internal = Annotated[Principal, Depends(auth.require_internal)]
    account_admin = AccountAdmin(service, assigner)

    def run(fn, *args):
        return anyio.to_thread.run_sync(fn, *args)

    # -- auth and agents -------------------------------------------------------------------

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
        token = await run(service.authenticate, username, password)
        return TokenPublic(access_token=token)

    @router.get("/agents/me", response_model=AgentPublic, summary="The logged-in agent")
    async def me(agent: CurrentAgent) -> AgentPublic:
        return AgentPublic.of(agent)

    @router.post(
        "/agents/me/heartbeat",
        response_model=PresencePublic,
        summary="Say you are online or away (consoles without a socket; the socket does this)",
    )
    async def heartbeat(body: HeartbeatRequest, agent: CurrentAgent) -> PresencePublic:
        changes = assigner.presence.heartbeat(agent.id, PresenceState(body.state))
        await assigner.presence_changed(changes)
        return PresencePublic(presence=assigner.presence.state(agent.id).value)

    @router.get(
        "/agents",
        response_model=list[AgentStatusPublic],
        summary="Every active agent with presence, load and capacity (for transfers)",
        description="Admins also get emails, and with `include_deactivated=true` the "
        "deactivated accounts (the admin console's Users tab).",
    )
    async def roster(
        agent: CurrentAgent,
        include_deactivated: Annotated[
            bool, Query(description="admins only: list deactivated accounts too")
        ] = False,
    ) -> list[AgentStatusPublic]:
        if include_deactivated and not agent.is_admin:
            raise Forbidden("Only admins can list deactivated accounts; drop include_deactivated.")
        return [
            AgentStatusPublic(
                id=s.agent.id,
                display_name=s.agent.display_name,
                role=s.agent.role,
                presence=s.presence.value,
                active=s.active,
                capacity=s.capacity,
                email=s.agent.email if agent.is_admin else None,
                deactivated=not s.agent.is_active,
            )
            for s in await run(assigner.roster, include_deactivated)
        ]

    @router.post(
        "/agents", response_model=AgentPublic, status_code=201, summary="Create an agent (admin)"
    )
    async def create_agent(body: AgentCreate, _: Admin) -> AgentPublic:
        agent = await run(
            lambda: service.create_agent(
                body.email, body.password, body.role, body.display_name, body.capacity
            )
        )
        return AgentPublic.of(agent)

    @router.patch(
        "/agents/{agent_id}",
        response_model=AgentPublic,
        summary="Change an agent's capacity, role or name (admin)",
    )
    async def update_agent(agent_id: int, body: AgentUpdate, _: Admin) -> AgentPublic:
        agent = await run(
            lambda: service.accounts.update(
                agent_id, capacity=body.capacity, role=body.role, display_name=body.display_name
            )
        )
        return AgentPublic.of(agent)

    @router.post(
        "/agents/{agent_id}/deactivate",
        response_model=DeactivationPublic,
        summary="Deactivate an agent (admin): no login, tokens revoked, chats back to the queue",
        description="Its open conversations go back to the queue (audited as your act) and it "
        "gets no new ones. You cannot deactivate yourself. Idempotent.",
    )
    async def deactivate_agent(agent_id: int, admin: Admin) -> DeactivationPublic:
        done = await account_admin.deactivate(agent_id, by=admin)
        return DeactivationPublic(agent=AgentPublic.of(done.agent), requeued=done.requeued)

    @router.post(
        "/agents/{agent_id}/reactivate",
        response_model=AgentPublic,
        summary="Reactivate a deactivated agent (admin); it logs in again",
    )
    async def reactivate_agent(agent_id: int, _: Admin) -> AgentPublic:
        return AgentPublic.of(await account_admin.reactivate(agent_id))

    @router.post(
        "/agents/{agent_id}/password",
        response_model=PasswordResetPublic,
        summary="Reset an agent's password (admin); its sessions end",
        description="Send `{\"password\": \"...\"}` to set one, or `{}` to generate a random "
        "password that this response shows once. Every token of the agent stops working.",
    )
    async def reset_password(
        agent_id: int, body: PasswordReset, _: Admin
    ) -> PasswordResetPublic:
        agent, password = await account_admin.reset_password(agent_id, body.password)
        return PasswordResetPublic(
            agent=AgentPublic.of(agent), password=None if body.password else password
        )

    # -- conversations -----------------------------------------------------------------------

    @router.get(
        "/conversations",
        response_model=list[ConversationListItem],
        summary="List conversations, optionally by status (queued: by priority, then oldest)",
    )
    def list_conversations(
        agent: CurrentAgent,
        status: Annotated[
            Status | None, Query(description="bot | queued | assigned | resolved")
        ] = None,
        mine: Annotated[bool, Query(description="only conversations you hold")] = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[ConversationListItem]:
        found = service.list_conversations(status, limit, agent.id if mine else None)
        return [ConversationListItem.of(c) for c in found]

    # Declared before /conversations/{conversation_id}, which would otherwise match them.
    @router.get(
        "/conversations/search",
        response_model=list[ConversationEntryPublic],
        summary="The console's lists: a view (mine, unassigned, open, resolved, all), "
        "optionally searched",
        description="`q` matches the start of a conversation id, the text of any message "
        "(internal notes included) and the user's metadata (name, email, ...), "
        "case-insensitively. `unassigned` is in queue order; the others latest activity "
        "first. Each entry names the user (when their metadata does), their first question "
        "and their latest typed message.",
    )
    def search_conversations(
        agent: CurrentAgent,
        view: Annotated[View, Query(description="mine | unassigned | open | resolved | all")]
        = View.OPEN,
        q: Annotated[
            str | None, Query(max_length=MAX_QUERY_CHARS, description="text to look for")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[ConversationEntryPublic]:
        return [ConversationEntryPublic.of(e) for e in search.find(view, agent.id, q, limit)]

    @router.get(
        "/conversations/counts",
        response_model=ViewCountsPublic,
        summary="How many conversations each of the console's views holds",
    )
    def view_counts(agent: CurrentAgent) -> ViewCountsPublic:
        counts = search.counts(agent.id)
        return ViewCountsPublic(**{view.value: n for view, n in counts.items()})

    @router.get(
        "/conversations/{conversation_id}/previous",
        response_model=list[ConversationEntryPublic],
        summary="The same user's other conversations, newest first",
        description="Matched by the email or user id in the conversations' user metadata; "
        "empty when the metadata identifies nobody.",
    )
    def previous_conversations(
        conversation_id: str, _: CurrentAgent
    ) -> list[ConversationEntryPublic]:
        return [ConversationEntryPublic.of(e) for e in search.previous(conversation_id)]

    @router.get(
        "/conversations/{conversation_id}",
        response_model=ConversationWithMessages,
        summary="One conversation with its full message list (internal notes included)",
    )
    def get_conversation(conversation_id: str, _: CurrentAgent) -> ConversationWithMessages:
        return ConversationWithMessages.of(service.get_conversation(conversation_id))

    @router.get(
        "/conversations/{conversation_id}/messages",
        response_model=list[MessagePublic],
        summary="Messages after a cursor (replay after a reconnect; notes included)",
    )
    def messages(
        conversation_id: str,
        _: CurrentAgent,
        after_id: Annotated[int | None, Query(description="the last message id you have")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[MessagePublic]:
        found = service.history(conversation_id, after_id, limit, include_notes=True)
        return [MessagePublic.of(m) for m in found]

    @router.get(
        "/conversations/{conversation_id}/audit",
        response_model=list[AuditEntry],
        summary="Every status change of the conversation, oldest first",
    )
    def audit(conversation_id: str, _: CurrentAgent) -> list[AuditEntry]:
        return [AuditEntry(**row) for row in service.store.status_changes(conversation_id)]

    @router.post(
        "/conversations/{conversation_id}/claim",
        response_model=ConversationPublic,
        summary="Claim a queued conversation (409 if another agent holds it)",
    )
    async def claim(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await desk.claim(conversation_id, agent))

    @router.post(
        "/conversations/{conversation_id}/messages",
        response_model=MessagePublic,
        status_code=201,
        summary="Reply as the assigned agent (delivered to the user live)",
        responses={200: {"model": MessagePublic,
                         "description": "A resend with a known client_id: the stored reply"}},
    )
    async def reply(
        conversation_id: str, body: AgentMessageCreate, agent: CurrentAgent, response: Response
    ) -> MessagePublic:
        message = await desk.agent_message(conversation_id, agent, body.text, body.client_id)
        if message.duplicate:
            response.status_code = 200
        return MessagePublic.of(message)

    @router.post(
        "/conversations/{conversation_id}/notes",
        response_model=MessagePublic,
        status_code=201,
        summary="Add an internal note (never shown to the user)",
    )
    async def add_note(
        conversation_id: str, body: NoteCreate, agent: CurrentAgent
    ) -> MessagePublic:
        return MessagePublic.of(
            await desk.add_note(conversation_id, agent, body.text, body.client_id)
        )

    @router.post(
        "/conversations/{conversation_id}/resolve",
        response_model=ConversationPublic,
        summary="Mark the conversation resolved and ask the user for a rating (assigned agent)",
    )
    async def resolve(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await desk.resolve(conversation_id, agent))

    @router.post(
        "/conversations/{conversation_id}/handback",
        response_model=ConversationPublic,
        summary="Hand the conversation back to the bot (assigned agent)",
    )
    async def handback(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await desk.handback(conversation_id, agent))

    @router.post(
        "/conversations/{conversation_id}/release",
        response_model=ConversationPublic,
        summary="Put the conversation back in the queue for another agent (assigned agent)",
    )
    async def release(conversation_id: str, agent: CurrentAgent) -> ConversationPublic:
        return ConversationPublic.of(await desk.release(conversation_id, agent))

    @router.post(
        "/conversations/{conversation_id}/transfer",
        response_model=ConversationPublic,
        summary="Transfer to another agent, or (agent_id null) back to the queue (assigned agent)",
    )
    async def transfer(
        conversation_id: str, body: TransferRequest, agent: CurrentAgent
    ) -> ConversationPublic:
        return ConversationPublic.of(await desk.transfer(conversation_id, agent, body.agent_id))

    # -- canned responses --------------------------------------------------------------------

    @router.get(
        "/canned-responses",
        response_model=list[CannedResponsePublic],
        summary="Canned responses agents can insert",
    )
    def list_canned(_: CurrentAgent) -> list[CannedResponsePublic]:
        return [CannedResponsePublic(**_canned(c)) for c in canned.list()]

    @router.post(
        "/canned-responses",
        response_model=CannedResponsePublic,
        status_code=201,
        summary="Create a canned response (admin)",
    )
    def create_canned(body: CannedResponseWrite, _: Admin) -> CannedResponsePublic:
        return CannedResponsePublic(**_canned(canned.create(body.shortcut, body.text)))

    @router.put(
        "/canned-responses/{canned_id}",
        response_model=CannedResponsePublic,
        summary="Replace a canned response (admin)",
    )
    def update_canned(
        canned_id: int, body: CannedResponseWrite, _: Admin
    ) -> CannedResponsePublic:
        return CannedResponsePublic(**_canned(canned.update(canned_id, body.shortcut, body.text)))

    @router.delete(
        "/canned-responses/{canned_id}", status_code=204, summary="Delete a canned response (admin)"
    )
    def delete_canned(canned_id: int, _: Admin) -> Response:
        canned.delete(canned_id)
        return Response(status_code=204)

    # -- internal ----------------------------------------------------------------------------

    @router.post(
        "/internal/handoff",
        response_model=HandoffAccepted,
        summary="Queue a conversation for an agent (action server; internal token)",
    )
    async def internal_handoff(body: HandoffRequest, principal: Internal) -> HandoffAccepted:
        conversation = await service.request_handoff(
            body.conversation_id,
            body.reason,
            body.context,
            actor=principal.actor,
            priority=body.priority,
        )
        taking_message = offline is not None and await run(offline.offline, body.conversation_id)
        return HandoffAccepted(status=conversation.status, offline=taking_message)

    return router


def _canned(c) -> dict:
    return {"id": c.id, "shortcut": c.shortcut, "text": c.text, "updated_at": c.updated_at}


__all__ = ["build_router"]
