"""The custom actions against a fake app server (httpx MockTransport), no Rasa process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot import search_handover
from bot.actions import ActionAnswer, ActionHandoff, runtime
from bot.actions.answer import (
    BAD_CHOICE_MESSAGE,
    CLARIFY_MESSAGE,
    KB_DOWN_MESSAGE,
    KB_DOWN_RETRY_MESSAGE,
    NO_ANSWER_MESSAGE,
    NONE_OF_THESE,
)
from bot.actions.dialogue import FEEDBACK_BUTTONS, FEEDBACK_QUESTION, LEAD_IN, OFFER_QUESTION
from bot.actions.errors import ActionConfigError
from bot.actions.handoff import CONNECTING_MESSAGE, UNREACHABLE_MESSAGE
from bot.escalation import HandoffReason

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


BASE_CONFIG = {
    "server": {"host": "127.0.0.1", "port": 8123},
    "handoff": {"rasa_timeout_seconds": 6},
    "knowledge_base": {"decision": {"clarify_max_options": 2}},
}


def configure(path, escalation: dict[str, Any] | None = None) -> None:
    """Write the action server's config.yml (with an `escalation:` section) and reload it."""
    path.write_text(yaml.safe_dump({**BASE_CONFIG, "escalation": escalation or {}}))
    runtime.settings.cache_clear()


@pytest.fixture
def config_path(tmp_path):
    return tmp_path / "config.yml"


@pytest.fixture
def app(config_path, monkeypatch) -> FakeApp:
    configure(config_path)
    monkeypatch.setenv("TIER1_CONFIG", str(config_path))
    monkeypatch.setenv("TIER1_JWT_SECRET", "jwt-secret-0123456789abcdef")
    monkeypatch.setenv("TIER1_INTERNAL_TOKEN", TOKEN)
    monkeypatch.setenv("TIER1_RASA_TOKEN", "rasa-token-0123456789abcdef")
    runtime.reset()
    fake = FakeApp()
    runtime.use_http_client(httpx.AsyncClient(transport=httpx.MockTransport(fake)))
    yield fake
    runtime.reset()


SLOTS = {
    "handoff_reason": None,
    "handoff_detail": None,
    "kb_hits": None,
    "article_id": None,
    "failures": 0,
    "awaiting": None,
    "offer_reason": None,
    "replied": False,
}


def tracker(
    text: str,
    intent: str = "ask_question",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    earlier: list[str] = (),
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    events = [{"event": "user", "text": t, "parse_data": {}} for t in [*earlier, text]]
    return Tracker.from_dict(
        {
            "sender_id": "conv-42",
            "slots": {**SLOTS, **(slots or {})},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9},
                "intent_ranking": [{"name": intent, "confidence": 0.9}],
                "entities": entities or [],
                "metadata": metadata or {},
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


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def offered(messages: list[dict[str, Any]], reason: HandoffReason) -> bool:
    """The last message is the "Shall I connect you?" offer with its Yes/No quick replies."""
    last = messages[-1]
    return last["text"] == f"{LEAD_IN[reason]} {OFFER_QUESTION}".strip() and [
        b["payload"] for b in last["buttons"]
    ] == ["/affirm", "/deny"]


def offer_slots(events, reason: str) -> None:
    assert slot(events, "awaiting") == "offer" and slot(events, "offer_reason") == reason
    assert slot(events, "replied") is True and followup(events) is None


def handed_off(events, reason: str) -> None:
    assert slot(events, "handoff_reason") == reason
    assert followup(events) == "action_handoff"
    # left unset, so that a handoff that cannot run still ends in the domain's apology
    assert not [e for e in events if e["event"] == "slot" and e["name"] == "replied"]


# --- action_answer ---------------------------------------------------------------------------


def test_answer_utters_best_article_with_its_source_and_asks_for_feedback(app):
    app.search = {"decision": "answer", "hits": [hit(7, 0.81), hit(3, 0.52), hit(7, 0.50)]}
    messages, events = run(ActionAnswer(), tracker("how do I reset my password"))

    assert app.bodies("/api/kb/search") == [{"text": "how do I reset my password"}]
    assert texts(messages) == ["Answer of article 7.", FEEDBACK_QUESTION]
    assert messages[0]["custom"] == {
        "source": {"article_id": 7, "title": "Article 7", "url": "https://help.example.com/7"}
    }
    assert messages[1]["buttons"] == FEEDBACK_BUTTONS
    assert [b["payload"] for b in FEEDBACK_BUTTONS] == [
        "/feedback_helpful",
        "/feedback_not_helpful",
    ]
    # one entry per article, best first, for the agent
    assert slot(events, "kb_hits") == [
        {"article_id": 7, "title": "Article 7", "score": 0.81},
        {"article_id": 3, "title": "Article 3", "score": 0.52},
    ]
    assert slot(events, "awaiting") == "feedback" and slot(events, "replied") is True
    assert followup(events) is None


def test_an_answer_does_not_reset_the_failure_count(app):
    """Only "helpful" (or thanks) does: an answer the user ignores is not a success."""
    app.search = {"decision": "answer", "hits": [hit(7, 0.81)]}
    _, events = run(ActionAnswer(), tracker("refund", slots={"failures": 1}))
    assert slot(events, "failures") == 1


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
    # clarify_max_options (2) distinct articles, then the way out (a failure, not a handoff)
    assert messages[0]["buttons"] == [
        {"title": "Refunds", "payload": '/choose_article{"article_id":"4"}'},
        {"title": "Returns", "payload": '/choose_article{"article_id":"9"}'},
        {"title": NONE_OF_THESE, "payload": "/none_of_these"},
    ]
    assert [h["article_id"] for h in slot(events, "kb_hits")] == [4, 9, 2]
    assert slot(events, "awaiting") == "clarify"
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
        slots={"kb_hits": previous, "article_id": "9", "awaiting": "clarify"},
    )
    messages, events = run(ActionAnswer(), t)

    assert app.bodies("/api/kb/search") == []  # a choice is not searched
    assert texts(messages) == ["Send it back.", FEEDBACK_QUESTION]
    assert messages[0]["custom"]["source"] == {"article_id": 9, "title": "Returns", "url": None}
    assert slot(events, "kb_hits") == [{"article_id": 9, "title": "Returns", "score": 0.68}]
    assert slot(events, "awaiting") == "feedback"


def test_handoff_decision_hands_off_with_low_confidence(app):
    app.search = {"decision": "handoff", "hits": [hit(5, 0.21)]}
    messages, events = run(ActionAnswer(), tracker("who won the 1966 world cup"))

    assert texts(messages) == [LEAD_IN[HandoffReason.LOW_CONFIDENCE]]
    handed_off(events, "low_confidence")
    assert slot(events, "kb_hits") == [{"article_id": 5, "title": "Article 5", "score": 0.21}]


def test_handoff_decision_after_a_failure_is_consecutive_failures(app):
    app.search = {"decision": "handoff", "hits": []}
    _, events = run(ActionAnswer(), tracker("who won the 1966 world cup", slots={"failures": 1}))
    handed_off(events, "consecutive_failures")


def test_handoff_decision_with_low_confidence_off_asks_to_rephrase(app, config_path):
    configure(config_path, {"low_confidence": {"enabled": False}})
    app.search = {"decision": "handoff", "hits": []}
    messages, events = run(ActionAnswer(), tracker("who won the 1966 world cup"))
    assert texts(messages) == [NO_ANSWER_MESSAGE]
    assert slot(events, "failures") == 1 and followup(events) is None


def test_low_confidence_can_ask_first(app, config_path):
    configure(config_path, {"low_confidence": {"ask_first": True}})
    app.search = {"decision": "handoff", "hits": []}
    messages, events = run(ActionAnswer(), tracker("who won the 1966 world cup"))
    assert offered(messages, HandoffReason.LOW_CONFIDENCE)
    offer_slots(events, "low_confidence")


def test_small_talk_the_kb_does_not_know_is_steered_back_without_a_failure(app):
    app.search = {"decision": "handoff", "hits": []}
    messages, events = run(ActionAnswer(), tracker("tell me a joke", intent="chitchat"))
    assert messages == [{**messages[0], "response": "utter_chitchat"}] and not messages[0].get(
        "text"
    )
    assert slot(events, "failures") == 0 and followup(events) is None


def test_small_talk_the_kb_knows_is_answered(app):
    app.search = {"decision": "answer", "hits": [hit(3, 0.9)]}
    messages, _ = run(ActionAnswer(), tracker("when are you open", intent="chitchat"))
    assert texts(messages) == ["Answer of article 3.", FEEDBACK_QUESTION]


@pytest.mark.parametrize(
    "text", ["I want to cancel my account", "I will talk to my lawyer", "I have a complaint"]
)
def test_sensitive_topic_goes_straight_to_a_person_without_searching(app, text):
    messages, events = run(ActionAnswer(), tracker(text))
    assert app.bodies("/api/kb/search") == []
    assert texts(messages) == [LEAD_IN[HandoffReason.SENSITIVE_TOPIC]]
    handed_off(events, "sensitive_topic")
    assert slot(events, "handoff_detail").startswith("mentioned")


@pytest.mark.parametrize(
    ("text", "intent", "earlier"),
    [
        ("this is useless", "ask_question", []),
        ("WHY IS MY DATA STILL NOT WORKING", "ask_question", []),
        ("how do I top up my balance", "ask_question", ["how do I top up my balance?"]),
        ("you keep getting it wrong", "complain", []),
    ],
    ids=["lexicon", "all-caps", "repeated-question", "nlu-complaint"],
)
def test_frustration_offers_a_person(app, text, intent, earlier):
    messages, events = run(ActionAnswer(), tracker(text, intent=intent, earlier=earlier))
    assert app.bodies("/api/kb/search") == []
    assert offered(messages, HandoffReason.FRUSTRATION)
    offer_slots(events, "frustration")


def test_repeated_question_only_counts_within_the_bot_episode(app):
    """A question asked before a hand-back is not held against the bot."""
    app.search = {"decision": "answer", "hits": [hit(1, 0.9)]}
    events = [
        {"event": "user", "text": "how do I top up my balance", "parse_data": {}},
        {"event": "pause"},
        {"event": "resume"},
        {"event": "user", "text": "how do I top up my balance", "parse_data": {}},
    ]
    t = Tracker.from_dict(
        {
            "sender_id": "c",
            "slots": SLOTS,
            "latest_message": {
                "text": "how do I top up my balance",
                "intent": {"name": "ask_question"},
            },
            "events": events,
        }
    )
    messages, _ = run(ActionAnswer(), t)
    assert texts(messages)[0] == "Answer of article 1."


@pytest.mark.parametrize(
    "outcome",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 500, 401, {"unexpected": "shape"}],
    ids=["unreachable", "timeout", "http-500", "http-401", "bad-shape"],
)
def test_kb_failure_apologises_and_offers_a_person(app, outcome):
    app.search = outcome
    messages, events = run(
        ActionAnswer(), tracker("my card was charged twice", slots={"kb_hits": [{"article_id": 1}]})
    )

    assert offered(messages, HandoffReason.KB_UNAVAILABLE)
    assert messages[-1]["text"].startswith(KB_DOWN_MESSAGE)
    offer_slots(events, "kb_unavailable")
    assert slot(events, "kb_hits") == []  # not the previous question's hits


def test_kb_failure_can_hand_off_without_asking(app, config_path):
    configure(config_path, {"kb_unavailable": {"ask_first": False}})
    app.search = 503
    messages, events = run(ActionAnswer(), tracker("my card was charged twice"))
    assert texts(messages) == [KB_DOWN_MESSAGE]
    handed_off(events, "kb_unavailable")


def test_kb_failure_with_the_trigger_off_only_apologises(app, config_path):
    configure(config_path, {"kb_unavailable": {"enabled": False}})
    app.search = 503
    messages, events = run(ActionAnswer(), tracker("my card was charged twice"))
    assert texts(messages) == [KB_DOWN_RETRY_MESSAGE]
    assert followup(events) is None and slot(events, "replied") is True


def test_missing_chosen_article_is_handled_like_an_unavailable_kb(app):
    t = tracker(
        '/choose_article{"article_id":"99"}',
        intent="choose_article",
        entities=[{"entity": "article_id", "value": "99"}],
    )
    messages, events = run(ActionAnswer(), t)
    assert offered(messages, HandoffReason.KB_UNAVAILABLE)
    offer_slots(events, "kb_unavailable")


def test_choice_without_a_valid_article_id_asks_again_without_calling_the_app(app):
    messages, events = run(ActionAnswer(), tracker("/choose_article", intent="choose_article"))
    assert texts(messages) == [BAD_CHOICE_MESSAGE]
    assert app.requests == [] and followup(events) is None


def test_message_without_text_is_handed_off_without_searching(app):
    messages, events = run(ActionAnswer(), tracker("   ", intent="nlu_fallback"))
    assert app.requests == [] and messages == []
    handed_off(events, "low_confidence")


def test_long_messages_are_searched_by_their_start(app):
    app.search = {"decision": "answer", "hits": [hit(1, 0.9)]}
    run(ActionAnswer(), tracker("how do I reset my password " + "x" * 5000))
    sent = app.bodies("/api/kb/search")[0]["text"]
    assert len(sent) == 2000 and sent.startswith("how do I reset my password")


def test_a_search_handed_over_with_the_message_is_used_without_calling_the_app(app):
    handed = {"decision": "answer", "decided_by": {"rule": "confident_answer", "threshold": 0.5},
              "hits": [hit(7, 0.81), hit(3, 0.52)]}
    messages, events = run(ActionAnswer(), tracker(
        "  how do I reset my password ", metadata=search_handover.pack(
            "how do I reset my password", handed)))
    assert app.requests == []
    assert texts(messages) == ["Answer of article 7.", FEEDBACK_QUESTION]
    assert [h["article_id"] for h in slot(events, "kb_hits")] == [7, 3]


@pytest.mark.parametrize("metadata", [
    search_handover.pack("a different question", {"decision": "answer", "hits": [hit(9, 0.9)]}),
    search_handover.pack("refund", {"decision": "maybe", "hits": "none"}),  # not a search result
    {"tier1_kb_search": "garbage"},
    {},
])
def test_without_a_search_for_this_very_text_the_action_asks_the_app(app, metadata):
    app.search = {"decision": "answer", "hits": [hit(1, 0.9)]}
    messages, _ = run(ActionAnswer(), tracker("refund", metadata=metadata))
    assert app.bodies("/api/kb/search") == [{"text": "refund"}]
    assert texts(messages)[0] == "Answer of article 1."


def test_a_handed_over_search_does_not_skip_the_escalation_screen(app):
    handed = {"decision": "answer", "hits": [hit(7, 0.81)]}
    text = "I will talk to my lawyer"
    messages, events = run(ActionAnswer(), tracker(
        text, metadata=search_handover.pack(text, handed)))
    assert texts(messages) == [LEAD_IN[HandoffReason.SENSITIVE_TOPIC]]
    handed_off(events, "sensitive_topic")


def test_calls_use_a_timeout_below_the_gateways_budget(app):
    # rasa_timeout_seconds 6 -> at most 2 s per call, so search + handoff fit in one Rasa turn
    assert runtime.app_call_timeout(runtime.settings()) == 2.0
    assert runtime.app_client()._timeout == 2.0


# --- action_handoff --------------------------------------------------------------------------


def test_handoff_on_user_request_queues_and_pauses(app):
    hits = [{"article_id": 4, "title": "Refunds", "score": 0.7}]
    t = tracker(
        "/request_human",
        intent="request_human",
        slots={"kb_hits": hits, "failures": 1, "awaiting": "clarify"},
        earlier=["money back"],
    )
    messages, events = run(ActionHandoff(), t)

    assert app.bodies("/api/internal/handoff") == [
        {
            "conversation_id": "conv-42",
            "reason": "user_request",
            # the user's own words, not the button payload
            "context": {
                "kb_hits": hits,
                "last_user_message": "money back",
                "trigger": "",
                "failures": 1,
            },
        }
    ]
    assert texts(messages) == [CONNECTING_MESSAGE]
    assert {"event": "pause", "timestamp": None} in events
    assert slot(events, "handoff_reason") is None
    # after a hand-back the bot starts afresh
    assert slot(events, "failures") == 0 and slot(events, "awaiting") is None


@pytest.mark.parametrize(
    ("decision", "expected"),
    [("answer", [7, 3]), ("clarify", [7, 3]), ("handoff", [4])],
)
def test_a_request_with_a_question_shows_the_agent_that_questions_hits(app, decision, expected):
    """The earlier question's hits would show the agent articles about something else."""
    text = "I want to end my service with you"
    handed = {"decision": decision, "hits": [hit(7, 0.9), hit(7, 0.8), hit(3, 0.1)]}
    t = tracker(
        text,
        intent="request_human",
        slots={"kb_hits": [{"article_id": 4, "title": "Plans", "score": 0.9}]},
        metadata=search_handover.pack(text, handed),
    )
    run(ActionHandoff(), t)
    context = app.bodies("/api/internal/handoff")[0]["context"]
    # a search that found nothing ("talk to a person") keeps what the user was stuck on
    assert [h["article_id"] for h in context["kb_hits"]] == expected
    assert context["last_user_message"] == text


def test_a_request_naming_a_sensitive_topic_is_queued_as_that_topic(app):
    messages, _ = run(
        ActionHandoff(), tracker("I want to make a complaint", intent="request_human")
    )
    body = app.bodies("/api/internal/handoff")[0]
    assert body["reason"] == "sensitive_topic"
    assert body["context"]["trigger"] == "mentioned 'complaint'"
    assert texts(messages) == [LEAD_IN[HandoffReason.SENSITIVE_TOPIC], CONNECTING_MESSAGE]


def test_user_request_can_be_offered_first(app, config_path):
    configure(config_path, {"user_request": {"ask_first": True}})
    messages, events = run(ActionHandoff(), tracker("agent please", intent="request_human"))
    assert app.bodies("/api/internal/handoff") == []
    assert offered(messages, HandoffReason.USER_REQUEST)
    offer_slots(events, "user_request")


def test_handoff_uses_the_reason_and_detail_an_earlier_action_set(app):
    t = tracker(
        "I want to cancel my account",
        slots={
            "handoff_reason": "sensitive_topic",
            "handoff_detail": "mentioned 'cancel my account'",
        },
    )
    run(ActionHandoff(), t)
    body = app.bodies("/api/internal/handoff")[0]
    assert body["reason"] == "sensitive_topic"
    assert body["context"]["trigger"] == "mentioned 'cancel my account'"
    assert body["context"]["last_user_message"] == "I want to cancel my account"


def test_handoff_without_reason_or_request_is_low_confidence(app):
    run(ActionHandoff(), tracker("hmm", intent="nlu_fallback"))
    assert app.bodies("/api/internal/handoff")[0]["reason"] == "low_confidence"


@pytest.mark.parametrize(
    "outcome", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 409, 503]
)
def test_failed_handoff_apologises_and_does_not_pause(app, outcome):
    app.handoff = outcome
    messages, events = run(ActionHandoff(), tracker("agent please", intent="request_human"))

    assert texts(messages) == [UNREACHABLE_MESSAGE]
    assert not any(e["event"] == "pause" for e in events)
    assert slot(events, "handoff_reason") is None and slot(events, "replied") is True


# --- wiring ----------------------------------------------------------------------------------


def test_action_server_registers_exactly_the_three_actions():
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    ours = {
        name
        for name, fn in executor.actions.items()
        if type(fn.__self__).__module__.startswith("bot.")
    }
    assert ours == {"action_answer", "action_reply", "action_handoff"}


def test_domain_declares_every_action_and_slot_the_actions_use():
    from bot.actions import dialogue

    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot/domain.yml").read_text())
    assert set(domain["actions"]) == {"action_answer", "action_reply", "action_handoff"}
    slots = {v for k, v in vars(dialogue).items() if k.startswith("SLOT_")}
    assert slots <= set(domain["slots"])
    payload_intents = {v[1:] for k, v in vars(dialogue).items() if k.startswith("PAYLOAD_")}
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    assert payload_intents <= intents


def test_missing_config_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TIER1_CONFIG", raising=False)
    runtime.reset()
    with pytest.raises(ActionConfigError, match="TIER1_CONFIG is not set"):
        runtime.settings()
