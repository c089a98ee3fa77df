"""The action server's hook: queue a conversation for an agent (internal token)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
import anyio
from fastapi import APIRouter

from handoff.deps import Internal, OfflineDep, ServiceDep
from handoff.schemas import HandoffAccepted, HandoffRequest

router = APIRouter(prefix="/api", tags=["handoff"])


@router.post(
    "/internal/handoff",
    response_model=HandoffAccepted,
    summary="Queue a conversation for an agent (action server; internal token)",
)
async def internal_handoff(
    body: HandoffRequest, principal: Internal, service: ServiceDep, offline: OfflineDep
) -> HandoffAccepted:
    conversation = await service.request_handoff(
        body.conversation_id,
        body.reason,
        body.context,
        actor=principal.actor,
        priority=body.priority,
    )
    taking_message = offline is not None and await anyio.to_thread.run_sync(
        offline.offline, body.conversation_id
    )
    return HandoffAccepted(status=conversation.status, offline=taking_message)


__all__ = ["router"]
