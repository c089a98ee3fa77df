"""Canned responses agents insert into replies (``/api/canned-responses``; writes: admins)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from typing import Any

from fastapi import APIRouter, Response

from handoff.deps import Admin, CannedDep, CurrentAgent
from handoff.schemas import CannedResponsePublic, CannedResponseWrite

router = APIRouter(prefix="/api", tags=["handoff"])


@router.get(
    "/canned-responses",
    response_model=list[CannedResponsePublic],
    summary="Canned responses agents can insert",
)
def list_canned(_: CurrentAgent, canned: CannedDep) -> list[CannedResponsePublic]:
    return [CannedResponsePublic(**_public(c)) for c in canned.list()]


@router.post(
    "/canned-responses",
    response_model=CannedResponsePublic,
    status_code=201,
    summary="Create a canned response (admin)",
)
def create_canned(
    body: CannedResponseWrite, _: Admin, canned: CannedDep
) -> CannedResponsePublic:
    return CannedResponsePublic(**_public(canned.create(body.shortcut, body.text)))


@router.put(
    "/canned-responses/{canned_id}",
    response_model=CannedResponsePublic,
    summary="Replace a canned response (admin)",
)
def update_canned(
    canned_id: int, body: CannedResponseWrite, _: Admin, canned: CannedDep
) -> CannedResponsePublic:
    return CannedResponsePublic(**_public(canned.update(canned_id, body.shortcut, body.text)))


@router.delete(
    "/canned-responses/{canned_id}", status_code=204, summary="Delete a canned response (admin)"
)
def delete_canned(canned_id: int, _: Admin, canned: CannedDep) -> Response:
    canned.delete(canned_id)
    return Response(status_code=204)


def _public(c: Any) -> dict:
    return {"id": c.id, "shortcut": c.shortcut, "text": c.text, "updated_at": c.updated_at}


__all__ = ["router"]
