"""What a fault must not break, read from the database.

Every acknowledged message stored and answered within the bound, and the conversations held by
agents still held.

**lost**: an acknowledged user message that is not stored (must be 0). **unanswered**: an
acknowledged user message with no later bot/agent/system message (a reply, an apology,
"connecting you to a person") within ``bound`` seconds of the later of the message and the
recovery; one sent while its conversation was already with the agents counts as answered by that
handoff notice. ``apologised`` counts the acknowledged messages whose reply was the apology.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from tier1.bench.faults.topology import TIER1, Target

AGENT_PASSWORD = "faults-agent-password-1"


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def agent_token(target: Target, email: str) -> str:
    """Create an agent with room for 50 chats and log it in; its access token."""
    created = subprocess.run([TIER1, "--config", str(target.config), "agent", "create", "--email",
                              email, "--password", AGENT_PASSWORD, "--capacity", "50"],
                             check=False, env=target.env, capture_output=True, text=True,
                             timeout=180)
    if created.returncode != 0:
        raise RuntimeError(f"tier1 agent create failed: {created.stderr.strip()}")
    r = httpx.post(f"{target.bases[-1]}/api/auth/token",
                   data={"username": email, "password": AGENT_PASSWORD}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


def claim_some(target: Target, token: str, count: int = 2) -> list[str]:
    """Claim up to ``count`` queued conversations and answer each once (so they stay assigned)."""
    api = httpx.Client(base_url=target.bases[-1], headers={"Authorization": f"Bearer {token}"},
                       timeout=30)
    claimed = []
    for conv in api.get("/api/conversations", params={"status": "queued"}).json()[:count]:
        cid = conv["id"]
        if api.post(f"/api/conversations/{cid}/claim").status_code == 200:
            api.post(f"/api/conversations/{cid}/messages", json={"text": "Hi, I'm looking into it."})
            claimed.append(cid)
    return claimed


def with_agents(target: Target) -> dict[str, tuple[str, int | None]]:
    """Conversations queued or assigned, with their status and assignee."""
    from handoff.models import ConversationRow

    with target.db().connect() as conn:
        rows = conn.execute(select(ConversationRow.id, ConversationRow.status,
                                   ConversationRow.assignee_id)
                            .where(ConversationRow.status.in_(["queued", "assigned"]))).all()
    return {r.id: (r.status, r.assignee_id) for r in rows}


def timeout_requeues(target: Target, since: datetime) -> set[str]:
    """Conversations the assignment-timeout rule put back in the queue since ``since``.

    An assignee who never replied within ``handoff.assignment_timeout_seconds`` loses the chat
    (``handoff.assignment``: assigned -> queued by ``system``): the product working, not a
    fault, so a drill does not count it as a broken queue.
    """
    from handoff.models import StatusChangeRow

    with target.db().connect() as conn:
        rows = conn.execute(select(StatusChangeRow.conversation_id).where(
            StatusChangeRow.from_status == "assigned", StatusChangeRow.to_status == "queued",
            StatusChangeRow.actor == "system", StatusChangeRow.created_at >= since)).all()
    return {r.conversation_id for r in rows}


def check_database(target: Target, acknowledged: list[dict], recovered_at: datetime,
                   bound: float) -> dict[str, Any]:
    """Lost and unanswered acknowledged messages, from the database (see the module doc)."""
    from handoff.models import MessageRow, StatusChangeRow
    from handoff.settings import HandoffSettings

    conversations = sorted({a["conversation"] for a in acknowledged})
    handoff = yaml.safe_load(target.config.read_text()).get("handoff") or {}
    apology = handoff.get("unavailable_message") or HandoffSettings().unavailable_message
    messages: dict[str, list[Any]] = {c: [] for c in conversations}
    queued_at: dict[str, datetime] = {}
    with target.db().connect() as conn:
        for i in range(0, len(conversations), 500):
            chunk = conversations[i:i + 500]
            for m in conn.execute(select(MessageRow.id, MessageRow.conversation_id,
                                         MessageRow.sender, MessageRow.client_id,
                                         MessageRow.text, MessageRow.created_at)
                                  .where(MessageRow.conversation_id.in_(chunk))
                                  .order_by(MessageRow.id)):
                messages[m.conversation_id].append(m)
            for s in conn.execute(select(StatusChangeRow.conversation_id, StatusChangeRow.created_at)
                                  .where(StatusChangeRow.conversation_id.in_(chunk),
                                         StatusChangeRow.to_status == "queued")):
                at = _utc(s.created_at)
                queued_at[s.conversation_id] = min(at, queued_at.get(s.conversation_id, at))
    lost = unanswered = told_before = apologised = 0
    delays: list[float] = []
    unanswered_ids: list[int] = []
    for a in acknowledged:
        rows = messages[a["conversation"]]
        mine = [m for m in rows if m.id == a["message_id"] and m.client_id == a["client_id"]]
        if not mine:
            lost += 1
            continue
        sent = _utc(mine[0].created_at)
        reply = next((m for m in rows if m.id > mine[0].id
                      and m.sender in ("bot", "agent", "system")), None)
        if reply is None and queued_at.get(a["conversation"], sent) < sent:
            told_before += 1  # written while already with the agents: the handoff notice said so
            continue
        if reply is not None and reply.text == apology:
            apologised += 1
        since = max(sent, recovered_at)
        delay = None if reply is None else max(0.0, (_utc(reply.created_at) - since).total_seconds())
        if delay is None or delay > bound:
            unanswered += 1
            unanswered_ids.append(a["message_id"])
        if delay is not None:
            delays.append(delay)
    return {"acknowledged": len(acknowledged), "lost": lost, "unanswered": unanswered,
            "answered_by_handoff_notice": told_before, "apologised": apologised,
            "max_reply_delay_s": round(max(delays), 1) if delays else None,
            "unanswered_message_ids": unanswered_ids[:20]}
