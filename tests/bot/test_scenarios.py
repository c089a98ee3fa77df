"""The scenario files and the runner's checks, without a live stack (that is tests/e2e)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import yaml

from bot.escalation import HandoffReason
from bot.scenarios import (
    Expect,
    ScenarioError,
    ScenarioResult,
    _Checker,
    load_scenarios,
    report,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def demo_slugs() -> set[str]:
    articles = yaml.safe_load((ROOT / "knowledge_base/demo/articles.yml").read_text())["articles"]
    return {a["slug"] for a in articles}


def test_the_shipped_suite_has_at_least_30_valid_scenarios():
    scenarios = load_scenarios()
    assert len(scenarios) >= 30
    slugs = demo_slugs()
    reasons = {r.value for r in HandoffReason}
    for s in scenarios:
        for step in s.steps:
            e = step.expect
            assert e.answer is None or e.answer in slugs, (s.name, e.answer)
            assert step.choose is None or step.choose in slugs, (s.name, step.choose)
            if isinstance(e.clarify, list):
                assert set(e.clarify) <= slugs, (s.name, e.clarify)
            assert e.handoff is None or e.handoff in reasons, (s.name, e.handoff)


def test_the_suite_covers_every_escalation_reason_but_kb_unavailable():
    """kb_unavailable needs a broken KB: tests/e2e/test_conversation_outages.py covers it."""
    covered = {step.expect.handoff for s in load_scenarios() for step in s.steps}
    assert {r.value for r in HandoffReason} - {"kb_unavailable"} <= covered


def write(tmp_path, data) -> Path:
    path = tmp_path / "s.yml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("scenarios: [", "not valid YAML"),
        ({"scenarios": [{"name": "x", "steps": [{"user": "hi", "expect": {"anwser": "a"}}]}]},
         "anwser"),
        ({"scenarios": [{"name": "x", "steps": [{"user": "hi", "choose": "a"}]}]},
         "exactly one of user, choose, agent"),
        ({"scenarios": [{"name": "x", "steps": [{"agent": "dance"}]}]}, "agent"),
        ({"scenarios": [{"name": "x", "steps": []}]}, "steps"),
        ({"scenarios": [{"name": "x", "steps": [{"user": "a"}]},
                        {"name": "x", "steps": [{"user": "b"}]}]}, "duplicate scenario names"),
        ({"scenarios": [{"name": "x", "steps": [
            {"user": "a", "expect": {"silent": True, "says": "hi"}}]}]}, "silent"),
        ("scenarios:\n- name: x\n  steps:\n  - user: no\n", "quote it"),
    ],
)
def test_invalid_scenario_files_are_named_with_the_problem(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(ScenarioError) as e:
        load_scenarios([path])
    assert str(path) in str(e.value) and message in str(e.value)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenarios([tmp_path / "nope.yml"])


# -- the checks -----------------------------------------------------------------------------------


def fake_api(status: str = "bot", reason: str | None = None) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/kb/articles/"):
            article_id = int(request.url.path.rsplit("/", 1)[1])
            return httpx.Response(200, json={"id": article_id, "slug": f"slug-{article_id}"})
        if request.url.path == "/api/conversations/c1":
            return httpx.Response(200, json={"status": status, "reason": reason})
        return httpx.Response(404)

    return httpx.AsyncClient(base_url="http://app", transport=httpx.MockTransport(handle))


ANSWER = [
    {"text": "Do this.", "metadata": {"sender": "bot", "source": {"article_id": 7}}},
    {"text": "Did this help?", "quick_replies": [{"title": "Yes", "payload": "/feedback_helpful"},
                                                {"title": "No", "payload": "/feedback_not_helpful"}]},
]
CLARIFY = [
    {"text": "Did you mean one of these?", "quick_replies": [
        {"title": "A", "payload": '/choose_article{"article_id":"1"}'},
        {"title": "B", "payload": '/choose_article{"article_id":"2"}'},
        {"title": "None of these", "payload": "/none_of_these"}]},
]
OFFER = [{"text": "Sorry. Shall I connect you to a person?", "quick_replies": [
    {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}]


def check(expect: dict, replies, **api) -> list[str]:
    async def go():
        async with fake_api(**api) as client:
            return await _Checker(client).check(Expect(**expect), replies, "c1")

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("expect", "replies", "ok"),
    [
        ({"answer": "slug-7"}, ANSWER, True),
        ({"answer": "slug-8"}, ANSWER, False),
        ({"answer": "slug-7"}, ANSWER[:1], False),  # no "Did this help?"
        ({"clarify": ["slug-1", "slug-2"]}, CLARIFY, True),
        ({"clarify": ["slug-3"]}, CLARIFY, False),
        ({"clarify": True}, ANSWER, False),
        ({"offer": True}, OFFER, True),
        ({"offer": True}, ANSWER, False),
        ({"says": "SHALL I CONNECT"}, OFFER, True),
        ({"not_says": "connect"}, OFFER, False),
        ({"silent": True}, [], True),
        ({"silent": True}, OFFER, False),
    ],
)
def test_expectations(expect, replies, ok):
    assert (check(expect, replies) == []) is ok


def test_handoff_and_status_are_read_from_the_conversation():
    assert check({"handoff": "frustration"}, [], status="queued", reason="frustration") == []
    assert check({"handoff": "frustration"}, [], status="queued", reason="user_request")
    assert check({"handoff": "frustration"}, [], status="bot", reason=None)
    assert check({"status": "bot"}, []) == []
    assert check({"status": "queued"}, [])


def test_report_lists_each_scenario_and_the_transcript_of_failures():
    text = report([
        ScenarioResult("good", True, seconds=1.0),
        ScenarioResult("bad", False, ["step 1: expected silence"], ["user : hi", "bot  : hello"]),
    ])
    assert "PASS  good" in text and "FAIL  bad" in text
    assert "step 1: expected silence" in text and "| bot  : hello" in text
    assert text.endswith("1/2 scenarios passed")
