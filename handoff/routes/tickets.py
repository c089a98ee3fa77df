"""Offline tickets: messages users left with their email while nobody could chat.

``/api/tickets``, with an agent token.
"""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from datetime import datetime
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from handoff.deps import CurrentAgent, TicketsDep
from handoff.tickets import Ticket, TicketStatus

router = APIRouter(prefix="/api/tickets", tags=["offline tickets"])
TicketId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the ticket's id")]


class TicketPublic(BaseModel):
    """An offline ticket as agents see it."""

    id: int
    conversation_id: str
    status: Literal["open", "closed"]
    reason: str  # closed (outside business hours) | no_agents_online
    email: str
    message: str
    created_at: datetime
    submitted_at: datetime
    closed_at: datetime | None
    closed_by: int | None
    transcript_url: str  # the conversation with every message (GET, agent token)
    console_url: str  # the conversation in the agent console

    @classmethod
    def of(cls, t: Ticket) -> "TicketPublic":
        """The API view of ``t``, with links to its transcript and the console."""
        return cls(
            id=t.id,
            conversation_id=t.conversation_id,
            status=t.status.value,
            reason=t.reason,
            email=t.email or "",
            message=t.message or "",
            created_at=t.created_at,
            submitted_at=t.submitted_at or t.created_at,
            closed_at=t.closed_at,
            closed_by=t.closed_by,
            transcript_url=f"/api/conversations/{t.conversation_id}",
            console_url=f"/console#{t.conversation_id}",
        )


@router.get(
    "",
    response_model=list[TicketPublic],
    summary="Offline tickets: messages users left with their email while nobody could chat",
    description="Newest first. `status`: open (default), closed, or all.",
)
def list_tickets(
    _: CurrentAgent,
    tickets: TicketsDep,
    status: Annotated[Literal["open", "closed", "all"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TicketPublic]:
    wanted = None if status == "all" else TicketStatus(status)
    return [TicketPublic.of(t) for t in tickets.list(wanted, limit)]


@router.get("/{ticket_id}", response_model=TicketPublic, summary="One offline ticket")
def get_ticket(ticket_id: TicketId, _: CurrentAgent, tickets: TicketsDep) -> TicketPublic:
    return TicketPublic.of(tickets.get(ticket_id))


@router.post(
    "/{ticket_id}/close",
    response_model=TicketPublic,
    summary="Close an open ticket (you answered by email); 409 if it is not open",
)
async def close_ticket(
    ticket_id: TicketId, agent: CurrentAgent, tickets: TicketsDep
) -> TicketPublic:
    await anyio.to_thread.run_sync(tickets.get, ticket_id)  # 404 for drafts and unknown ids
    closed = await anyio.to_thread.run_sync(
        lambda: tickets.move(ticket_id, TicketStatus.CLOSED, closed_by=agent.id)
    )
    return TicketPublic.of(closed)


__all__ = ["TicketPublic", "router"]
