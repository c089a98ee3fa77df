"""The custom actions against a fake app server (httpx MockTransport), no Rasa process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.actions import ActionAnswer, ActionHandoff, runtime
from bot.actions.answer import BAD_CHOICE_MESSAGE, CLARIFY_MESSAGE, KB_DOWN_MESSAGE, NONE_OF_THESE
from bot.actions.errors import ActionConfigError
from bot.actions.handoff import CONNECTING_MESSAGE, UNREACHABLE_MESSAGE

pytestmark = pytest.mark.unit

TOKEN = "internal-token-0123456789abcdef"
APP = "http://127.0.0.1:8123"


def hit(
    article_id: int, score: float, title: str | None = None, question: str = "q"
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "slug": f"article-{article_id}",
        "title": title or f"Article {article_id}",
        "answer": f"Answer of article {article_id}.",
        "url": f"https://help.example.com/{article_id}",
        "score": score,
        "matched_question": question,
    }


class FakeApp:
    """The app server's internal API as the actions see it; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.search: dict[str, Any] | Exception | int = {"decision": "handoff", "hits": []}
        self.articles: dict[int, dict[str, Any]] = {}
        self.handoff: dict[str, Any] | Exception | int = {"status": "queued"}

    def _reply(self, outcome: Any, request: httpx.Request) -> httpx.Response:
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, int):
            return httpx.Response(outcome, json={"detail": "boom"})
        return httpx.Response(200, json=outcome)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"detail": "bad token"})
        path = request.url.path
        if request.method == "POST" and path == "/api/kb/search":
            return self._reply(self.search, request)
        if request.method == "GET" and path.startswith("/api/kb/articles/"):
            article = self.articles.get(int(path.rsplit("/", 1)[1]))
            return httpx.Response(200, json=article) if article else httpx.Response(404, json={})
        if request.method == "POST" and path == "/api/internal/handoff":
            return self._reply(self.handoff, request)
        return httpx.Response(404, json={"detail": "no route"})

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


@pytest.fixture
def app(tmp_path, monkeypatch) -> FakeApp:
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "server": {"host": "127.0.0.1", "port": 8123},
                "handoff": {"rasa_timeout_seconds": 6},
                "knowledge_base": {"decision": {"clarify_max_options": 2}},
            }
        )
    )
    monkeypatch.setenv("TIER1_CONFIG", str(config))
    monkeypatch.setenv("TIER1_JWT_SECRET", "jwt-secret-0123456789abcdef")
    monkeypatch.setenv("TIER1_INTERNAL_TOKEN", TOKEN)
    monkeypatch.setenv("TIER1_RASA_TOKEN", "rasa-token-0123456789abcdef")
    runtime.reset()
    fake = FakeApp()
    runtime.use_http_client(httpx.AsyncClient(transport=httpx.MockTransport(fake)))
    yield fake
    runtime.reset()


def tracker(
    text: str,
    intent: str = "ask_question",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    earlier: list[str] = (),
) -> Tracker:
    events = [{"event": "user", "text": t, "parse_data": {}} for t in [*earlier, text]]
    return Tracker.from_dict(
        {
            "sender_id": "conv-42",
            "slots": {"handoff_reason": None, "kb_hits": None, "article_id": None, **(slots or {})},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9},
                "intent_ranking": [{"name": intent, "confidence": 0.9}],
                "entities": entities or [],
            },
            "events": events,
        }
    )


def run(action: Action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def slot(events: list[dict[str, Any]], name: str) -> Any:
    values = [e["value"] for e in events if e["event"] == "slot" and e["name"] == name]
    assert values, f"no SlotSet({name!r}) in {events}"
    return values[-1]


def followup(events: list[dict[str, Any]]) -> str | None:
    return next((e["name"] for e in events if e["event"] == "followup"), None)


# --- action_answer ---------------------------------------------------------------------------


def test_answer_utters_best_article_with_its_source(app):
    app.search = {"decision": "answer", "hits": [hit(7, 0.81), hit(3, 0.52), hit(7, 0.50)]}
    messages, events = run(ActionAnswer(), tracker("how do I reset my password"))

    assert app.bodies("/api/kb/search") == [{"text": "how do I reset my password"}]
    assert [m["text"] for m in messages] == ["Answer of article 7."]
    assert messages[0]["custom"] == {
        "source": {"article_id": 7, "title": "Article 7", "url": "https://help.example.com/7"}
    }
    # one entry per article, best first, for the agent
    assert slot(events, "kb_hits") == [
        {"article_id": 7, "title": "Article 7", "score": 0.81},
        {"article_id": 3, "title": "Article 3", "score": 0.52},
    ]
    assert followup(events) is None


def test_answer_sends_the_internal_token(app):
    app.search = {"decision": "answer", "hits": [hit(1, 0.9)]}
    run(ActionAnswer(), tracker("refund"))
    assert app.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert str(app.requests[0].url) == f"{APP}/api/kb/search"


def test_clarify_offers_one_button_per_article_and_none_of_these(app):
    app.search = {
        "decision": "clarify",
        "hits": [
            hit(4, 0.70, "Refunds"),
            hit(4, 0.69, "Refunds"),
            hit(9, 0.68, "Returns"),
            hit(2, 0.6),
        ],
    }
    messages, events = run(ActionAnswer(), tracker("money back"))

    assert len(messages) == 1 and messages[0]["text"] == CLARIFY_MESSAGE
    # clarify_max_options (2) distinct articles, then the way out to a person
    assert messages[0]["buttons"] == [
        {"title": "Refunds", "payload": '/choose_article{"article_id":"4"}'},
        {"title": "Returns", "payload": '/choose_article{"article_id":"9"}'},
        {"title": NONE_OF_THESE, "payload": "/request_human"},
    ]
    assert [h["article_id"] for h in slot(events, "kb_hits")] == [4, 9, 2]
    assert followup(events) is None


def test_choose_article_answers_that_article(app):
    app.articles[9] = {
        "id": 9,
        "slug": "returns",
        "title": "Returns",
        "answer": "Send it back.",
        "url": None,
    }
    previous = [
        {"article_id": 4, "title": "Refunds", "score": 0.7},
        {"article_id": 9, "title": "Returns", "score": 0.68},
    ]
    t = tracker(
        '/choose_article{"article_id":"9"}',
        intent="choose_article",
        entities=[{"entity": "article_id", "value": "9"}],
        slots={"kb_hits": previous, "article_id": "9"},
    )
    messages, events = run(ActionAnswer(), t)

    assert app.bodies("/api/kb/search") == []  # a choice is not searched
    assert [m["text"] for m in messages] == ["Send it back."]
    assert messages[0]["custom"]["source"] == {"article_id": 9, "title": "Returns", "url": None}
    assert slot(events, "kb_hits") == [{"article_id": 9, "title": "Returns", "score": 0.68}]


def test_handoff_decision_follows_up_with_action_handoff(app):
    app.search = {"decision": "handoff", "hits": [hit(5, 0.21)]}
    messages, events = run(ActionAnswer(), tracker("who won the 1966 world cup"))

    assert messages == []
    assert slot(events, "handoff_reason") == "low_confidence"
    assert slot(events, "kb_hits") == [{"article_id": 5, "title": "Article 5", "score": 0.21}]
    assert followup(events) == "action_handoff"


@pytest.mark.parametrize(
    "outcome",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 500, 401, {"unexpected": "shape"}],
    ids=["unreachable", "timeout", "http-500", "http-401", "bad-shape"],
)
def test_kb_failure_apologises_and_hands_off(app, outcome):
    app.search = outcome
    messages, events = run(
        ActionAnswer(), tracker("my card was charged twice", slots={"kb_hits": [{"article_id": 1}]})
    )

    assert [m["text"] for m in messages] == [KB_DOWN_MESSAGE]
    assert slot(events, "handoff_reason") == "kb_unavailable"
    assert slot(events, "kb_hits") == []  # not the previous question's hits
    assert followup(events) == "action_handoff"


def test_missing_chosen_article_is_handled_like_an_unavailable_kb(app):
    t = tracker(
        '/choose_article{"article_id":"99"}',
        intent="choose_article",
        entities=[{"entity": "article_id", "value": "99"}],
    )
    messages, events = run(ActionAnswer(), t)
    assert [m["text"] for m in messages] == [KB_DOWN_MESSAGE]
    assert followup(events) == "action_handoff"


def test_choice_without_a_valid_article_id_asks_again_without_calling_the_app(app):
    messages, events = run(ActionAnswer(), tracker("/choose_article", intent="choose_article"))
    assert [m["text"] for m in messages] == [BAD_CHOICE_MESSAGE]
    assert app.requests == [] and followup(events) is None


def test_message_without_text_is_handed_off_without_searching(app):
    messages, events = run(ActionAnswer(), tracker("   ", intent="nlu_fallback"))
    assert app.requests == [] and messages == []
    assert slot(events, "handoff_reason") == "low_confidence"
    assert followup(events) == "action_handoff"


def test_long_messages_are_searched_by_their_start(app):
    app.search = {"decision": "answer", "hits": [hit(1, 0.9)]}
    run(ActionAnswer(), tracker("how do I reset my password " + "x" * 5000))
    sent = app.bodies("/api/kb/search")[0]["text"]
    assert len(sent) == 2000 and sent.startswith("how do I reset my password")


def test_calls_use_a_timeout_below_the_gateways_budget(app):
    # rasa_timeout_seconds 6 -> at most 2 s per call, so search + handoff fit in one Rasa turn
    assert runtime.app_call_timeout(runtime.settings()) == 2.0
    assert runtime.app_client()._timeout == 2.0


# --- action_handoff --------------------------------------------------------------------------


def test_handoff_on_user_request_queues_and_pauses(app):
    hits = [{"article_id": 4, "title": "Refunds", "score": 0.7}]
    t = tracker(
        "/request_human", intent="request_human", slots={"kb_hits": hits}, earlier=["money back"]
    )
    messages, events = run(ActionHandoff(), t)

    assert app.bodies("/api/internal/handoff") == [
        {
            "conversation_id": "conv-42",
            "reason": "user_request",
            # the user's own words, not the button payload
            "context": {"kb_hits": hits, "last_user_message": "money back"},
        }
    ]
    assert [m["text"] for m in messages] == [CONNECTING_MESSAGE]
    assert {"event": "pause", "timestamp": None} in events
    assert slot(events, "handoff_reason") is None


def test_handoff_uses_the_reason_an_earlier_action_set(app):
    t = tracker("who won the 1966 world cup", slots={"handoff_reason": "kb_unavailable"})
    run(ActionHandoff(), t)
    body = app.bodies("/api/internal/handoff")[0]
    assert body["reason"] == "kb_unavailable"
    assert body["context"] == {"kb_hits": [], "last_user_message": "who won the 1966 world cup"}


def test_handoff_without_reason_or_request_is_low_confidence(app):
    run(ActionHandoff(), tracker("hmm", intent="nlu_fallback"))
    assert app.bodies("/api/internal/handoff")[0]["reason"] == "low_confidence"


@pytest.mark.parametrize(
    "outcome", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 409, 503]
)
def test_failed_handoff_apologises_and_does_not_pause(app, outcome):
    app.handoff = outcome
    messages, events = run(ActionHandoff(), tracker("agent please", intent="request_human"))

    assert [m["text"] for m in messages] == [UNREACHABLE_MESSAGE]
    assert not any(e["event"] == "pause" for e in events)
    assert slot(events, "handoff_reason") is None


# --- wiring ----------------------------------------------------------------------------------


def test_action_server_registers_exactly_the_two_actions():
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert {"action_answer", "action_handoff"} <= set(executor.actions)
    ours = {
        name
        for name, fn in executor.actions.items()
        if type(fn.__self__).__module__.startswith("bot.")
    }
    assert ours == {"action_answer", "action_handoff"}


def test_missing_config_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TIER1_CONFIG", raising=False)
    runtime.reset()
    with pytest.raises(ActionConfigError, match="TIER1_CONFIG is not set"):
        runtime.settings()
    assert ActionConfigError.http_status == 500
