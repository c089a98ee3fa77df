"""The service on real PostgreSQL (a throwaway database) with real FAISS and the hashing embedder.

A throwaway database on ``TIER1_TEST_POSTGRES_URL`` (tests/postgres.py); skipped without a server.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from knowledge_base import KnowledgeBase, KnowledgeBaseSettings
from tests.postgres import throwaway_database

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_engine():
    with throwaway_database("kb_test", unreachable=pytest.skip) as engine:
        yield engine


@pytest.fixture
def faiss_settings() -> KnowledgeBaseSettings:
    return KnowledgeBaseSettings(
        embedder={"type": "hashing"}, index={"type": "faiss"}, seed_file=None
    )


def test_import_search_edit_and_restart_on_postgresql(
    pg_engine, faiss_settings, make_kb, kb_file, articles, write_file, tmp_path, counting, n_indexed
):
    kb = make_kb(settings=faiss_settings, path=tmp_path / "a.faiss")
    assert kb.import_file(kb_file).created == 4
    hit = kb.search("courier tracking number").hits[0]
    assert hit.slug == "track-order" and hit.score == pytest.approx(1.0, abs=1e-5)

    articles[0]["questions"].append("locked out of my account")
    report = kb.import_file(write_file(articles))
    assert (report.updated, report.questions_encoded, report.version) == (1, 1, 2)
    article = kb.get_article(hit.article_id)
    assert article.tags == ["shop"] and article.created_at.tzinfo is not None

    embedder = counting()
    again = make_kb(embedder, settings=faiss_settings, path=tmp_path / "a.faiss")
    assert embedder.encoded == []
    assert again.status()["index_size"] == n_indexed + 1 and again.status()["index_type"] == "faiss"


@pytest.fixture
def make_kb(pg_engine, counting):
    """Like the SQLite make_kb, but on PostgreSQL: each call is a new 'process' or replica."""

    def make(embedder=None, *, settings, path):
        kb = KnowledgeBase(
            settings, pg_engine, path, embedder=embedder if embedder is not None else counting()
        )
        kb.start()
        return kb

    return make


def test_deleting_an_article_cascades_to_its_questions(
    pg_engine, faiss_settings, make_kb, kb_file, tmp_path
):
    kb = make_kb(settings=faiss_settings, path=tmp_path / "kb.faiss")
    kb.import_file(kb_file)
    with pg_engine.begin() as conn:
        before = conn.execute(text("SELECT count(*) FROM kb_questions")).scalar_one()
        conn.execute(text("DELETE FROM kb_articles WHERE slug = 'refunds'"))
        after = conn.execute(text("SELECT count(*) FROM kb_questions")).scalar_one()
    assert before - after == 3  # the title and two questions


def test_replicas_seeding_at_once_import_each_article_exactly_once(
    pg_engine, faiss_settings, make_kb, kb_file, tmp_path
):
    replicas = [make_kb(settings=faiss_settings, path=tmp_path / f"r{i}.faiss") for i in range(3)]
    created, errors = [], []
    barrier = threading.Barrier(len(replicas))

    def seed(kb):
        try:
            barrier.wait()
            created.append(kb.seed_if_empty(kb_file))
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=seed, args=(kb,)) for kb in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(created) == 4
    assert replicas[0].status()["articles"] == 4
    for kb in replicas:
        kb.refresh()
        assert kb.search("shipment status").hits[0].slug == "track-order"


def test_concurrent_writers_get_distinct_versions(
    pg_engine, faiss_settings, make_kb, write_file, tmp_path
):
    a = make_kb(settings=faiss_settings, path=tmp_path / "a.faiss")
    b = make_kb(settings=faiss_settings, path=tmp_path / "b.faiss")
    files = [
        write_file(
            [{"slug": f"{name}-{i}", "title": f"{name} topic {i}", "answer": "x"}],
            name=f"{name}{i}.yml",
        )
        for name in ("a", "b")
        for i in range(5)
    ]
    versions, errors = [], []

    def run(kb, paths):
        try:
            versions.extend(kb.import_file(p).version for p in paths)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [
        threading.Thread(target=run, args=(a, files[:5])),
        threading.Thread(target=run, args=(b, files[5:])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(versions) == list(range(1, 11))
    for kb in (a, b):
        kb.refresh()
        assert kb.status()["index_size"] == 10 and kb.status()["stale"] is False
