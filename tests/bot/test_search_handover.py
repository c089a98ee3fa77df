"""The search handed from the app to the answer action with a message (bot/search_handover.py)."""

from __future__ import annotations

import pytest

from bot import search_handover
from bot.search_handover import METADATA_KEY, pack, search_text, take

pytestmark = pytest.mark.unit

RESULT = {"decision": "answer", "hits": [{"article_id": 1, "title": "t", "answer": "a",
                                          "score": 0.9}]}


def test_a_result_is_taken_only_for_the_text_it_was_searched_for():
    metadata = {"channel": "widget", **pack("refund", RESULT)}
    assert take(metadata, "refund") == RESULT
    assert take(metadata, "refund please") is None
    assert take(None, "refund") is None
    assert take({METADATA_KEY: {"text": "refund", "result": "no"}}, "refund") is None
    assert take({METADATA_KEY: ["refund"]}, "refund") is None


def test_the_searched_text_is_stripped_and_cut_like_the_apis_limit():
    assert search_text("  where is my card? \n") == "where is my card?"
    long = search_text("why " + "y" * 3000)
    assert len(long) == search_handover.MAX_CHARS and long.startswith("why y")
    assert search_text(" \t ") == ""

