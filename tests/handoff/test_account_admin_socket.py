"""A deactivated agent's open socket is closed at once: no more queue or message pushes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.handoff.test_agent_socket import PASSWORD, agent, live, run  # noqa: F401 - fixture

pytestmark = pytest.mark.integration  # a real uvicorn server and socket.io clients


def test_deactivation_closes_the_agents_socket_and_presence_goes_offline(live):  # noqa: F811
    handoff, url, tokens = live
    admin = handoff.create_agent("boss@example.com", PASSWORD, role="admin")
    ana_id = next(s.agent.id for s in handoff.assigner.roster()
                  if s.agent.email == "ana@example.com")

    async def go():
        async with httpx.AsyncClient(base_url=url) as http:
            r = await http.post("/api/auth/token",
                                data={"username": admin.email, "password": PASSWORD})
            root = {"Authorization": f"Bearer {r.json()['access_token']}"}
            ana = await agent(url, tokens["ana@example.com"])
            await ana.next("hello")
            assert ana.sio.connected
            r = await http.post(f"/api/agents/{ana_id}/deactivate", headers=root)
            assert r.status_code == 200, r.text
            for _ in range(100):
                if not ana.sio.connected:
                    break
                await asyncio.sleep(0.05)
            assert not ana.sio.connected
            assert handoff.assigner.presence.state(ana_id).value == "offline"
            r = await http.post(f"/api/agents/{ana_id}/reactivate", headers=root)
            assert r.status_code == 200

    run(go())
