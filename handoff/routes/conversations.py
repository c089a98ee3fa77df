"""Conversations as agents see them, and what the assigned agent does with them.

Lists, views and search; one conversation with its messages and audit; claim, reply, note,
resolve, ...
"""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from typing import Annotated

from fastapi import APIRouter, Query, Response

from handoff.conversation_search import MAX_QUERY_CHARS, View
from handoff.deps import CurrentAgent, DeskDep, SearchDep, ServiceDep
from handoff.schemas import (
    AgentMessageCreate,
    AuditEntry,
    ConversationEntryPublic,
    ConversationListItem,
    ConversationPublic,
    ConversationWithMessages,
    MessagePublic,
    NoteCreate,
    TransferRequest,
    ViewCountsPublic,
)
from handoff.status import Status

router = APIRouter(prefix="/api", tags=["handoff"])


@router.get(
    "/conversations",
    response_model=list[ConversationListItem],
    summary="List conversations, optionally by status (queued: by priority, then oldest)",
)
def list_conversations(
    agent: CurrentAgent,
    service: ServiceDep,
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
    search: SearchDep,
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
def view_counts(agent: CurrentAgent, search: SearchDep) -> ViewCountsPublic:
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
    conversation_id: str, _: CurrentAgent, search: SearchDep
) -> list[ConversationEntryPublic]:
    return [ConversationEntryPublic.of(e) for e in search.previous(conversation_id)]


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationWithMessages,
    summary="One conversation with its full message list (internal notes included)",
)
def get_conversation(
    conversation_id: str, _: CurrentAgent, service: ServiceDep
) -> ConversationWithMessages:
    return ConversationWithMessages.of(service.get_conversation(conversation_id))


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=list[MessagePublic],
    summary="Messages after a cursor (replay after a reconnect; notes included)",
)
def messages(
    conversation_id: str,
    _: CurrentAgent,
    service: ServiceDep,
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
def audit(conversation_id: str, _: CurrentAgent, service: ServiceDep) -> list[AuditEntry]:
    return [AuditEntry(**row) for row in service.store.status_changes(conversation_id)]


@router.post(
    "/conversations/{conversation_id}/claim",
    response_model=ConversationPublic,
    summary="Claim a queued conversation (409 if another agent holds it)",
)
async def claim(conversation_id: str, agent: CurrentAgent, desk: DeskDep) -> ConversationPublic:
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
    conversation_id: str,
    body: AgentMessageCreate,
    agent: CurrentAgent,
    response: Response,
    desk: DeskDep,
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
    conversation_id: str, body: NoteCreate, agent: CurrentAgent, desk: DeskDep
) -> MessagePublic:
    return MessagePublic.of(
        await desk.add_note(conversation_id, agent, body.text, body.client_id)
    )


@router.post(
    "/conversations/{conversation_id}/resolve",
    response_model=ConversationPublic,
    summary="Mark the conversation resolved and ask the user for a rating (assigned agent)",
)
async def resolve(conversation_id: str, agent: CurrentAgent, desk: DeskDep) -> ConversationPublic:
    return ConversationPublic.of(await desk.resolve(conversation_id, agent))


@router.post(
    "/conversations/{conversation_id}/handback",
    response_model=ConversationPublic,
    summary="Hand the conversation back to the bot (assigned agent)",
)
async def handback(
    conversation_id: str, agent: CurrentAgent, desk: DeskDep
) -> ConversationPublic:
    return ConversationPublic.of(await desk.handback(conversation_id, agent))


@router.post(
    "/conversations/{conversation_id}/release",
    response_model=ConversationPublic,
    summary="Put the conversation back in the queue for another agent (assigned agent)",
)
async def release(conversation_id: str, agent: CurrentAgent, desk: DeskDep) -> ConversationPublic:
    return ConversationPublic.of(await desk.release(conversation_id, agent))


@router.post(
    "/conversations/{conversation_id}/transfer",
    response_model=ConversationPublic,
    summary="Transfer to another agent, or (agent_id null) back to the queue (assigned agent)",
)
async def transfer(
    conversation_id: str, body: TransferRequest, agent: CurrentAgent, desk: DeskDep
) -> ConversationPublic:
    return ConversationPublic.of(await desk.transfer(conversation_id, agent, body.agent_id))


__all__ = ["router"]
