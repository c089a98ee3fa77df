"""The learned head and the learned_head scorer, through KnowledgeBase with the hashing embedder."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base import Decision, KnowledgeBaseSettings
from knowledge_base.errors import UnsupportedBackend, VectorIndexError
from knowledge_base.head import ArticleHead
from knowledge_base.scoring import LearnedHeadScorer, MaxCosineScorer, create_scorer, head_path
from knowledge_base.settings import ScoringSettings

pytestmark = pytest.mark.unit


def clusters(n_articles: int = 3, per: int = 6, dims: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_articles, dims))
    ids = np.repeat(np.arange(10, 10 + n_articles), per)
    vectors = centres[ids - 10] + 0.2 * rng.normal(size=(len(ids), dims))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return ids, vectors.astype(np.float32), centres


def test_head_classifies_and_round_trips(tmp_path):
    ids, vectors, centres = clusters()
    head = ArticleHead.fit(ids, vectors, C=10, version=7, model="m")
    p = head.probabilities(centres / np.linalg.norm(centres, axis=1, keepdims=True))
    assert p.shape == (3, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert [int(head.article_ids[i]) for i in p.argmax(axis=1)] == [10, 11, 12]
    head.save(tmp_path / "h.npz")
    loaded = ArticleHead.load(tmp_path / "h.npz")
    assert (loaded.version, loaded.model) == (7, "m")
    assert np.allclose(loaded.probabilities(vectors), head.probabilities(vectors))
    assert loaded.column(11) == 1 and loaded.column(99) is None


def test_head_needs_two_articles_and_warm_starts_across_class_changes():
    ids, vectors, _ = clusters()
    assert ArticleHead.fit(np.full(5, 3), vectors[:5], C=10, version=1, model="m") is None
    first = ArticleHead.fit(ids[:12], vectors[:12], C=10, version=1, model="m")
    # Article 12 is new, article 10 is gone: the previous weights seed the known class only.
    second = ArticleHead.fit(ids[6:], vectors[6:], C=10, version=2, model="m", previous=first)
    assert list(second.article_ids) == [11, 12]
    assert second.probabilities(vectors[-1:])[0].argmax() == 1


def test_corrupt_head_file_is_a_vector_index_error(tmp_path):
    (tmp_path / "h.npz").write_bytes(b"garbage")
    with pytest.raises(VectorIndexError, match="delete it"):
        ArticleHead.load(tmp_path / "h.npz")


def test_scorer_factory():
    assert isinstance(create_scorer(ScoringSettings(type="max_cosine")), MaxCosineScorer)
    assert isinstance(create_scorer(ScoringSettings(type="learned_head", C=3)), LearnedHeadScorer)
    with pytest.raises(UnsupportedBackend, match="learned_head"):
        create_scorer(ScoringSettings.construct(type="knn"))


def test_learned_head_scores_are_sqrt_p_times_cosine():
    ids, vectors, _ = clusters()
    scorer = LearnedHeadScorer(C=10)
    assert scorer.score(vectors[:1], {10: 0.9}) == {10: 0.9}  # not fitted: plain cosine
    scorer.fit(ids, vectors, 1, "m")
    p = scorer.head.probabilities(vectors[:1])[0]
    scores = scorer.score(vectors[:1], {10: 0.9, 11: 0.5, 99: 0.8})
    assert scores[10] == pytest.approx(np.sqrt(p[0]) * 0.9, rel=1e-5)
    assert scores[11] == pytest.approx(np.sqrt(p[1]) * 0.5, rel=1e-5)
    assert scores[99] == 0.0  # unknown to the head: never vouched for


@pytest.fixture
def head_settings() -> KnowledgeBaseSettings:
    return KnowledgeBaseSettings(
        embedder={"type": "hashing", "dimensions": 384},
        index={"type": "faiss"},
        scoring={"type": "learned_head"},
        decision={"answer_threshold": 0.2, "clarify_margin": 0.02},
        seed_file=None,
    )


def test_knowledge_base_with_the_head(
    make_kb, head_settings, kb_file, write_file, articles, index_path, counting
):
    kb = make_kb(settings=head_settings)
    kb.import_file(kb_file)
    path = head_path(index_path)
    assert path.exists()
    head = ArticleHead.load(path)
    assert len(head.article_ids) == 4 and head.version == kb.status()["version"]

    result = kb.search("I forgot my password")
    assert result.decision is Decision.ANSWER and result.hits[0].slug == "reset-password"
    assert 0 < result.hits[0].score < 1
    assert kb.search("zebra quantum lasagne").decision is Decision.HANDOFF

    # A new article is answerable right after the import: the head was refitted.
    articles.append(
        {
            "slug": "esim",
            "title": "How do I set up an eSIM?",
            "answer": "Scan the QR code.",
            "questions": ["install esim qr code", "activate esim on iphone"],
        }
    )
    kb.import_file(write_file(articles))
    assert len(ArticleHead.load(path).article_ids) == 5
    assert kb.search("activate esim on iphone").hits[0].slug == "esim"

    # Another process starts from the saved index and head: same scores, nothing refitted.
    scores = [h.score for h in kb.search("courier tracking number").hits]
    embedder = counting()
    again = make_kb(embedder, settings=head_settings)
    assert [h.score for h in again.search("courier tracking number").hits] == pytest.approx(scores)
    assert embedder.encoded == ["courier tracking number"]


def test_a_corrupt_or_missing_head_is_refitted_at_start(
    make_kb, head_settings, kb_file, index_path
):
    make_kb(settings=head_settings).import_file(kb_file)
    path = head_path(index_path)
    expected = ArticleHead.load(path).article_ids
    path.write_bytes(b"not a head")
    kb = make_kb(settings=head_settings)
    assert list(ArticleHead.load(path).article_ids) == list(expected)
    assert kb.search("where is my parcel").hits[0].slug == "track-order"
    path.unlink()
    make_kb(settings=head_settings)
    assert path.exists()


def test_two_articles_match_sklearn_probabilities():
    from sklearn.linear_model import LogisticRegression

    ids, vectors, _ = clusters(n_articles=2)
    head = ArticleHead.fit(ids, vectors, C=10, version=1, model="m")
    lr = LogisticRegression(C=10, max_iter=300, multi_class="multinomial").fit(vectors, ids)
    assert np.allclose(head.probabilities(vectors), lr.predict_proba(vectors), atol=1e-4)


def lexical_case():
    """Two articles whose vectors carry no signal (all rows alike); only the words differ."""
    texts = [f"{w} {x}" for w in ("card", "cash") for x in ("please", "now", "today", "help")]
    ids = np.repeat([10, 11], 4)
    vectors = np.ones((8, 4), np.float32) / 2
    return ids, vectors, texts


def test_lexical_head_separates_what_the_embedding_cannot(tmp_path):
    ids, vectors, texts = lexical_case()
    plain = ArticleHead.fit(ids, vectors, C=10, version=1, model="m")
    assert plain.probabilities(vectors[:1])[0].max() == pytest.approx(0.5, abs=0.01)
    head = ArticleHead.fit(
        ids, vectors, C=10, version=1, model="m", texts=texts, lexical_weight=0.5
    )
    assert head.lexical_weight == 0.5
    p = head.probabilities(vectors[:2], ["my card", "some cash"])
    assert list(p.argmax(axis=1)) == [0, 1] and p.max(axis=1).min() > 0.6
    with pytest.raises(ValueError, match="query texts"):
        head.probabilities(vectors[:1])
    with pytest.raises(ValueError, match="one text per vector"):
        ArticleHead.fit(ids, vectors, C=10, version=1, model="m", texts=texts[:3], lexical_weight=1)

    head.save(tmp_path / "h.npz")
    loaded = ArticleHead.load(tmp_path / "h.npz")
    assert loaded.lexical_weight == 0.5
    assert np.allclose(loaded.probabilities(vectors[:2], ["my card", "some cash"]), p)


def test_lexical_head_warm_starts_across_vocabulary_changes():
    ids, vectors, texts = lexical_case()
    first = ArticleHead.fit(ids, vectors, C=10, version=1, model="m", texts=texts, lexical_weight=1)
    more = texts + ["pin locked", "pin blocked"]
    second = ArticleHead.fit(
        np.concatenate([ids, [12, 12]]),
        np.vstack([vectors, vectors[:2]]),
        C=10,
        version=2,
        model="m",
        previous=first,
        texts=more,
        lexical_weight=1,
    )
    p = second.probabilities(np.vstack([vectors[:1]] * 3), ["card", "cash", "pin"])
    assert [int(second.article_ids[i]) for i in p.argmax(axis=1)] == [10, 11, 12]


def test_format_1_head_files_still_load(tmp_path):
    ids, vectors, _ = clusters()
    head = ArticleHead.fit(ids, vectors, C=10, version=3, model="m")
    np.savez(
        tmp_path / "old.npz",
        format=np.int64(1),
        article_ids=head.article_ids,
        coef=head.coef,
        intercept=head.intercept,
        version=np.int64(3),
        model=np.array("m"),
    )
    loaded = ArticleHead.load(tmp_path / "old.npz")
    assert loaded.lexical_weight == 0.0
    assert np.allclose(loaded.probabilities(vectors), head.probabilities(vectors))


def test_scorer_refits_when_the_lexical_weight_changes(tmp_path):
    ids, vectors, texts = lexical_case()
    scorer = LearnedHeadScorer(C=10, lexical_weight=0.5)
    scorer.fit(ids, vectors, 4, "m", texts)
    scores = scorer.score(vectors[:1], {10: 0.8, 11: 0.8}, "card")
    assert scores[10] > scores[11]
    scorer.save(tmp_path / "h.npz")
    assert LearnedHeadScorer(C=10, lexical_weight=0.5).restore(tmp_path / "h.npz", 4, "m")
    assert not LearnedHeadScorer(C=10).restore(tmp_path / "h.npz", 4, "m")
    assert not LearnedHeadScorer(C=10, lexical_weight=1.0).restore(tmp_path / "h.npz", 4, "m")


def test_knowledge_base_with_a_lexical_head(make_kb, head_settings, kb_file, index_path, counting):
    settings = head_settings.copy(
        update={"scoring": ScoringSettings(type="learned_head", lexical_weight=0.5)}
    )
    kb = make_kb(settings=settings)
    kb.import_file(kb_file)
    head = ArticleHead.load(head_path(index_path))
    assert head.lexical_weight == 0.5 and len(head.ngrams) > 100
    result = kb.search("I forgot my password")
    assert result.decision is Decision.ANSWER and result.hits[0].slug == "reset-password"
    scores = [h.score for h in kb.search("courier tracking number").hits]
    embedder = counting()
    again = make_kb(embedder, settings=settings)  # restored from disk, texts still used
    assert [h.score for h in again.search("courier tracking number").hits] == pytest.approx(scores)
    assert embedder.encoded == ["courier tracking number"]
