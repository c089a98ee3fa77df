"""What the app sends Rasa with a user's text: the sentence vector and the search made with it.

The whole app (`tier1.app.create_app`, hashing embedder, seeded demo KB) in-process.
"""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from bot import embedding_handover, search_handover
from tests.full_app import INTERNAL, build_app

pytestmark = pytest.mark.unit


@pytest.fixture
def app(tmp_path):
    app = build_app(tmp_path)
    with TestClient(app.fastapi) as client:  # runs the lifespan: the KB is seeded and started
        app.client = client
        yield app


def metadata_for(app, text: str) -> dict:
    return asyncio.run(app.handoff.service.rasa_metadata(text))


def test_a_question_goes_with_its_vector_and_the_search_the_bot_would_ask_for(app):
    metadata = metadata_for(app, "  I forgot my password ")
    handed = search_handover.take(metadata, "I forgot my password")
    searched = app.client.post("/api/kb/search", json={"text": "I forgot my password"},
                               headers=INTERNAL)
    assert searched.status_code == 200
    assert handed == searched.json()
    assert handed["hits"] and handed["decision"] in ("answer", "clarify", "handoff")
    kb = app.knowledge_base
    vector = embedding_handover.take(metadata, kb.embedder.name, kb.embedder.dimensions)
    assert vector is not None and vector.shape == (kb.embedder.dimensions,)


def test_a_long_message_is_searched_by_its_start_and_nlu_encodes_it_itself(app):
    text = "how do I reset my password " + "x" * 5000
    metadata = metadata_for(app, text)
    start = search_handover.search_text(text)
    assert len(start) == search_handover.MAX_CHARS
    assert search_handover.take(metadata, start) is not None
    assert embedding_handover.METADATA_KEY not in metadata


@pytest.mark.parametrize("text", ["/affirm", "   "])
def test_payloads_and_blank_texts_go_without_either(app, text):
    assert metadata_for(app, text) == {}
