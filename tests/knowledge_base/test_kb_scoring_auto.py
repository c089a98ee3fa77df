"""``scoring.type: auto`` through ``KnowledgeBase``: imported help-center articles are scored
hybrid, attached questions switch it to the learned head, and the thresholds follow."""

from __future__ import annotations

import pytest

from knowledge_base import KnowledgeBaseSettings

pytestmark = pytest.mark.unit


@pytest.fixture
def auto_settings() -> KnowledgeBaseSettings:
    return KnowledgeBaseSettings(
        embedder={"type": "hashing", "dimensions": 384},
        index={"type": "memory"},
        seed_file=None,
        scoring={"type": "auto", "auto_min_phrasings": 2},
        decision={
            "answer_threshold": 0.5,
            "by_scoring": {
                "hybrid": {"answer_threshold": 0.11, "clarify_margin": 0.03},
                "learned_head": {"answer_threshold": 0.22},
            },
        },
    )


def test_auto_follows_attached_questions(make_kb, auto_settings, articles, write_file):
    bare = [{k: v for k, v in a.items() if k != "questions"} for a in articles]
    kb = make_kb(settings=auto_settings)
    kb.import_file(write_file(bare))
    assert kb.status()["scoring"] == kb.scoring == "hybrid"
    assert kb.decision_settings.answer_threshold == 0.11
    assert kb.decision_settings.clarify_margin == 0.03
    assert kb.search("Forgot password on the sign-in screen").hits[0].slug == "reset-password"

    # The inbox's Attach adds phrasings one article at a time; once most articles have two
    # the head takes over (the other articles' phrasings are added the same way here).
    for a in kb.list_articles()[0]:
        source = next(x for x in articles if x["slug"] == a.slug)
        kb.update_article(a.id, {"questions": source["questions"][:2]}, actor="t", partial=True)
    assert kb.scoring == "learned_head"
    assert kb.decision_settings.answer_threshold == 0.22
    assert kb.decision_settings.clarify_margin == auto_settings.decision.clarify_margin

    # Another process starting on the same files restores the choice without refitting.
    again = make_kb(settings=auto_settings)
    assert again.scoring == "learned_head"
    assert again.search("I forgot my password").hits[0].slug == "reset-password"


def test_index_answers_always_indexes_short_answers(make_kb, kb_settings, articles, write_file):
    bare = [{k: v for k, v in a.items() if k != "questions"} for a in articles]
    kb = make_kb(settings=kb_settings.copy(update={"index_answers": "always"}))
    kb.import_file(write_file(bare))
    assert kb.status()["questions"] == 2 * len(bare)  # each title and each (short) answer
    hit = kb.search("courier tracking link Orders").hits[0]
    assert hit.slug == "track-order" and "courier" in hit.matched_question
