"""Agent login: ``POST /api/auth/token`` (form fields or JSON)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
import anyio
from fastapi import APIRouter, Request

from handoff.deps import ServiceDep
from handoff.errors import AuthError
from handoff.schemas import LoginJson, TokenPublic

router = APIRouter(prefix="/api", tags=["handoff"])

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


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    summary="Log in as an agent",
    description="Form fields or a JSON body with `username` (the email) and `password`.",
    openapi_extra=_LOGIN_BODY,
)
async def login(request: Request, service: ServiceDep) -> TokenPublic:
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


__all__ = ["router"]
