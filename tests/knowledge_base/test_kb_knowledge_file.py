"""Validation of the human-edited knowledge file: every error names file, article and field."""

from pathlib import Path

import pytest
import yaml

from knowledge_base.errors import KnowledgeFileError
from knowledge_base.knowledge_file import parse_knowledge_file, read_knowledge_file
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit

DEMO = Path(__file__).parents[2] / "knowledge_base" / "demo" / "articles.yml"

GOOD = """
version: 1
articles:
  - slug: reset-password
    title: "  How do I   reset my password? "
    answer: |
      Tap Forgot password.
      Then follow the link.
    url: https://help.example.test/reset
    tags: [account, account, login]
    questions:
      - I forgot my password
      - "How do I reset my password?"
      - I forgot my password
  - slug: refunds
    title: Refunds
    answer: Ten days.
"""


def problems_of(text: str) -> KnowledgeFileError:
    with pytest.raises(KnowledgeFileError) as e:
        parse_knowledge_file(text, "kb.yml")
    assert status_for(e.value) == 400
    assert str(e.value).startswith("kb.yml: ")
    return e.value


def test_a_valid_file_parses_and_normalises_whitespace():
    reset, refunds = parse_knowledge_file(GOOD, "kb.yml")
    assert reset.title == "How do I reset my password?"
    assert reset.answer == "Tap Forgot password.\nThen follow the link."
    assert reset.tags == ("account", "login")
    assert reset.url == "https://help.example.test/reset"
    # The title is indexed first; repeats (of it or of a question) are indexed once.
    assert reset.indexed_texts() == ["How do I reset my password?", "I forgot my password"]
    assert (refunds.url, refunds.tags, refunds.questions) == (None, (), ())
    assert refunds.indexed_texts() == ["Refunds"]


def test_bad_yaml_names_the_line():
    err = problems_of("version: 1\narticles:\n  - slug: x\n    title: [unclosed\n")
    assert "not valid YAML at line" in str(err)
    assert err.article is None


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("- just a list", None, "expected a mapping"),
        ("version: 2\narticles: []", "version", "must be 1"),
        ("version: 1\narticles: {}", "articles", "must be a list"),
        ("version: 1\narticles: []\nextra: 1", "extra", "unknown top-level key"),
    ],
)
def test_file_level_problems(text, field, words):
    err = problems_of(text)
    assert err.field == field and err.article is None
    assert words in str(err)


def test_a_missing_field_names_file_article_and_field():
    err = problems_of("version: 1\narticles:\n  - slug: refunds\n    answer: Ten days.\n")
    assert (err.file, err.article, err.field) == (Path("kb.yml"), "refunds", "title")
    assert "article refunds, field 'title': required" in str(err)


def test_an_article_without_a_usable_slug_is_named_by_position():
    err = problems_of(
        "version: 1\narticles:\n"
        "  - {slug: ok, title: T, answer: A}\n"
        "  - {slug: Not OK!, title: T, answer: A}\n"
    )
    assert (err.article, err.field) == ("#2", "slug")
    assert "lowercase" in str(err)


def test_duplicate_slugs_are_rejected_naming_both_positions():
    err = problems_of(
        "version: 1\narticles:\n"
        "  - {slug: refunds, title: A, answer: A}\n"
        "  - {slug: other, title: B, answer: B}\n"
        "  - {slug: refunds, title: C, answer: C}\n"
    )
    assert (err.article, err.field) == ("refunds", "slug")
    assert "article #3 repeats article #1" in str(err)


def test_a_key_repeated_in_one_article_is_rejected():
    err = problems_of(
        "version: 1\narticles:\n  - slug: a\n    title: A\n    title: B\n    answer: x\n"
    )
    assert "'title' appears twice" in str(err)


@pytest.mark.parametrize(
    ("article", "field", "words"),
    [
        ({"title": 2024}, "title", "must be text, got int"),
        ({"title": "   "}, "title", "must not be empty"),
        ({"answer": None}, "answer", "required"),
        ({"url": "help.example/x"}, "url", "http(s) URL"),
        ({"tags": "account"}, "tags", "must be a list"),
        ({"questions": ["fine", ""]}, "questions[1]", "must not be empty"),
        ({"questions": ["fine", 3]}, "questions[1]", "must be text"),
        ({"qestions": ["typo"]}, "qestions", "unknown field"),
        ({"title": "x" * 501}, "title", "the limit is 500"),
    ],
)
def test_field_problems_name_the_field(article, field, words):
    raw = {"slug": "refunds", "title": "Refunds", "answer": "Ten days.", **article}
    err = problems_of(yaml.safe_dump({"version": 1, "articles": [raw]}))
    assert (err.article, err.field) == ("refunds", field)
    assert words in str(err)


@pytest.mark.parametrize(
    ("slug", "words"),
    [
        (None, "required: lowercase letters and digits"),
        ("", "required: lowercase letters and digits"),
        ("Reset Password", "'Reset Password' is not a valid slug: use lowercase letters"),
        ("reset--password", "e.g. 'reset-password'"),
        ("Café crème", "e.g. 'cafe-creme'"),
        (12, "must be text, got int"),
        ("a" * 201, "the limit is 200"),
    ],
)
def test_a_bad_slug_says_what_is_wrong_with_it(slug, words):
    raw = {"title": "Refunds", "answer": "Ten days."} | ({} if slug is None else {"slug": slug})
    err = problems_of(yaml.safe_dump({"version": 1, "articles": [raw]}))
    assert (err.article, err.field) == ("#1", "slug")
    assert words in str(err)
    if slug:  # present but malformed is not "required"
        assert "required" not in str(err)


def test_every_problem_is_reported_at_once():
    err = problems_of(
        "version: 1\narticles:\n  - {slug: a, answer: A}\n  - {slug: b, title: B}\n  - 7\n"
    )
    assert [(p.article, p.field) for p in err.problems] == [
        ("a", "title"),
        ("b", "answer"),
        ("#3", None),
    ]
    assert "3 problems; fix them" in str(err)


def test_a_missing_file_is_a_knowledge_file_error(tmp_path):
    with pytest.raises(KnowledgeFileError, match="cannot read the file") as e:
        read_knowledge_file(tmp_path / "nope.yml")
    assert e.value.file == tmp_path / "nope.yml"


def test_the_demo_help_center_is_complete_and_well_formed():
    specs = read_knowledge_file(DEMO)
    assert len(specs) >= 32
    all_questions = [q.casefold() for s in specs for q in s.questions]
    assert len(all_questions) == len(set(all_questions)), "a question appears in two articles"
    for spec in specs:
        assert len(spec.questions) >= 4, spec.slug
        assert all(q.casefold() != spec.title.casefold() for q in spec.questions), spec.slug
        assert spec.url and spec.url.startswith("https://help.lumenmobile.example/"), spec.slug
        assert spec.tags, spec.slug
        sentences = [s for s in spec.answer.replace("?", ".").split(". ") if s.strip()]
        assert 2 <= len(sentences) <= 5, (spec.slug, len(sentences))
    topics = {
        "reset-password",
        "refunds",
        "payment-methods",
        "invoices",
        "plans-overview",
        "change-plan",
        "cancel-service",
        "shipping",
        "returns",
        "order-tracking",
        "data-export",
        "contact-support",
        "mobile-data",
        "create-account",
    }
    assert topics <= {s.slug for s in specs}
