"""Articles one at a time: create/update/patch/delete, status, revisions, listing, and the
schema migration of a walking-skeleton database."""

import pytest
from sqlalchemy import create_engine, text

from knowledge_base import ArticleStatus, Decision
from knowledge_base.errors import ArticleConflict, ArticleNotFound, InvalidArticle
from knowledge_base.schema import VERSION_TABLE, current_revision, head
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit

NEW = {
    "slug": "voicemail",
    "title": "How do I set up voicemail?",
    "answer": "Dial 121 and follow the prompts.",
    "questions": ["voicemail greeting setup", "record my voicemail message"],
    "tags": ["calls"],
}


@pytest.fixture
def kb(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    return kb


def test_create_is_searchable_at_once_and_recorded(kb):
    article = kb.create_article(NEW, actor="agent:1")
    assert article.status is ArticleStatus.PUBLISHED and article.questions == NEW["questions"]
    assert kb.search("record my voicemail message").hits[0].article_id == article.id
    (revision,) = kb.article_revisions(article.id)
    assert (revision.action, revision.actor, revision.previous) == ("created", "agent:1", None)
    assert "title" in revision.changed and kb.status()["stale"] is False


def test_create_refuses_a_taken_slug_and_invalid_fields(kb):
    with pytest.raises(ArticleConflict) as e:
        kb.create_article({**NEW, "slug": "refunds"}, actor="a")
    assert status_for(e.value) == 409
    with pytest.raises(InvalidArticle) as e:
        kb.create_article({**NEW, "slug": "Bad Slug", "title": ""}, actor="a")
    assert status_for(e.value) == 422 and {p.field for p in e.value.problems} == {"slug", "title"}


def test_update_replaces_and_keeps_the_previous_version(kb):
    article = kb.create_article(NEW, actor="a")
    updated = kb.update_article(
        article.id, {**NEW, "questions": ["voicemail pin forgotten"]}, actor="agent:2"
    )
    assert updated.questions == ["voicemail pin forgotten"]
    assert kb.search("voicemail pin forgotten").hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert kb.search("record my voicemail message").hits[0].matched_question != (
        "record my voicemail message"
    )
    latest = kb.article_revisions(article.id)[0]
    assert latest.action == "updated" and latest.changed == ["questions"]
    assert latest.previous["questions"] == NEW["questions"] and latest.actor == "agent:2"


def test_status_changes_take_articles_in_and_out_of_search(kb):
    article = kb.create_article({**NEW, "status": "draft"}, actor="a")
    assert all(h.article_id != article.id for h in kb.search("voicemail greeting setup").hits)
    kb.embedder.reset()
    kb.update_article(article.id, {"status": "published"}, actor="a", partial=True)
    assert kb.embedder.encoded == []  # drafts keep their vectors: publishing encodes nothing
    assert kb.search("voicemail greeting setup").hits[0].article_id == article.id
    kb.update_article(article.id, {"status": "archived"}, actor="a", partial=True)
    hits = kb.search("voicemail greeting setup").hits
    assert all(h.article_id != article.id for h in hits)
    status = kb.status()
    assert status["index_size"] == status["questions"] and status["articles"] == 5


def test_patch_changes_only_the_fields_given_and_may_rename_the_slug(kb):
    article = kb.create_article(NEW, actor="a")
    patched = kb.update_article(article.id, {"slug": "voicemail-setup"}, actor="a", partial=True)
    assert (patched.slug, patched.title, patched.tags) == (
        "voicemail-setup",
        NEW["title"],
        ["calls"],
    )
    with pytest.raises(ArticleConflict):
        kb.update_article(article.id, {"slug": "refunds"}, actor="a", partial=True)
    with pytest.raises(ArticleNotFound):
        kb.update_article(999, {"status": "draft"}, actor="a", partial=True)


def test_delete_leaves_search_and_keeps_the_history(kb):
    article = kb.create_article(NEW, actor="a")
    kb.delete_article(article.id, actor="agent:3")
    assert all(h.article_id != article.id for h in kb.search("voicemail greeting setup").hits)
    with pytest.raises(ArticleNotFound):
        kb.get_article(article.id)
    latest = kb.article_revisions(article.id)[0]
    assert (latest.action, latest.actor, latest.previous["slug"]) == (
        "deleted",
        "agent:3",
        "voicemail",
    )
    with pytest.raises(ArticleNotFound):
        kb.delete_article(article.id, actor="a")
    status = kb.status()
    assert status["index_size"] == status["questions"]


def test_list_pages_and_filters(kb):
    kb.create_article({**NEW, "status": "draft"}, actor="a")
    page, total = kb.list_articles(offset=1, limit=2)
    assert total == 5 and len(page) == 2
    assert [a.slug for a in kb.list_articles(status=ArticleStatus.DRAFT)[0]] == ["voicemail"]
    assert [a.slug for a in kb.list_articles(tag="account")[0]] == ["reset-password"]
    assert [a.slug for a in kb.list_articles(text="PARCEL")[0]] == ["track-order"]
    assert kb.list_articles(locale="de") == ([], 0)


def test_search_says_which_rule_decided(kb):
    answered = kb.search("I forgot my password")
    assert answered.decision is Decision.ANSWER
    assert answered.decided_by["rule"] == "confident_answer"
    assert answered.decided_by["threshold"] == kb.settings.decision.answer_threshold
    handed = kb.search("quantum chromodynamics lecture")
    assert handed.decided_by["rule"] == "below_answer_threshold"
    assert handed.decided_by["score"] == handed.hits[0].score < handed.decided_by["threshold"]


SKELETON = [
    """CREATE TABLE kb_articles (id INTEGER PRIMARY KEY AUTOINCREMENT, slug VARCHAR(200) NOT NULL
       UNIQUE, title VARCHAR(500) NOT NULL, answer TEXT NOT NULL, url VARCHAR(2000), tags JSON NOT
       NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)""",
    """CREATE TABLE kb_questions (id INTEGER PRIMARY KEY AUTOINCREMENT, article_id INTEGER NOT
       NULL REFERENCES kb_articles (id) ON DELETE CASCADE, position INTEGER NOT NULL, text TEXT NOT
       NULL, embedding BLOB, embedding_model VARCHAR(500))""",
    "CREATE TABLE kb_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(500) NOT NULL)",
    """INSERT INTO kb_articles VALUES (1, 'refunds', 'How do refunds work?', 'Ten days.', NULL,
       '[]', '2026-01-01 00:00:00', '2026-01-01 00:00:00')""",
    "INSERT INTO kb_questions VALUES (1, 1, 0, 'How do refunds work?', NULL, NULL)",
    "INSERT INTO kb_questions VALUES (2, 1, 1, 'money back on my card', NULL, NULL)",
    "INSERT INTO kb_meta VALUES ('version', '1')",
]


def test_a_walking_skeleton_database_is_migrated_in_place(make_kb, tmp_path, kb_settings):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        for statement in SKELETON:
            conn.execute(text(statement))
    from knowledge_base import KnowledgeBase

    kb = KnowledgeBase(kb_settings, engine, tmp_path / "old.index", embedder=make_kb().embedder)
    kb.start()
    assert current_revision(engine) == head()
    article = kb.get_article(1)
    assert (article.status, article.locale, article.questions) == (
        ArticleStatus.PUBLISHED,
        "en",
        ["money back on my card"],
    )
    assert kb.search("money back on my card").hits[0].slug == "refunds"
    kb.update_article(1, {"status": "draft"}, actor="a", partial=True)
    assert kb.article_revisions(1)[0].previous["status"] == "published"
    drafted = kb.save_draft(1, {**article.content(), "title": "Refunds"}, actor="a")
    assert drafted.draft.fields["title"] == "Refunds"  # kb_0003's column
    kb.start()  # a second start finds the schema current
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
    engine.dispose()
