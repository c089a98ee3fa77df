"""action_handoff when the app says no person can take the chat (closed hours, nobody online)."""

from __future__ import annotations

import pytest

from bot.actions.handoff import CONNECTING_MESSAGE, ActionHandoff
from tests.bot.test_actions import app, config_path, run, texts, tracker  # noqa: F401 - fixtures

pytestmark = pytest.mark.unit


def test_offline_handoff_pauses_without_claiming_to_connect(app):  # noqa: F811
    app.handoff = {"status": "queued", "offline": True}
    messages, events = run(ActionHandoff(), tracker("agent please", intent="request_human"))
    # the app already told the user the team is offline and asked for an email
    assert CONNECTING_MESSAGE not in texts(messages)
    assert texts(messages) == []
    assert {"event": "pause", "timestamp": None} in events  # queued either way


def test_online_handoff_still_says_it_is_connecting(app):  # noqa: F811
    app.handoff = {"status": "queued", "offline": False}
    messages, _ = run(ActionHandoff(), tracker("agent please", intent="request_human"))
    assert texts(messages) == [CONNECTING_MESSAGE]


def test_an_unexpected_handoff_answer_is_an_honest_failure(app):  # noqa: F811
    app.handoff = {"queued": "maybe"}
    messages, events = run(ActionHandoff(), tracker("agent please", intent="request_human"))
    assert "couldn't reach our support team" in texts(messages)[0]
    assert not any(e["event"] == "pause" for e in events)
