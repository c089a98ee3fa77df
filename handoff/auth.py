"""Agent authentication: argon2 password hashes, signed expiring JWTs, FastAPI dependencies.

Tokens carry ``sub`` (the agent id, as a string), ``role``, ``ver`` (the account's token
version) and ``exp``. The dependencies reload the agent on every request, so a deleted or
deactivated agent's token stops working at once, a password reset (which bumps the token
version) logs every session out, and a role change applies without a new login. Internal callers (the action server) send the
internal token as ``Authorization: Bearer <token>``.
"""

# No `from __future__ import annotations`: the dependency signatures below are built inside
# `Auth.__init__` from local objects, so FastAPI must see evaluated annotations.
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import anyio
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer

from handoff.errors import AuthError, Forbidden
from handoff.records import Agent

ALGORITHM = "HS256"
TOKEN_URL = "/api/auth/token"
# The two ways to send credentials, as OpenAPI documents them: an agent's access token (the
# OAuth2 password flow's) and the internal token. Neither refuses a request on its own.
AGENT_TOKEN = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
INTERNAL_TOKEN = HTTPBearer(auto_error=False, scheme_name="InternalToken")


class Passwords:
    """Hashes and checks passwords with argon2id."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        """An argon2id hash of ``password`` (salted, so never the same twice)."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; an unknown agent (``None``) still spends the time."""
        if password_hash is None and self._dummy is None:
            # Checked against when the email is unknown, so a wrong email costs as much time
            # as a wrong password and response times do not reveal which emails exist.
            self._dummy = self._hasher.hash("tier1-dummy-password")
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)


class Tokens:
    """Issues and verifies HS256 access tokens."""

    def __init__(self, secret: str, ttl_minutes: int) -> None:
        if not secret:
            raise ValueError("the JWT secret must not be empty")
        self._secret = secret
        self._ttl = timedelta(minutes=ttl_minutes)

    def issue(self, agent: Agent, now: datetime | None = None) -> str:
        """A signed access token for ``agent``: its id, role and token version, expiring."""
        now = now or datetime.now(timezone.utc)
        claims = {
            "sub": str(agent.id),
            "role": agent.role,
            "ver": agent.token_version,
            "iat": now,
            "exp": now + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def agent_id(self, token: str) -> int:
        """The agent id a valid token names.

        Raises:
            AuthError: the token is malformed, badly signed or expired.
        """
        return self.verify(token)[0]

    def verify(self, token: str) -> tuple[int, int]:
        """(agent id, token version) of a valid token; tokens from before versions count as 0.

        Raises:
            AuthError: the token is malformed, badly signed or expired.
        """
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
            return int(claims["sub"]), int(claims.get("ver", 0))
        except jwt.ExpiredSignatureError as e:
            raise AuthError(
                "Your session has expired; log in again at POST /api/auth/token."
            ) from e
        except (jwt.InvalidTokenError, ValueError) as e:
            raise AuthError(
                "The access token is invalid; log in again at POST /api/auth/token."
            ) from e


@dataclass(frozen=True)
class Principal:
    """Who is calling: an agent, or the internal caller (``agent`` is None)."""

    actor: str
    agent: Agent | None = None


INTERNAL = Principal(actor="internal")


class Auth:
    """The FastAPI dependencies guarding the handoff API (and anything else that wants them).

    Attributes:
        require_agent: resolves to the calling `Agent` (agent or admin); 401 otherwise.
        require_admin: like `require_agent`, 403 `Forbidden` for role ``agent``.
        require_internal: resolves to `INTERNAL` for the internal token; 401 otherwise.
        require_internal_or_admin: a `Principal` for the internal token or an admin's token.
        require_internal_or_agent: a `Principal` for the internal token or any agent's token.
    """

    def __init__(
        self, tokens: Tokens, load_agent: Callable[[int], Agent | None], internal_token: str
    ) -> None:
        if not internal_token:
            raise ValueError("the internal token must not be empty")
        self.tokens = tokens
        self._load_agent = load_agent
        self._internal = internal_token.encode()
        self.oauth2_scheme = AGENT_TOKEN

        Token = Annotated[str | None, Depends(AGENT_TOKEN)]
        Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(INTERNAL_TOKEN)]

        async def require_agent(token: Token) -> Agent:
            return await self.agent_for(token)

        async def require_admin(agent: Annotated[Agent, Depends(require_agent)]) -> Agent:
            return self.admin(agent)

        async def require_internal(credentials: Credentials) -> Principal:
            return self.internal(credentials)

        async def require_internal_or_admin(credentials: Credentials, token: Token) -> Principal:
            if credentials is not None and self.is_internal(credentials.credentials):
                return INTERNAL
            agent = await self.agent_for(token)
            if not agent.is_admin:
                raise Forbidden("This needs an admin account or the internal token.")
            return Principal(actor=agent.actor, agent=agent)

        async def require_internal_or_agent(credentials: Credentials, token: Token) -> Principal:
            if credentials is not None and self.is_internal(credentials.credentials):
                return INTERNAL
            agent = await self.agent_for(token)
            return Principal(actor=agent.actor, agent=agent)

        self.require_agent = require_agent
        self.require_internal_or_agent = require_internal_or_agent
        self.require_admin = require_admin
        self.require_internal = require_internal
        self.require_internal_or_admin = require_internal_or_admin

    def admin(self, agent: Agent) -> Agent:
        """``agent``, if it is an admin.

        Raises:
            Forbidden: the agent's role is ``agent``.
        """
        if not agent.is_admin:
            raise Forbidden("This needs an admin account; ask an admin to do it.")
        return agent

    def internal(self, credentials: HTTPAuthorizationCredentials | None) -> Principal:
        """`INTERNAL`, if ``credentials`` carry the internal token.

        Raises:
            AuthError: no credentials, or another token.
        """
        if credentials is None or not self.is_internal(credentials.credentials):
            raise AuthError(
                "This endpoint is internal; send 'Authorization: Bearer <TIER1_INTERNAL_TOKEN>'."
            )
        return INTERNAL

    def is_internal(self, token: str) -> bool:
        """True when ``token`` is the internal token (compared in constant time)."""
        return hmac.compare_digest(token.encode(), self._internal)

    async def agent_for(self, token: str | None) -> Agent:
        """The agent a bearer token belongs to.

        Raises:
            AuthError: no token, an invalid or expired one, its agent no longer exists or is
                deactivated, or its password was reset after the token was issued.
        """
        if not token:
            raise AuthError()
        agent_id, version = self.tokens.verify(token)
        agent = await anyio.to_thread.run_sync(self._load_agent, agent_id)
        if agent is None:
            raise AuthError("The account of this token no longer exists; log in again.")
        if not agent.is_active:
            raise AuthError("This account is deactivated; ask an admin to reactivate it.")
        if version != agent.token_version:
            raise AuthError(
                "This session ended: the password was reset or the account was deactivated. "
                "Log in again at POST /api/auth/token."
            )
        return agent


__all__ = ["AGENT_TOKEN", "INTERNAL", "INTERNAL_TOKEN", "Auth", "Passwords", "Principal", "Tokens"]
