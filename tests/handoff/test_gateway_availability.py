"""Whether anyone from the team is online reaches the widget: in the session's acknowledgement,
then live (``availability``) whenever an agent's presence changes it - through a real uvicorn
server and socket.io clients."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import socketio

from tests.live_handoff import serve_handoff

pytestmark = pytest.mark.integration

INTERNAL_TOKEN = "availability-internal-token-0123456789"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def live(tmp_path_factory, sqlite_engine):
    engine = sqlite_engine(tmp_path_factory.mktemp("availability") / "availability.db")
    with serve_handoff(engine, INTERNAL_TOKEN, PASSWORD) as server:
        yield server
    engine.dispose()


def test_the_team_is_told_in_the_ack_and_pushed_live_to_every_widget(live):
    async def go() -> dict[str, Any]:
        pushed: list[dict[str, Any]] = []
        webchat_pushed: list[dict[str, Any]] = []
        widget = socketio.AsyncClient(reconnection=False)
        webchat = socketio.AsyncClient(reconnection=False)  # rasa-webchat: no ack, ignores it
        widget.on("availability", pushed.append)
        webchat.on("availability", webchat_pushed.append)
        async with httpx.AsyncClient(base_url=live.url) as http:
            login = await http.post(
                "/api/auth/token", data={"username": "ana@example.com", "password": PASSWORD})
            ana = {"Authorization": f"Bearer {login.json()['access_token']}"}
            await widget.connect(live.url, transports=["websocket"])
            await webchat.connect(live.url, transports=["websocket"])
            ack = await widget.call("session_request", {"session_id": None}, timeout=5)
            await webchat.emit("session_request", {"session_id": None})
            r = await http.post("/api/agents/me/heartbeat", headers=ana, json={"state": "online"})
            assert r.status_code == 200, r.text
            await asyncio.sleep(0.3)
            online = list(pushed)
            again = await widget.call("session_request", {"session_token": ack["session_token"]},
                                      timeout=5)
            r = await http.post("/api/agents/me/heartbeat", headers=ana, json={"state": "away"})
            assert r.status_code == 200, r.text
            await asyncio.sleep(0.3)
        await widget.disconnect()
        await webchat.disconnect()
        return {"ack": ack, "online": online, "again": again, "pushed": pushed,
                "webchat": webchat_pushed}

    seen = asyncio.run(asyncio.wait_for(go(), 30))
    assert seen["ack"]["availability"] == {"agents_available": False}
    assert seen["online"] == [{"agents_available": True}]
    assert seen["again"]["availability"] == {"agents_available": True}
    # Away is not online: nobody can take a chat again.
    assert seen["pushed"] == [{"agents_available": True}, {"agents_available": False}]
    assert seen["webchat"] == seen["pushed"]
