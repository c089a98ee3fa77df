"""The console's read side: views and their counts, search, who the user is, a user's other
conversations. SQLite, in-memory Rasa."""

from __future__ import annotations

import asyncio

import pytest

from handoff.conversation_search import ConversationSearch, View, identity_of
from handoff.errors import ConversationNotFound
from handoff.status import Status

pytestmark = pytest.mark.unit


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


@pytest.fixture
def search(engine) -> ConversationSearch:
    return ConversationSearch(engine)


def chat(service, metadata, *texts, reason=None):
    """A conversation whose user says ``texts`` (the in-memory bot echoes each); queued with
    ``reason`` when given."""
    conv = service.open_conversation(None, metadata)
    for i, text in enumerate(texts):
        run(service.receive_user_message(conv.id, text, f"{conv.id}-{i}"))
    if reason:
        run(service.request_handoff(conv.id, reason, {}))
    return conv.id


@pytest.fixture
def desk_state(service, desk, agent, other_agent):
    """Two queued chats, one held by Ana, one by Bo, one resolved, one still with the bot."""
    ids = {
        "maria": chat(service, {"name": "Maria Garcia", "email": "Maria@Example.com"},
                      "How do I reset my password?", "/feedback_not_helpful", "a person please",
                      reason="user_request"),
        "anon": chat(service, {}, "Who won the 1966 world cup?", reason="low_confidence"),
        "ana": chat(service, {"user": {"first_name": "Jo", "last_name": "Li"}}, "refund?",
                    reason="low_confidence"),
        "bo": chat(service, {"email": "bo-user@example.com"}, "invoice 100%_done", reason="user_request"),
        "old": chat(service, {"email": "maria@example.com"}, "Where is my parcel?",
                    reason="user_request"),
        "bot": chat(service, {"userId": "u-7"}, "hello there"),
    }
    run(desk.claim(ids["ana"], agent))
    run(desk.claim(ids["bo"], other_agent))
    run(desk.claim(ids["old"], agent))
    run(desk.resolve(ids["old"], agent))
    return ids


def ids_of(entries):
    return [e.id for e in entries]


def test_counts_per_view(search, desk_state, agent, other_agent):
    assert search.counts(agent.id) == {
        View.MINE: 1, View.UNASSIGNED: 2, View.OPEN: 4, View.RESOLVED: 1,
    }
    assert search.counts(other_agent.id)[View.MINE] == 1


def test_views_hold_the_right_conversations_in_order(search, desk_state, agent):
    s = desk_state
    # The queue in queue order: oldest queued first.
    assert ids_of(search.find(View.UNASSIGNED, agent.id)) == [s["maria"], s["anon"]]
    assert ids_of(search.find(View.MINE, agent.id)) == [s["ana"]]
    assert set(ids_of(search.find(View.OPEN, agent.id))) == {s["maria"], s["anon"], s["ana"], s["bo"]}
    assert ids_of(search.find(View.RESOLVED, agent.id)) == [s["old"]]
    everything = ids_of(search.find(View.ALL, agent.id))
    assert set(everything) == set(s.values())
    # Latest activity first: resolving wrote the newest messages.
    assert everything[0] == s["old"]


def test_an_entry_names_the_user_and_their_questions(search, desk_state, agent):
    maria = next(e for e in search.find(View.UNASSIGNED, agent.id) if e.id == desk_state["maria"])
    assert (maria.user_name, maria.user_email) == ("Maria Garcia", "maria@example.com")
    assert maria.first_question == "How do I reset my password?"
    # The user's latest *typed* message, not the payload nor the bot's echo.
    assert maria.last_user_message == "a person please"
    assert maria.status is Status.QUEUED and maria.reason == "user_request"
    assert maria.last_message_at >= maria.last_user_message_at
    held = search.find(View.MINE, agent.id)[0]
    assert (held.user_name, held.assignee_name) == ("Jo Li", "Ana")
    anon = next(e for e in search.find(View.UNASSIGNED, agent.id) if e.id == desk_state["anon"])
    assert (anon.user_name, anon.user_email) == (None, None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("RESET my", ["maria"]),  # message text, any case
        ("garcia", ["maria"]),  # the user's name
        ("bo-user@example", ["bo"]),  # an email
        ("100%_", ["bo"]),  # LIKE wildcards are taken literally
        ("1%0", []),  # as a wildcard it would match "100%"
        ("u-7", ["bot"]),  # any metadata value
        ("Maria@example.com", ["maria", "old"]),
    ],
)
def test_search_by_text_name_email_and_metadata(search, desk_state, agent, query, expected):
    found = search.find(View.ALL, agent.id, query)
    assert sorted(ids_of(found)) == sorted(desk_state[k] for k in expected)


def test_search_by_id_prefix_and_within_a_view(search, desk_state, agent):
    cid = desk_state["anon"]
    assert ids_of(search.find(View.ALL, agent.id, cid[:8])) == [cid]
    assert ids_of(search.find(View.RESOLVED, agent.id, "parcel")) == [desk_state["old"]]
    assert search.find(View.UNASSIGNED, agent.id, "parcel") == []


def test_a_search_says_where_it_matched(search, service, agent):
    long = "x " * 40 + "the blue widget broke yesterday " + "y " * 40
    cid = chat(service, {}, long)
    [entry] = search.find(View.ALL, agent.id, "BLUE WIDGET")
    assert entry.id == cid
    assert "blue widget" in entry.match and entry.match.startswith("…") and len(entry.match) < 130


def test_non_ascii_metadata_is_found(search, service, agent):
    cid = chat(service, {"name": "José Müller"}, "hola")
    assert ids_of(search.find(View.ALL, agent.id, "José")) == [cid]


def test_previous_conversations_of_the_same_user(search, desk_state):
    s = desk_state
    previous = search.previous(s["maria"])
    assert ids_of(previous) == [s["old"]]  # same email, other case
    assert previous[0].first_question == "Where is my parcel?"
    assert previous[0].status is Status.RESOLVED
    assert ids_of(search.previous(s["old"])) == [s["maria"]]
    assert search.previous(s["anon"]) == []  # nobody identified
    with pytest.raises(ConversationNotFound):
        search.previous("nope")


def test_previous_matches_exactly_not_by_substring(search, service):
    a = chat(service, {"email": "al@example.com"}, "one")
    chat(service, {"email": "hal@example.com"}, "two")
    chat(service, {"note": "cc al@example.com"}, "three")
    b = chat(service, {"customer": {"email": "AL@example.com"}}, "four")
    assert ids_of(search.previous(a)) == [b]


@pytest.mark.parametrize(
    ("metadata", "name", "email"),
    [
        ({"name": "Ann", "email": "A@B.C"}, "Ann", "a@b.c"),
        ({"Full_Name": " Ann Lee ", "Mail": "ann@x.io"}, "Ann Lee", "ann@x.io"),
        ({"firstName": "Ann", "lastName": "Lee"}, "Ann Lee", None),
        ({"contact": {"username": "ann"}}, "ann", None),
        ({"name": "", "email": 5, "plan": "pro"}, None, "5"),
        ({"name": True, "email": None}, None, None),
        (None, None, None),
    ],
)
def test_identity_of(metadata, name, email):
    who = identity_of(metadata)
    assert (who.name, who.email) == (name, email)
