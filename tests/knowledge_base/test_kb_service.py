"""KnowledgeBase with the hashing embedder, the in-memory index and SQLite in tmp_path."""

import json
import threading

import numpy as np
import pytest

from knowledge_base import Decision, InMemoryIndex, KnowledgeBase
from knowledge_base.errors import (
    ArticleNotFound,
    InvalidQuery,
    KnowledgeFileError,
    NotReady,
)
from knowledge_base.index import load_index
from knowledge_base.live_index import LiveIndex
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit

# -- import, upsert, versioning --------------------------------------------------------------


def test_start_on_an_empty_database_gives_an_empty_searchable_kb(make_kb, index_path):
    kb = make_kb()
    assert kb.status()["articles"] == 0 and kb.status()["version"] == 0
    result = kb.search("anything at all")
    assert result.decision is Decision.HANDOFF and result.hits == []
    assert index_path.exists()


def test_import_creates_articles_and_indexes_titles_and_questions(n_indexed, make_kb, kb_file):
    kb = make_kb()
    report = kb.import_file(kb_file)
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert report.questions_encoded == n_indexed and report.version == 1
    status = kb.status()
    assert status["articles"] == 4
    assert status["questions"] == status["index_size"] == n_indexed
    assert (status["version"], status["index_version"], status["stale"]) == (1, 1, False)
    # The title is indexed as a question of its own.
    hit = kb.search("Where is my parcel?").hits[0]
    assert hit.slug == "track-order" and hit.matched_question == "Where is my parcel?"


def test_reimporting_an_unchanged_file_writes_and_encodes_nothing(make_kb, kb_file):
    embedder_kb = make_kb()
    embedder_kb.import_file(kb_file)
    embedder = embedder_kb.embedder
    embedder.reset()
    report = embedder_kb.import_file(kb_file)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert report.questions_encoded == 0 and embedder.encoded == []
    assert embedder_kb.status()["version"] == 1


def test_an_edit_is_upserted_in_place_encoding_only_changed_questions(
    n_indexed, make_kb, kb_file, articles, write_file
):
    kb = make_kb()
    kb.import_file(kb_file)
    before = kb.get_article(kb.search("I forgot my password").hits[0].article_id)
    kb.embedder.reset()

    articles[0]["answer"] = "A brand new answer."  # answer only: nothing to encode
    articles[1]["questions"].append("parcel never came")  # one new question
    articles[2]["questions"].remove("refund timeline days")  # one question removed
    articles[3]["title"] = "Roaming outside the country"  # a new title replaces the old one
    articles.append({"slug": "voicemail", "title": "Voicemail setup", "answer": "Dial 121."})
    report = kb.import_file(write_file(articles))

    assert (report.created, report.updated, report.unchanged) == (1, 4, 0)
    assert report.slugs_created == ["voicemail"]
    assert sorted(kb.embedder.encoded) == sorted(
        ["parcel never came", "Roaming outside the country", "Voicemail setup"]
    )
    assert report.version == 2 and kb.status()["version"] == 2
    status = kb.status()
    # +1 parcel question, -1 refund question, a title replaced, +1 new article title
    assert status["questions"] == status["index_size"] == n_indexed + 1
    after = kb.get_article(before.id)
    assert after.answer == "A brand new answer." and after.created_at == before.created_at
    assert after.updated_at >= before.updated_at
    assert kb.search("parcel never came").hits[0].matched_question == "parcel never came"
    assert kb.search("Roaming outside the country").hits[0].score == pytest.approx(1.0, abs=1e-5)
    refunds = kb.get_article(kb.search("refund money back card").hits[0].article_id)
    assert refunds.questions == ["refund money back card"]


def test_articles_missing_from_a_file_are_kept(make_kb, kb_file, articles, write_file):
    kb = make_kb()
    kb.import_file(kb_file)
    kb.import_file(write_file(articles[:1]))
    assert kb.status()["articles"] == 4


def test_an_invalid_file_changes_nothing(make_kb, kb_file, articles, write_file):
    kb = make_kb()
    kb.import_file(kb_file)
    articles[0]["answer"] = "changed"
    articles[1]["title"] = ""
    with pytest.raises(KnowledgeFileError) as e:
        kb.import_file(write_file(articles))
    assert (e.value.article, e.value.field) == ("track-order", "title")
    assert kb.status()["version"] == 1
    answer = kb.search("I forgot my password").hits[0].answer
    assert answer == "Tap Forgot password on the sign-in screen and follow the emailed link."


def test_seed_if_empty_imports_once(make_kb, kb_file):
    kb = make_kb()
    assert kb.seed_if_empty(kb_file) == 4
    assert kb.seed_if_empty(kb_file) == 0
    assert kb.status()["version"] == 1


# -- the index is a cache of the stored vectors -------------------------------------------------


def test_a_missing_index_file_is_rebuilt_without_re_encoding(
    n_indexed, make_kb, kb_file, index_path, counting
):
    make_kb().import_file(kb_file)
    index_path.unlink()
    embedder = counting()
    kb = make_kb(embedder)
    assert embedder.encoded == []
    assert kb.status()["index_size"] == n_indexed
    assert kb.search("courier tracking number").hits[0].slug == "track-order"
    assert load_index(kb.settings.index, index_path)[1].version == 1


def test_a_stale_index_file_is_rebuilt_without_re_encoding(
    n_indexed, make_kb, kb_file, index_path, articles, write_file, counting
):
    first = make_kb()
    first.import_file(kb_file)
    old_file = index_path.read_bytes()  # reflects version 1
    articles[0]["questions"].append("locked out of my account")
    first.import_file(write_file(articles))
    index_path.write_bytes(old_file)  # e.g. a crash before the index was saved

    embedder = counting()
    kb = make_kb(embedder)
    assert embedder.encoded == []
    assert kb.search("locked out of my account").hits[0].score == pytest.approx(1.0, abs=1e-5)
    manifest = load_index(kb.settings.index, index_path)[1]
    assert (manifest.version, manifest.count) == (2, n_indexed + 1)


def test_a_matching_index_file_is_loaded_not_rebuilt(n_indexed, make_kb, kb_file, monkeypatch):
    make_kb().import_file(kb_file)

    def no_rebuild(self, *args, **kwargs):
        raise AssertionError("the index file matched the database and should have been loaded")

    monkeypatch.setattr(LiveIndex, "rebuild", no_rebuild)
    kb = make_kb()
    assert kb.status()["index_size"] == n_indexed
    assert kb.search("shipment status").hits[0].slug == "track-order"


def test_a_corrupt_index_file_is_rebuilt(n_indexed, make_kb, kb_file, index_path, counting):
    make_kb().import_file(kb_file)
    index_path.write_bytes(b"garbage")
    embedder = counting()
    kb = make_kb(embedder)
    assert embedder.encoded == [] and kb.status()["index_size"] == n_indexed


def test_a_new_model_re_encodes_every_question_once(n_indexed, make_kb, kb_file, counting):
    from knowledge_base import HashingEmbedder

    make_kb().import_file(kb_file)
    other = counting(HashingEmbedder(dimensions=128))
    kb = make_kb(other)
    assert len(other.encoded) == n_indexed
    assert kb.status()["dimensions"] == 128 and kb.status()["index_size"] == n_indexed
    assert kb.search("courier tracking number").hits[0].slug == "track-order"
    again = counting(HashingEmbedder(dimensions=128))
    make_kb(again)
    assert again.encoded == []


def test_refresh_picks_up_another_replicas_writes(make_kb, kb_file, tmp_path, articles, write_file):
    a = make_kb(path=tmp_path / "a" / "kb.index")
    b = make_kb(path=tmp_path / "b" / "kb.index")
    a.import_file(kb_file)
    assert b.search("courier tracking number").hits == []  # b's index is behind
    assert b.refresh() is True
    assert b.search("courier tracking number").hits[0].slug == "track-order"
    assert b.refresh() is False


def test_importing_on_a_stale_replica_rebuilds_instead_of_patching(
    n_indexed, make_kb, kb_file, tmp_path, articles, write_file
):
    a = make_kb(path=tmp_path / "a" / "kb.index")
    b = make_kb(path=tmp_path / "b" / "kb.index")
    a.import_file(kb_file)
    b.import_file(
        write_file([{"slug": "voicemail", "title": "Voicemail setup", "answer": "Dial 121."}])
    )
    status = b.status()
    assert status["index_size"] == status["questions"] == n_indexed + 1
    assert b.search("courier tracking number").hits[0].slug == "track-order"


def test_an_injected_index_is_filled_and_kept(n_indexed, make_kb, kb_file):
    index = InMemoryIndex(384)
    kb = make_kb(index=index)
    kb.import_file(kb_file)
    assert len(index) == n_indexed
    kb.refresh()
    assert kb.search("shipment status").hits[0].slug == "track-order"


# -- search ----------------------------------------------------------------------------------


def test_search_ranks_articles_by_their_best_question(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    result = kb.search("I forgot my password")
    assert result.decision is Decision.ANSWER
    assert result.hits[0].slug == "reset-password"
    assert result.hits[0].matched_question == "I forgot my password"
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-5)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.article_id for h in result.hits}) == len(result.hits) == 4  # one hit per article


def test_top_k_limits_the_articles_returned(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    assert len(kb.search("refund", top_k=2).hits) == 2
    assert len(kb.search("refund", top_k=50).hits) == 4


def test_an_article_with_many_questions_does_not_crowd_out_others(make_kb, write_file):
    kb = make_kb()
    many = [f"router light blinking pattern {i}" for i in range(40)]
    kb.import_file(
        write_file(
            [
                {"slug": "router", "title": "Router lights", "answer": "A.", "questions": many},
                {"slug": "modem", "title": "router modem", "answer": "B."},
                {"slug": "wifi", "title": "router wifi password", "answer": "C."},
            ]
        )
    )
    result = kb.search("router light blinking pattern", top_k=3)
    assert result.hits[0].slug == "router"
    assert {h.slug for h in result.hits} == {"router", "modem", "wifi"}


def test_unrelated_questions_hand_off(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    result = kb.search("quantum chromodynamics lecture")
    assert result.decision is Decision.HANDOFF
    assert result.hits and result.hits[0].score < kb.settings.decision.answer_threshold


def test_two_equally_good_articles_ask_to_clarify(make_kb, write_file):
    kb = make_kb()
    kb.import_file(
        write_file(
            [
                {
                    "slug": "a",
                    "title": "Cancel my order",
                    "answer": "A.",
                    "questions": ["stop my order"],
                },
                {
                    "slug": "b",
                    "title": "Cancel my plan",
                    "answer": "B.",
                    "questions": ["stop my order"],
                },
            ]
        )
    )
    assert kb.search("stop my order").decision is Decision.CLARIFY


def test_search_many_returns_one_result_per_question_in_order(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    questions = ["courier tracking number", "I forgot my password", "quantum chromodynamics"]
    kb.embedder.reset()
    results = kb.search_many(questions, top_k=2)
    assert kb.embedder.calls == [questions]  # one encoding batch
    assert [r.hits[0].slug for r in results[:2]] == ["track-order", "reset-password"]
    assert [r.decision for r in results] == [Decision.ANSWER, Decision.ANSWER, Decision.HANDOFF]
    assert all(len(r.hits) == 2 for r in results)
    assert kb.search_many([]) == []
    with pytest.raises(InvalidQuery):
        kb.search_many(["fine", " "])


@pytest.mark.parametrize("text", ["", "   \n", "x" * 2001, None])
def test_invalid_queries_are_rejected(make_kb, text):
    with pytest.raises(InvalidQuery) as e:
        make_kb().search(text)
    assert status_for(e.value) == 422


@pytest.mark.parametrize("top_k", [0, 101, 2.5])
def test_invalid_top_k_is_rejected(make_kb, top_k):
    with pytest.raises(InvalidQuery, match="top_k"):
        make_kb().search("password", top_k=top_k)


def test_a_query_of_exactly_the_limit_is_accepted(make_kb):
    assert make_kb().search("x" * 2000).decision is Decision.HANDOFF


def test_search_result_to_dict_is_json_ready(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    data = json.loads(json.dumps(kb.search("I forgot my password", top_k=1).to_dict()))
    assert data["decision"] == "answer"
    assert set(data["hits"][0]) == {
        "article_id",
        "slug",
        "title",
        "answer",
        "url",
        "score",
        "matched_question",
    }
    assert data["hits"][0]["url"] == "https://help.example.test/reset-password"


# -- articles, status, lifecycle ---------------------------------------------------------------


def test_get_article_returns_its_questions_without_the_title(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    article = kb.get_article(kb.search("I forgot my password").hits[0].article_id)
    assert article.slug == "reset-password" and article.tags == ["account"]
    assert article.questions == [
        "I forgot my password",
        "password reset link not arriving",
        "change my login password",
    ]
    assert article.created_at.tzinfo is not None
    assert json.dumps(article.to_dict())


def test_an_unknown_article_is_not_found(make_kb):
    with pytest.raises(ArticleNotFound) as e:
        make_kb().get_article(999)
    assert status_for(e.value) == 404 and "999" in str(e.value)


def test_nothing_works_before_start(kb_settings, engine, index_path, kb_file):
    kb = KnowledgeBase(kb_settings, engine, index_path)
    for call in (
        lambda: kb.search("x"),
        kb.status,
        lambda: kb.import_file(kb_file),
        lambda: kb.get_article(1),
    ):
        with pytest.raises(NotReady) as e:
            call()
        assert status_for(e.value) == 503


def test_construction_does_no_work(kb_settings, engine, index_path):
    KnowledgeBase(kb_settings, engine, index_path)
    from sqlalchemy import inspect

    assert inspect(engine).get_table_names() == [] and not index_path.exists()


def test_searches_run_while_imports_write(n_indexed, make_kb, kb_file, articles, write_file):
    kb = make_kb()
    kb.import_file(kb_file)
    errors: list[BaseException] = []
    stop = threading.Event()

    def searcher():
        try:
            while not stop.is_set():
                assert kb.search("courier tracking number").hits[0].slug == "track-order"
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(4):
            articles[0]["questions"].append(f"password question number {i}")
            kb.import_file(write_file(articles, name=f"v{i}.yml"))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    status = kb.status()
    assert status["version"] == 5 and status["index_size"] == status["questions"] == n_indexed + 4
    assert kb.search("password question number 3").hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_a_question_encoded_for_the_turn_is_not_encoded_again_by_its_search(
    make_kb, kb_file, counting
):
    embedder = counting()
    kb = make_kb(embedder)
    kb.import_file(kb_file)
    embedder.reset()
    vector = kb.embed_question("  courier tracking number ")
    assert embedder.encoded == ["courier tracking number"]
    assert kb.search("courier tracking number").hits[0].slug == "track-order"
    results = kb.search_many(["courier tracking number", "something new"])
    assert embedder.encoded == ["courier tracking number", "something new"]  # no re-encoding
    assert results[0].hits[0].slug == "track-order"
    assert np.allclose(vector, embedder.inner.encode(["courier tracking number"])[0])
    with pytest.raises(InvalidQuery):
        kb.embed_question("   ")
