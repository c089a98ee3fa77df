"""Agents: the logged-in agent, presence heartbeats, the roster and account admin (``/api/agents``)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from typing import Annotated

import anyio
from fastapi import APIRouter, Query

from handoff.deps import AccountAdminDep, Admin, AssignerDep, CurrentAgent, ServiceDep
from handoff.errors import Forbidden
from handoff.presence import PresenceState
from handoff.schemas import (
    AgentCreate,
    AgentPublic,
    AgentStatusPublic,
    AgentUpdate,
    DeactivationPublic,
    HeartbeatRequest,
    PasswordReset,
    PasswordResetPublic,
    PresencePublic,
)

router = APIRouter(prefix="/api", tags=["handoff"])


@router.get("/agents/me", response_model=AgentPublic, summary="The logged-in agent")
async def me(agent: CurrentAgent) -> AgentPublic:
    return AgentPublic.of(agent)


@router.post(
    "/agents/me/heartbeat",
    response_model=PresencePublic,
    summary="Say you are online or away (consoles without a socket; the socket does this)",
)
async def heartbeat(
    body: HeartbeatRequest, agent: CurrentAgent, assigner: AssignerDep
) -> PresencePublic:
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
    assigner: AssignerDep,
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
        for s in await anyio.to_thread.run_sync(assigner.roster, include_deactivated)
    ]


@router.post(
    "/agents", response_model=AgentPublic, status_code=201, summary="Create an agent (admin)"
)
async def create_agent(body: AgentCreate, _: Admin, service: ServiceDep) -> AgentPublic:
    agent = await anyio.to_thread.run_sync(
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
async def update_agent(
    agent_id: int, body: AgentUpdate, _: Admin, service: ServiceDep
) -> AgentPublic:
    agent = await anyio.to_thread.run_sync(
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
async def deactivate_agent(
    agent_id: int, admin: Admin, account_admin: AccountAdminDep
) -> DeactivationPublic:
    done = await account_admin.deactivate(agent_id, by=admin)
    return DeactivationPublic(agent=AgentPublic.of(done.agent), requeued=done.requeued)


@router.post(
    "/agents/{agent_id}/reactivate",
    response_model=AgentPublic,
    summary="Reactivate a deactivated agent (admin); it logs in again",
)
async def reactivate_agent(
    agent_id: int, _: Admin, account_admin: AccountAdminDep
) -> AgentPublic:
    return AgentPublic.of(await account_admin.reactivate(agent_id))


@router.post(
    "/agents/{agent_id}/password",
    response_model=PasswordResetPublic,
    summary="Reset an agent's password (admin); its sessions end",
    description="Send `{\"password\": \"...\"}` to set one, or `{}` to generate a random "
    "password that this response shows once. Every token of the agent stops working.",
)
async def reset_password(
    agent_id: int, body: PasswordReset, _: Admin, account_admin: AccountAdminDep
) -> PasswordResetPublic:
    agent, password = await account_admin.reset_password(agent_id, body.password)
    return PasswordResetPublic(
        agent=AgentPublic.of(agent), password=None if body.password else password
    )


__all__ = ["router"]
