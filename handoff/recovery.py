"""Recovery of user messages a dead replica acknowledged but never answered.

The gateway acknowledges a user message once it is stored and routes it to Rasa in a
background task. If the replica dies (kill -9, OOM, a crash) between the two, the message is
safe in the database but nobody will ever answer it. Every replica therefore sweeps for
conversations with the bot whose newest message is a user message older than any routing can
take, and gives them what a Rasa outage gives: the apology ("I'm connecting you to a person")
and a place in the agents' queue. A conversation the action server queued just before the
replica died (the handoff notice was in the lost reply) gets the apology too. The apology is
stored only while the user message is still the newest (the conversation row locked), so when
several replicas sweep at once exactly one of them answers.
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
        """Set up the sweeper; `run` starts it.

        Args:
            service: the conversation service whose messages are swept.
            after_seconds: how old an unanswered user message must be before it counts as
                orphaned; longer than the slowest routing (a few Rasa timeouts in a row).
            interval_seconds: the pause between sweeps.
        """
        self.service = service
        self.after = timedelta(seconds=after_seconds)
        self.interval = interval_seconds

    @classmethod
    def for_service(cls, service: HandoffService) -> RoutingRecovery:
        """A sweeper for ``service``: orphaned after 4 Rasa timeouts (at least 20 s).

        A conversation's messages are routed one after another, so a message may wait behind a
        slow one.
        """
        return cls(service, max(20.0, 4 * service.settings.rasa_timeout_seconds))

    async def sweep(self) -> list[str]:
        """One round: apologise and queue for a person; returns the conversations answered."""
        now = utcnow()
        pending = await self.service.run(
            self.service.store.unanswered_user_messages, now - self.after, now - HORIZON
        )
        answered = []
        for conversation_id, message_id, text, status in pending:
            if self.service.lock(conversation_id).locked():
                continue  # this replica is routing it right now
            apology = NewMessage("bot", self.service.settings.unavailable_message)
            stored = await self.service.run(
                self.service.store.add_messages_if_last, conversation_id, message_id, [apology]
            )
            if not stored:
                continue  # answered meanwhile, or another replica got there first
            await self.service.publish_messages(stored)
            if status is Status.BOT:
                context = {"last_question": text,
                           "error": "the message was never answered (its replica stopped)"}
                try:
                    await self.service.request_handoff(
                        conversation_id, BOT_UNAVAILABLE, context, actor="system"
                    )
                except IllegalTransition:
                    pass  # resolved or moved meanwhile: the apology stands
            log.warning("recovered unanswered message %s of %s: apologised, queued for a person",
                        message_id, conversation_id)
            answered.append(conversation_id)
        return answered

    async def run(self) -> None:
        """Sweep every ``interval_seconds`` until cancelled; errors are logged."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("unanswered-message sweep failed; retrying")
            await asyncio.sleep(self.interval)


__all__ = ["RoutingRecovery"]
