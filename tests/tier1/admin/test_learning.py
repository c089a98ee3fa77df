"""The unanswered inbox over a seeded set of conversations (hashing embedder, SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from handoff.models import ConversationRow, MessageRow
from knowledge_base import KnowledgeBase
from knowledge_base.embedder import HashingEmbedder
from knowledge_base.settings import KnowledgeBaseSettings
from tests.handoff.analytics_seed import DAY, seed
from tier1.admin.learning import LearningLoop, MissKind, NothingToUndo, UnansweredItemNotFound
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit

ARTICLES = [
    {"slug": "password-reset", "title": "Reset your password", "answer": "Use the link.",
     "questions": ["how do I reset my password"]},
    {"slug": "payments", "title": "Payment methods", "answer": "Cards and PayPal.",
     "questions": ["which payment methods do you accept", "can I pay with a credit card"]},
]
CLARIFY = {"buttons": [{"title": "Plans", "payload": '/choose_article{"article_id":"1"}'},
                       {"title": "None of these", "payload": "/none_of_these"}]}


def add_clarify(engine, cid: str, question: str, then: str | None) -> None:
    """A conversation where the bot offered options after ``question``; the user then sent
    ``then`` (None: left)."""
    t = DAY + timedelta(days=5)
    with Session(engine, future=True) as s, s.begin():
        s.add(ConversationRow(id=cid, status="bot", created_at=t, updated_at=t))
        s.flush()
        s.add(MessageRow(conversation_id=cid, sender="user", text=question, created_at=t))
        s.add(MessageRow(conversation_id=cid, sender="bot", text="Did you mean?", payload=CLARIFY,
                         created_at=t))
        if then is not None:
            s.add(MessageRow(conversation_id=cid, sender="user", text=then, created_at=t))


@pytest.fixture
def loop(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}", future=True)
    kb = KnowledgeBase(
        KnowledgeBaseSettings(embedder={"type": "hashing", "dimensions": 384},
                              index={"type": "memory"}, seed_file=None),
        engine, tmp_path / "kb.index", embedder=HashingEmbedder(),
    )
    kb.start()
    ids = tuple(kb.create_article(a, actor="test").id for a in ARTICLES)
    seed(engine, article_ids=ids)
    add_clarify(engine, "k1", "how to change plan", "/none_of_these")
    add_clarify(engine, "k2", "how do i change my plan", None)  # left at the offer
    add_clarify(engine, "k3", "upgrade to premium", '/choose_article{"article_id":"1"}')
    learning = LearningLoop(engine, kb)
    learning.create_tables()
    yield learning, kb, ids
    engine.dispose()


def by_example(items):
    return {text: item for item in items for text in item.texts}


def test_misses_come_from_all_three_signals(loop):
    learning, _, _ = loop
    kinds = {m.text: m.kind for m in learning.misses()}
    assert kinds == {
        "my invoice shows the wrong address": MissKind.NOT_HELPFUL,  # then negative_feedback
        "can I pay with bitcoin": MissKind.LOW_CONFIDENCE,
        "can I pay in bitcoin please": MissKind.LOW_CONFIDENCE,
        "where is my parcel": MissKind.NOT_HELPFUL,
        "is there a student discount": MissKind.LOW_CONFIDENCE,
        "how to change plan": MissKind.ABANDONED_CLARIFICATION,
        "how do i change my plan": MissKind.ABANDONED_CLARIFICATION,
    }  # not: a user_request handoff, a helpful answer, a clarify answered with a choice


def test_similar_phrasings_make_one_item_with_a_count_and_a_suggestion(loop):
    learning, _, (_, payments) = loop
    items = learning.inbox()
    assert sorted(i.count for i in items) == [1, 1, 1, 2, 2]
    bitcoin = by_example(items)["can I pay with bitcoin"].to_dict()
    assert bitcoin["count"] == 2
    assert set(bitcoin["examples"]) == {"can I pay with bitcoin", "can I pay in bitcoin please"}
    assert bitcoin["suggested_article_id"] == payments
    assert bitcoin["draft_answer"] == "We accept cards and PayPal only."  # the agent's reply
    assert items[0].count == 2  # biggest first
    # ids are stable between calls
    assert [i.id for i in learning.inbox()] == [i.id for i in items]


def test_attach_adds_the_phrasings_and_the_question_is_then_answered(loop):
    learning, kb, (_, payments) = loop
    item = by_example(learning.inbox())["can I pay in bitcoin please"]
    before = kb.search("can I pay in bitcoin please")
    result = learning.attach(item.id, payments, actor="agent:1")
    assert set(result["added"]) == {"can I pay with bitcoin", "can I pay in bitcoin please"}
    assert "can I pay with bitcoin" in kb.get_article(payments).questions
    after = kb.search("can I pay in bitcoin please")
    assert after.hits[0].article_id == payments
    assert after.hits[0].score > before.hits[0].score
    assert after.hits[0].matched_question == "can I pay in bitcoin please"
    assert "can I pay with bitcoin" not in by_example(learning.inbox())
    with pytest.raises(UnansweredItemNotFound) as e:
        learning.attach(item.id, payments, actor="agent:1")
    assert status_for(e.value) == 404


def test_dismiss_hides_the_item_for_good(loop):
    learning, _, _ = loop
    item = by_example(learning.inbox())["is there a student discount"]
    assert learning.dismiss(item.id, actor="agent:1") == {"item_id": item.id, "dismissed": 1}
    assert "is there a student discount" not in by_example(learning.inbox())
    with pytest.raises(UnansweredItemNotFound):
        learning.dismiss(item.id, actor="agent:1")


def test_draft_creates_an_unpublished_article_with_the_phrasings(loop):
    learning, kb, _ = loop
    item = by_example(learning.inbox())["how to change plan"]
    out = learning.draft(item.id, slug="change-plan", title="Change your plan",
                         answer="Settings > Plan.", actor="agent:1")
    article = kb.get_article(out["article"]["id"])
    assert article.status.value == "draft"
    assert set(article.questions) == {"how to change plan", "how do i change my plan"}
    assert "how to change plan" not in by_example(learning.inbox())


def test_since_limits_the_inbox(loop):
    learning, _, _ = loop
    texts = {m.text for m in learning.misses(since=DAY + timedelta(days=4))}
    assert texts == {"is there a student discount", "how to change plan", "how do i change my plan"}


def test_undo_attach_takes_the_phrasings_back_and_reopens_the_item(loop):
    learning, kb, (_, payments) = loop
    item = by_example(learning.inbox())["can I pay in bitcoin please"]
    before = kb.get_article(payments).questions
    learning.attach(item.id, payments, actor="agent:1", actor_name="Ana")
    assert kb.article_revisions(payments)[0].actor_name == "Ana"
    assert kb.search("can I pay in bitcoin please").hits[0].matched_question == (
        "can I pay in bitcoin please"
    )

    undone = learning.undo(item.id, actor="agent:1", actor_name="Ana")

    assert set(undone["removed"]) == {"can I pay with bitcoin", "can I pay in bitcoin please"}
    assert undone["reopened"] == 2 and undone["article"]["questions"] == before
    assert kb.get_article(payments).questions == before
    assert kb.search("can I pay in bitcoin please").hits[0].matched_question != (
        "can I pay in bitcoin please"
    )
    again = by_example(learning.inbox())["can I pay in bitcoin please"]
    assert again.id == item.id and again.count == 2  # back, under the same id
    with pytest.raises(NothingToUndo) as e:
        learning.undo(item.id, actor="agent:1")
    assert status_for(e.value) == 409


def test_undo_attach_keeps_a_phrasing_the_article_had_before(loop):
    learning, kb, (_, payments) = loop
    kb.update_article(payments, {"questions": [*kb.get_article(payments).questions,
                                               "can I pay with bitcoin"]},
                      actor="a", partial=True)
    item = by_example(learning.inbox())["can I pay in bitcoin please"]
    assert learning.attach(item.id, payments, actor="a")["added"] == [
        "can I pay in bitcoin please"]
    assert learning.undo(item.id, actor="a")["removed"] == ["can I pay in bitcoin please"]
    assert "can I pay with bitcoin" in kb.get_article(payments).questions


def test_undo_dismiss_reopens_and_a_drafted_item_cannot_be_undone(loop):
    learning, _, _ = loop
    item = by_example(learning.inbox())["is there a student discount"]
    learning.dismiss(item.id, actor="agent:1")
    assert learning.undo(item.id, actor="agent:1") == {
        "item_id": item.id, "reopened": 1, "removed": [], "article": None}
    assert "is there a student discount" in by_example(learning.inbox())
    drafted = by_example(learning.inbox())["how to change plan"]
    learning.draft(drafted.id, slug="change-plan", title="Change your plan",
                   answer="Settings > Plan.", actor="agent:1",
                   questions=["how to change plan"])
    with pytest.raises(NothingToUndo, match="delete its draft article"):
        learning.undo(drafted.id, actor="agent:1")
    with pytest.raises(NothingToUndo):
        learning.undo("not-an-id", actor="agent:1")
