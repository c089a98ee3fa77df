"""Recovery of user messages a dead replica acknowledged but never answered.

The gateway acknowledges a user message once it is stored and routes it to Rasa in a
background task. If the replica dies (kill -9, OOM, a crash) between the two, the message is
safe in the database but nobody will ever answer it. Every replica therefore sweeps for
conversations with the bot whose newest message is a user message older than any routing can
take, and gives them what a Rasa outage gives: the apology ("I'm connecting you to a person")
and a place in the agents' queue. The move is a guarded status transition, so when several
replicas sweep at once exactly one of them answers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from handoff.errors import IllegalTransition
from handoff.models import utcnow
from handoff.records import NewMessage
from handoff.service import BOT_UNAVAILABLE, HandoffService
from handoff.status import Status

log = logging.getLogger(__name__)

HORIZON = timedelta(hours=1)  # older unanswered messages were dealt with by earlier sweeps


class RoutingRecovery:
    """Sweeps for acknowledged user messages that never got a reply."""

    def __init__(
        self, service: HandoffService, after_seconds: float, interval_seconds: float = 5.0
    ) -> None:
        """``after_seconds``: how old an unanswered user message must be before it counts as
        orphaned; longer than the slowest routing (a few Rasa timeouts in a row)."""
        self.service = service
        self.after = timedelta(seconds=after_seconds)
        self.interval = interval_seconds

    @classmethod
    def for_service(cls, service: HandoffService) -> RoutingRecovery:
        """Orphaned after 4 Rasa timeouts (at least 20 s): a conversation's messages are
        routed one after another, so a message may wait behind a slow one."""
        return cls(service, max(20.0, 4 * service.settings.rasa_timeout_seconds))

    async def sweep(self) -> list[str]:
        """One round: apologise and queue for a person; returns the conversations moved."""
        now = utcnow()
        pending = await self.service.run(
            self.service.store.unanswered_user_messages, now - self.after, now - HORIZON
        )
        moved = []
        for conversation_id, text in pending:
            if self.service.lock(conversation_id).locked():
                continue  # this replica is routing it right now
            apology = NewMessage("bot", self.service.settings.unavailable_message)
            try:
                await self.service.move(
                    conversation_id, Status.QUEUED, actor="system", reason=BOT_UNAVAILABLE,
                    context={"last_question": text,
                             "error": "the message was never answered (its replica stopped)"},
                    messages=[apology],
                )
            except IllegalTransition:
                continue  # answered or handed off meanwhile, or another replica got there first
            log.warning("recovered unanswered message of %s: apologised and queued for a person",
                        conversation_id)
            moved.append(conversation_id)
        return moved

    async def run(self) -> None:
        """Sweep every ``interval_seconds`` until cancelled; errors are logged."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("unanswered-message sweep failed; retrying")
            await asyncio.sleep(self.interval)


__all__ = ["RoutingRecovery"]
