"""The knowledge base's search for a user's text, handed from the app to the bot's action.

The app encodes every user text before the turn goes to Rasa (`bot.embedding_handover`). With
the vector in hand, ranking and deciding is about a millisecond more (the work of
``POST /api/kb/search``), so the app does that too and sends the result in the REST webhook's
``metadata`` under `METADATA_KEY`, with the text it searched for. Rasa keeps a user message's
metadata with its event, so ``action_answer`` finds the result in ``tracker.latest_message``
and answers without calling the app back: one HTTP round trip, the app's request handling and
the action server's client call fewer per turn (BENCHMARKS.md, "Cost of one turn").

When the metadata holds no result for exactly the text the action is about to search (a message
sent to Rasa by another channel, a search that failed in the app, a button payload), the action
asks the app over HTTP as before. Rasa sends the action server only the latest user message's
result (`bot.rasa_server` strips it from earlier events), so a long conversation does not carry
every earlier search along, and the tracker store does not store it (`bot.tracker_store`).
"""

from __future__ import annotations

from typing import Any

METADATA_KEY = "tier1_kb_search"

# POST /api/kb/search refuses longer texts (knowledge_base.service.MAX_QUERY_CHARS); the question
# is at the start of a long message, so the bot searches with that rather than fail.
MAX_CHARS = 2000


def search_text(text: str) -> str:
    """What the bot searches for a user's ``text``: stripped, cut to `MAX_CHARS` ('' if none)."""
    return text.strip()[:MAX_CHARS].strip()


def pack(text: str, result: dict[str, Any]) -> dict[str, Any]:
    """``{METADATA_KEY: {"text", "result"}}``: ``result`` is the search's JSON for ``text``."""
    return {METADATA_KEY: {"text": text, "result": result}}


def take(metadata: Any, text: str) -> dict[str, Any] | None:
    """The handed-over search result if it was made for exactly ``text``, else None."""
    if not isinstance(metadata, dict):
        return None
    handed = metadata.get(METADATA_KEY)
    if not isinstance(handed, dict) or handed.get("text") != text:
        return None
    result = handed.get("result")
    return result if isinstance(result, dict) else None


__all__ = ["MAX_CHARS", "METADATA_KEY", "pack", "search_text", "take"]
