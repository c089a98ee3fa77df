"""Every message tier1 emits renders in an unmodified rasa-webchat 1.0.1 (issue 14).

`rasa_webchat_renders` is rasa-webchat's own dispatch rule (lib/index.js, ``dispatchMessage``
after ``handleMessageReceived`` drops ``metadata``): a text, a text with quick replies or
buttons, or an attachment; anything else goes to a custom component, which a plain
rasa-webchat page does not have, and is dropped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from handoff.csat import Csat
from handoff.gateway import renderable, source_markdown, webchat_message
from handoff.settings import CsatScale, CsatSettings

NOW = datetime(2026, 12, 5, tzinfo=timezone.utc).isoformat()


def rasa_webchat_renders(message: dict[str, Any]) -> bool:
    shown = {k: v for k, v in message.items() if k != "metadata"}
    shown["text"] = str(shown.get("text"))  # handleBotUtterance: text: String(e.text)
    keys = set(shown)
    if keys == {"text"}:
        return shown["text"] not in ("", "None", "undefined")
    if keys in ({"text", "quick_replies"}, {"text", "buttons"}):
        return True
    attachment = shown.get("attachment")
    return isinstance(attachment, dict) and attachment.get("type") in ("image", "video")


def stored(sender: str, text: str | None, payload: dict | None = None, **extra) -> dict:
    return {"id": 7, "sender": sender, "text": text, "payload": payload, "created_at": NOW,
            "client_id": None, "agent_name": None, **extra}


SOURCE = {"article_id": 3, "title": "Reset your password", "url": "https://help.example.com/reset"}


@pytest.mark.parametrize("scale", list(CsatScale))
def test_the_rating_prompt_is_quick_replies_with_its_flag_in_metadata(scale):
    prompt = Csat(CsatSettings(scale=scale), engine=None).prompt()
    out = webchat_message(stored("bot", prompt.text, prompt.payload))
    assert rasa_webchat_renders(out)
    assert set(out) == {"text", "quick_replies", "metadata"}
    assert out["metadata"]["csat"] is True
    assert all(q["payload"].startswith('/csat{"rating":') for q in out["quick_replies"])


def test_an_answers_source_becomes_a_markdown_link_marked_as_the_source():
    out = webchat_message(stored("bot", None, {"custom": {"source": SOURCE}}))
    assert rasa_webchat_renders(out)
    assert out["text"] == "Source: [Reset your password](https://help.example.com/reset)"
    assert out["metadata"]["kind"] == "source" and out["metadata"]["source"] == SOURCE


def test_a_source_without_a_web_address_is_its_title_and_a_bare_one_is_not_sent():
    out = webchat_message(stored("bot", None, {"custom": {"source": {
        "article_id": 3, "title": "Returns", "url": None}}}))
    assert out["text"] == "Source: Returns" and rasa_webchat_renders(out)
    unsafe = source_markdown({"title": "x](javascript:alert(1))", "url": "javascript:alert(1)"})
    assert unsafe == "Source: x\\](javascript:alert(1))"  # text, not a link
    bare = webchat_message(stored("bot", None, {"custom": {"source": {"article_id": 3}}}))
    assert not renderable(bare)


def test_a_link_keeps_odd_characters_inside_its_address():
    line = source_markdown({"title": "A [b] c", "url": "https://x.example/a b(c)"})
    assert line == "Source: [A \\[b\\] c](https://x.example/a%20b%28c%29)"


@pytest.mark.parametrize("message", [
    stored("bot", "Here is how."),
    stored("bot", "Pick one", {"buttons": [{"title": "Billing", "payload": "/billing"}]}),
    stored("agent", "Hi, Ana here", agent_name="Ana"),
    stored("system", "Ana joined the chat", agent_name="Ana"),
    stored("bot", "A picture", {"image": "https://x.example/a.png"}),
])
def test_plain_messages_keep_rasa_webchats_shapes(message):
    out = webchat_message(message)
    assert rasa_webchat_renders(out)
    assert out["metadata"]["sender"] == message["sender"] and out["metadata"]["message_id"] == 7


def test_other_custom_json_goes_on_for_a_clients_own_component():
    out = webchat_message(stored("bot", None, {"custom": {"carousel": [1, 2], "csat": True}}))
    assert out["custom"] == {"carousel": [1, 2]} and out["metadata"]["csat"] is True


def test_the_did_this_help_prompt_stays_quick_replies_on_the_wire():
    # tier1's widget draws it as thumbs under the answer; rasa-webchat has only this.
    buttons = [{"title": "Yes", "payload": "/feedback_helpful"},
               {"title": "No", "payload": "/feedback_not_helpful"}]
    out = webchat_message(stored("bot", "Did this help?", {"buttons": buttons}))
    assert rasa_webchat_renders(out)
    assert out["quick_replies"] == [{"content_type": "text", **b} for b in buttons]
    assert set(out["metadata"]) == {"sender", "message_id", "created_at"}
