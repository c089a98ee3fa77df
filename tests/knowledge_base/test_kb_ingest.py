"""Import formats (YAML, CSV, JSON, Markdown, HTML, ZIP), all-or-nothing errors naming file,
line and field, passages, and export -> import round trips."""

import io
import json
import zipfile

import pytest

from knowledge_base import ingest
from knowledge_base.errors import KnowledgeFileError, UnsupportedFormat
from knowledge_base.passages import split_passages
from tier1.http_errors import status_for

pytestmark = pytest.mark.unit

CSV = (
    "slug,title,answer,questions,tags,status\n"
    'forgot-password,How do I reset my password?,"Tap **Forgot password**.\n\nThen check mail.",'
    '"I forgot my password\nlocked out",account,published\n'
    "refund-times,Refunds,Ten days.,,,draft\n"
)
MARKDOWN = """---
slug: track-order
tags: [shop]
questions: [where is my parcel]
---
# Track an order

Open **Orders** and tap the tracking link.

## Questions
- courier tracking number
- shipment status

Couriers update the link daily.
"""
HTML = """<!doctype html><html lang="de"><head><title>Roaming im Ausland</title>
<meta name="tags" content="travel, roaming"><style>p {color: red}</style></head>
<body><nav>Home | Help</nav><h1>Roaming im Ausland</h1>
<p>Schalte Roaming in der App ein.</p><p>Es kostet <b>nichts</b> extra.</p>
<h2>Questions</h2><ul><li>roaming holiday</li><li>phone abroad</li></ul>
<script>alert(1)</script></body></html>"""


def test_csv_rows_become_articles_with_lists_and_markdown_answers():
    reset, refunds = ingest.parse_source("kb.csv", CSV.encode())
    assert reset.slug == "forgot-password" and reset.questions == (
        "I forgot my password",
        "locked out",
    )
    assert reset.answer == "Tap **Forgot password**.\n\nThen check mail." and reset.tags == (
        "account",
    )
    assert refunds.status.value == "draft" and refunds.questions == ()


def test_markdown_front_matter_title_heading_and_questions_section():
    (spec,) = ingest.parse_source(
        "Track Order.md", MARKDOWN.replace("slug: track-order\n", "").encode()
    )
    assert spec.slug == "track-order" and spec.title == "Track an order"
    assert spec.questions == ("where is my parcel", "courier tracking number", "shipment status")
    assert spec.answer == (
        "Open **Orders** and tap the tracking link.\n\nCouriers update the link daily."
    )
    assert spec.tags == ("shop",)


def test_html_title_text_questions_and_meta():
    (spec,) = ingest.parse_source("roaming.html", HTML.encode())
    assert (spec.slug, spec.title, spec.locale) == ("roaming", "Roaming im Ausland", "de")
    assert spec.answer == "Schalte Roaming in der App ein.\n\nEs kostet nichts extra."
    assert spec.questions == ("roaming holiday", "phone abroad")
    assert spec.tags == ("travel", "roaming")


def test_json_structure_or_bare_list():
    articles = [{"slug": "a", "title": "A", "answer": "x"}]
    assert ingest.parse_source("a.json", json.dumps(articles).encode())[0].slug == "a"
    wrapped = json.dumps({"version": 1, "articles": articles}).encode()
    assert ingest.parse_source("a.json", wrapped)[0].title == "A"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_zip_imports_every_member_together():
    data = _zip({"a/kb.csv": CSV, "track.md": MARKDOWN, "roaming.htm": HTML, "__MACOSX/x": "?"})
    slugs = [s.slug for s in ingest.parse_source("help.zip", data)]
    assert sorted(slugs) == ["forgot-password", "refund-times", "roaming", "track-order"]


def test_a_slug_in_two_zip_members_is_refused():
    with pytest.raises(KnowledgeFileError, match="also in"):
        ingest.parse_source("help.zip", _zip({"a.md": MARKDOWN, "b/track-order.md": MARKDOWN}))


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "article"),
    [
        ("kb.csv", CSV.replace("Refunds,Ten days.", "Refunds,"), 6, "answer", "refund-times"),
        ("kb.csv", "slug,title,answer,colour\n", 1, "colour", None),
        ("kb.csv", "slug,title\n", 1, "answer", None),
        (
            "kb.json",
            (
                '{"version": 1, "articles": [\n {"slug": "a", "title": "A", "answer": "x"},\n'
                ' {"slug": "b", "title": "B", "answer": "y", "status": "gone"}\n]}'
            ),
            3,
            "status",
            "b",
        ),
        ("kb.json", '{"version": 1,\n "articles": [}', 2, None, None),
        (
            "kb.yml",
            (
                "version: 1\narticles:\n  - slug: a\n    title: A\n    answer: x\n"
                "  - slug: b\n    title: B\n    answer: y\n    url: not-a-url\n"
            ),
            9,
            "url",
            "b",
        ),
        ("x.md", "---\ntitle: T\nlocale: 12\n---\nbody", 3, "locale", "x"),
        ("x.md", "no title anywhere", 1, "title", "x"),
    ],
)
def test_errors_name_the_file_line_and_field(name, text, line, field, article):
    with pytest.raises(KnowledgeFileError) as e:
        ingest.parse_source(name, text.encode())
    assert (e.value.line, e.value.field, e.value.article) == (line, field, article)
    assert str(e.value).startswith(f"{name}: ") and f"line {line}" in str(e.value)


def test_unknown_extensions_and_non_utf8_are_refused():
    with pytest.raises(UnsupportedFormat) as e:
        ingest.parse_source("kb.docx", b"x")
    assert status_for(e.value) == 415
    with pytest.raises(KnowledgeFileError, match="UTF-8"):
        ingest.parse_source("kb.csv", "slug\n\xe9".encode("latin-1"))
    with pytest.raises(UnsupportedFormat):
        ingest.export([], "xml")


def test_a_bad_file_in_a_zip_imports_nothing(make_kb, kb_file):
    kb = make_kb()
    kb.import_file(kb_file)
    bad = _zip({"new.md": MARKDOWN, "broken.csv": "slug,title,answer\nx,,y\n"})
    with pytest.raises(KnowledgeFileError) as e:
        kb.import_bytes("help.zip", bad)
    assert "help.zip!broken.csv" in str(e.value) and e.value.line == 2
    assert kb.status()["version"] == 1 and kb.status()["articles"] == 4


@pytest.mark.parametrize("fmt", ["csv", "json", "yaml"])
def test_export_then_import_changes_nothing(make_kb, kb_file, fmt):
    kb = make_kb()
    kb.import_file(kb_file)
    kb.import_bytes("more.csv", CSV.encode())  # markdown answer, a draft, list cells
    before = kb.export(fmt)
    specs = ingest.parse_source(f"articles.{fmt}", before)
    assert len(specs) == 6 and {s.status.value for s in specs} == {"published", "draft"}
    version = kb.status()["version"]
    report = kb.import_bytes(f"articles.{fmt}", before)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 6)
    assert kb.status()["version"] == version and kb.export(fmt) == before


def test_split_passages_packs_paragraphs_and_splits_long_ones():
    text = "Short intro.\n\n" + "A sentence of words. " * 30 + "\n\n" + "x" * 250
    passages = split_passages(text, 120)
    assert all(0 < len(p) <= 120 for p in passages)
    assert "".join(passages).replace(" ", "") == "".join(text.split())
    assert passages[0].startswith("Short intro. A sentence")  # small paragraphs are packed


def test_a_passage_hit_maps_to_its_article(make_kb, kb_settings, write_file):
    long_answer = "\n\n".join(
        ["Our plans renew every month on the day you joined."] * 8
        + ["Voicemail greetings are recorded by dialling 121 and pressing option three."]
    )
    kb = make_kb(settings=kb_settings.copy(update={"passage_chars": 120}))
    kb.import_file(
        write_file(
            [
                {"slug": "plans", "title": "About your plan", "answer": long_answer},
                {"slug": "shop", "title": "Buying a phone", "answer": "Visit the shop."},
            ]
        )
    )
    hit = kb.search("record voicemail greeting dialling 121").hits[0]
    assert hit.slug == "plans" and "Voicemail greetings" in hit.matched_question
    assert kb.get_article(hit.article_id).questions == []  # passages are not questions
