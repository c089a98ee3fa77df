"""End-user session tokens: what they grant, and what rejoins a conversation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest

from handoff import Handoff
from handoff.auth import Tokens
from handoff.sessions import InvalidSession, NotYourConversation, SessionTokens, WidgetSessions
from tier1.http_errors import mapped_status

pytestmark = pytest.mark.unit

SECRET = "session-secret-0123456789abcdef-32bytes"


@pytest.fixture
def tokens() -> SessionTokens:
    return SessionTokens(SECRET, timedelta(days=1))


def test_a_token_names_its_conversation_and_nothing_else(tokens):
    token = tokens.issue("conv-a")
    assert tokens.conversation_id(token) == "conv-a"
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (None, "", 42, "not-a-token", tampered,
                SessionTokens("another-secret-0123456789", timedelta(days=1)).issue("conv-a")):
        with pytest.raises(InvalidSession):
            tokens.conversation_id(bad)


def test_an_expired_token_says_so(tokens):
    old = tokens.issue("conv-a", now=datetime.now(timezone.utc) - timedelta(days=2))
    with pytest.raises(InvalidSession, match="expired"):
        tokens.conversation_id(old)


def test_agent_tokens_and_session_tokens_never_stand_in_for_each_other(tokens, handoff, agent):
    agent_token = Tokens(SECRET, 60).issue(agent)
    with pytest.raises(InvalidSession):
        tokens.conversation_id(agent_token)
    # Same secret, right claims, but signed with the raw secret instead of the derived key.
    forged = jwt.encode({"sub": "conv-a", "typ": "widget-session",
                         "exp": datetime.now(timezone.utc) + timedelta(hours=1)}, SECRET, "HS256")
    with pytest.raises(InvalidSession):
        tokens.conversation_id(forged)
    with pytest.raises(Exception):  # noqa: B017 - any auth error: a session is not an agent
        Tokens(SECRET, 60).agent_id(tokens.issue("1"))
    assert mapped_status(InvalidSession) == 401 and mapped_status(NotYourConversation) == 403


def test_open_resumes_by_token_else_by_id_only_when_allowed(handoff: Handoff, tokens):
    sessions = WidgetSessions(handoff.service, tokens, allow_session_id_resume=True)
    first = sessions.open()
    assert not first.resumed and len(first.conversation.id) >= 22  # 128 random bits
    again = sessions.open(token=first.token)
    assert again.resumed and again.conversation.id == first.conversation.id
    # A rasa-webchat client that only knows the id (the documented trade-off).
    assert sessions.open(session_id=first.conversation.id).conversation.id == first.conversation.id
    # A bad token does not fall through to anything it names; an unknown id is a new chat.
    assert sessions.open(token="garbage").conversation.id != first.conversation.id
    unknown = sessions.open(session_id="made-up-id")
    assert not unknown.resumed and unknown.conversation.id != "made-up-id"

    strict = WidgetSessions(handoff.service, tokens, allow_session_id_resume=False)
    assert strict.open(session_id=first.conversation.id).conversation.id != first.conversation.id
    assert strict.open(token=first.token).conversation.id == first.conversation.id


def test_authorize_grants_only_the_tokens_own_conversation(handoff: Handoff, tokens):
    sessions = WidgetSessions(handoff.service, tokens, allow_session_id_resume=True)
    a, b = sessions.open(), sessions.open()
    assert sessions.authorize(a.token, a.conversation.id) == a.conversation.id
    with pytest.raises(NotYourConversation):
        sessions.authorize(a.token, b.conversation.id)
    with pytest.raises(InvalidSession):
        sessions.authorize(None, a.conversation.id)
