"""Conversation design against the live stack: the scenario suite, and pause/resume done right."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import yaml

from tests.e2e.test_chat import Widget, demo_article, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOURS = 3600.0


def test_the_scenario_suite_passes(stack):
    """`tier1 scenarios run`: every bot/scenarios/*.yml against the real three processes."""
    out = stack.tier1("scenarios", "run")
    assert out.returncode == 0, out.stdout[-8000:] + out.stderr[-2000:]
    last = out.stdout.strip().splitlines()[-1]
    passed, total = last.split()[0].split("/")
    assert passed == total and int(total) >= 30, last


class RasaApi:
    """Rasa's HTTP API on loopback (what only the app server may call)."""

    def __init__(self, stack) -> None:
        port = yaml.safe_load(stack.config.read_text())["server"]["rasa_port"]
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                 params={"token": stack.env["TIER1_RASA_TOKEN"]}, timeout=30)

    def events(self, conversation_id: str) -> list[dict]:
        r = self.http.get(f"/conversations/{conversation_id}/tracker")
        assert r.status_code == 200, r.text
        return r.json()["events"]

    def age(self, conversation_id: str, seconds: float) -> None:
        """Move the whole tracker into the past, as if the user had waited that long."""
        events = [{**e, "timestamp": e["timestamp"] - seconds} for e in self.events(conversation_id)]
        r = self.http.put(f"/conversations/{conversation_id}/tracker/events", json=events)
        assert r.status_code == 200, r.text


def user_texts(events: list[dict]) -> list[str]:
    return [e.get("text") for e in events if e["event"] == "user"]


def test_a_long_handoff_never_drops_the_user_back_into_the_bot(stack):
    """Session expiry during a handoff: the bot stays silent, then resumes cleanly.

    Rasa starts a new session (which silently un-pauses a tracker) when a message arrives after
    session_expiration_time. The gateway never forwards messages while a person has the chat, so
    an hours-old paused tracker cannot wake up; after the hand-back the bot answers again.
    """
    token = stack.agent_token("long-handoff@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    rasa = RasaApi(stack)
    article = demo_article("plan-renewal")

    async def scenario():
        w = Widget(stack.url)
        conv = await w.connect()
        try:
            await w.say("I want to talk to a person", "h1")
            await w.replies(lambda m: "connecting you" in texts(m).lower())
            assert any(e["event"] == "pause" for e in rasa.events(conv))

            # nine hours later (past the 8 h session expiry) the user and the agent talk
            rasa.age(conv, 9 * HOURS)
            async with httpx.AsyncClient(base_url=stack.url, headers=auth) as api:
                await w.say("hello? still there?", "h2")
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(w.inbox.get(), 3)
                assert (await api.post(f"/api/conversations/{conv}/claim")).status_code == 200
                await w.replies(lambda m: "joined the chat" in texts(m))
                await w.say("how do I reset my password", "h3")
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(w.inbox.get(), 3)
                # Rasa never saw the messages of the handoff: nothing could un-pause it
                events = rasa.events(conv)
                assert "hello? still there?" not in user_texts(events)
                assert not any(e["event"] == "session_started" for e in events[-5:])

                r = await api.post(f"/api/conversations/{conv}/handback")
                assert r.status_code == 200, r.text
                back = await w.replies(lambda m: "anything else" in texts(m).lower())
                assert back[-1]["metadata"]["sender"] == "bot"

            started = time.monotonic()
            await w.say(article["questions"][0], "h4")
            got = await w.replies(lambda m: "did this help?" in texts(m).lower())
            assert time.monotonic() - started < 15
            # a clean resume: the answer with its feedback question, no greeting or apology
            assert article["answer"][:40] in texts(got)
            assert "virtual assistant" not in texts(got).lower()
            assert "went wrong" not in texts(got).lower()
        finally:
            await w.sio.disconnect()

    asyncio.run(scenario())
