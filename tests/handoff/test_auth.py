"""Passwords, tokens and the FastAPI dependencies' decisions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from argon2 import PasswordHasher

from handoff.auth import INTERNAL, Auth, Passwords, Tokens
from handoff.errors import AuthError
from handoff.records import Agent
from tier1.http_errors import headers_for, mapped_status

pytestmark = pytest.mark.unit

SECRET = "s" * 64
ANA = Agent(1, "ana@example.com", "agent", "Ana", datetime(2024, 1, 1, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_password_hash_verifies_only_the_right_password(passwords: Passwords):
    h = passwords.hash("hunter22!")
    assert h.startswith("$argon2id$") and "hunter22!" not in h
    assert passwords.verify(h, "hunter22!")
    assert not passwords.verify(h, "hunter22")
    assert not passwords.verify("not-a-hash", "hunter22!")


def test_unknown_agent_never_verifies_even_with_the_dummy_password(passwords: Passwords):
    assert not passwords.verify(None, "tier1-dummy-password")
    assert not passwords.verify(None, "anything")


def test_token_round_trip_and_claims():
    tokens = Tokens(SECRET, ttl_minutes=5)
    token = tokens.issue(ANA)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "1" and claims["role"] == "agent"
    assert claims["exp"] - claims["iat"] == 300
    assert tokens.agent_id(token) == 1


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        jwt.encode({"sub": "1", "exp": 9999999999}, "x" * 64, algorithm="HS256"),
        jwt.encode({"sub": "1"}, SECRET, algorithm="HS256"),  # no exp
        jwt.encode({"sub": "x", "exp": 9999999999}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "1", "exp": 9999999999}, SECRET, algorithm="HS384"),
    ],
)
def test_bad_tokens_are_refused(token: str):
    with pytest.raises(AuthError):
        Tokens(SECRET, 5).agent_id(token)


def test_expired_token_says_log_in_again():
    tokens = Tokens(SECRET, ttl_minutes=1)
    old = tokens.issue(ANA, now=datetime.now(timezone.utc) - timedelta(minutes=2))
    with pytest.raises(AuthError, match="expired"):
        tokens.agent_id(old)


def test_dependencies_resolve_agents_and_the_internal_token():
    agents = {1: ANA}
    auth = Auth(Tokens(SECRET, 5), agents.get, "internal-token-0123456789")
    token = auth.tokens.issue(ANA)
    assert asyncio.run(auth.agent_for(token)) == ANA
    with pytest.raises(AuthError):
        asyncio.run(auth.agent_for(None))
    agents.clear()  # the agent was deleted: its token stops working
    with pytest.raises(AuthError, match="no longer exists"):
        asyncio.run(auth.agent_for(token))
    assert auth.is_internal("internal-token-0123456789")
    assert not auth.is_internal("internal-token-012345678")
    assert INTERNAL.agent is None and INTERNAL.actor == "internal"


def test_errors_carry_the_bearer_challenge():
    assert mapped_status(AuthError) == 401
    assert headers_for(AuthError(), 401) == {"WWW-Authenticate": "Bearer"}
