"""The chat when no person can take it: say so honestly, then take a message and an email.

Subscribed to ``conversation.handoff_requested``: when the business hours are closed (or, with
``business_hours.nobody_online: offline``, nobody is online) the bot says when the team is back
and asks for an email address. The conversation stays queued, as Chatwoot keeps it open in
the inbox: an agent who comes online still sees it and can answer in the chat. While queued,
the user's messages reach `handle_waiting_message` (the service's hook for conversations no
one is answering yet): an email (validated; a bad one is asked again with a hint), then the
message ("skip" sends the conversation so far). Only once the ticket is stored does the bot
confirm "we'll email you at ...". "cancel" hands the chat back to the assistant. A person
taking the chat (assigned), a hand-back or a resolve cancels a draft still collecting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from email_validator import EmailNotValidError, validate_email

from handoff import events
from handoff.availability import (
    Availability,
    AvailabilityState,
    BusinessHours,
    NobodyOnline,
    decide,
    describe_opening,
)
from handoff.errors import HandoffError
from handoff.events import Event
from handoff.presence import PresenceState
from handoff.records import Conversation, NewMessage, StoredMessage
from handoff.service import HandoffService
from handoff.status import Status
from handoff.tickets import Ticket, TicketStatus, TicketStore

log = logging.getLogger(__name__)

CANCEL_PAYLOAD = "/cancel"
SKIP_PAYLOAD = "/skip"
CANCEL_WORDS = frozenset({"cancel", "/cancel", "stop", "never mind", "nevermind"})
SKIP_WORDS = frozenset({"skip", "/skip"})
MAX_TICKET_MESSAGE_CHARS = 4000
CLOSED_CACHE_SECONDS = 1.0

CLOSED_TEXT = "Our team is offline right now — we're back {when}."
NOBODY_TEXT = "Nobody from our team is online right now."
OFFER_TEXT = (
    " Leave your email address and a message, and we'll get back to you by email. "
    "What's your email address?"
)
BAD_EMAIL_TEXT = (
    "That doesn't look like an email address ({why}). Please type it like name@example.com, "
    'or "cancel" to go back to the assistant.'
)
ASK_MESSAGE_TEXT = (
    'Thanks! Now type your message for the team — or "skip" and we\'ll pass on this '
    "conversation as it is."
)
CONFIRM_TEXT = "Thanks — we'll email you at {email}. Your message is with our team."
CANCELLED_TEXT = "Okay, no message left. You're back with the assistant — ask me anything."
CANCEL_BUTTON = {"title": "Cancel", "payload": CANCEL_PAYLOAD}
SKIP_BUTTON = {"title": "Skip", "payload": SKIP_PAYLOAD}

# The agents' roster as (online agents, their free seats); see `Assigner.roster`.
Staffing = Callable[[], tuple[int, int]]


def offline_notice(availability: Availability, now: datetime) -> str:
    """The honest first sentence: when the team is back, or that nobody is online."""
    if availability.state is AvailabilityState.CLOSED:
        return CLOSED_TEXT.format(
            when=describe_opening(availability.next_open, now, availability.timezone)
        )
    return NOBODY_TEXT


class OfflineTickets:
    """Offers, collects and stores offline tickets for conversations no person can take.

    Args:
        service: the conversation service (messages, moves, Rasa).
        tickets: where tickets live.
        hours: the configured business hours.
        nobody_online: what to do inside business hours when no agent is online.
        staffing: (agents online, their free seats) now; synchronous.
        clock: the current time, tz-aware (tests pass a fixed one).
    """

    def __init__(
        self,
        service: HandoffService,
        tickets: TicketStore,
        hours: BusinessHours,
        nobody_online: NobodyOnline,
        staffing: Staffing,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.service = service
        self.tickets = tickets
        self.hours = hours
        self.nobody_online = nobody_online
        self.staffing = staffing
        self.clock = clock
        self._closed: tuple[float, bool] | None = None
        self._nobody: tuple[float, bool] | None = None
        service.bus.subscribe(events.HANDOFF_REQUESTED, self.on_handoff_requested)
        for name in (events.ASSIGNED, events.HANDED_BACK, events.RESOLVED):
            service.bus.subscribe(name, self.on_taken_or_ended)
        service.bus.subscribe(events.PRESENCE_CHANGED, self.on_presence_changed)

    def availability(self) -> Availability:
        """Whether a person can take a chat now (synchronous: reads the roster)."""
        online, free = self.staffing()
        return decide(self.clock(), self.hours, agents_online=online, free_capacity=free)

    def closed_now(self) -> bool:
        """True while a handoff would be offered the offline message (synchronous).

        That is closed hours, or nobody online with ``nobody_online: offline``. Cached for a
        second, as queue updates ask once per waiting conversation.
        """
        now = time.monotonic()
        if self._closed is None or now - self._closed[0] > CLOSED_CACHE_SECONDS:
            self._closed = (now, self.offers_message(self.availability()))
        return self._closed[1]

    def nobody_can_answer_now(self) -> bool:
        """True while no person could take a queued chat (synchronous).

        That is closed hours, or open with nobody online (whatever ``nobody_online`` says); a
        wait estimate would be false then. Cached for a second like `closed_now`.
        """
        now = time.monotonic()
        if self._nobody is None or now - self._nobody[0] > CLOSED_CACHE_SECONDS:
            state = self.availability().state
            self._nobody = (now, state is not AvailabilityState.OPEN_WITH_AGENTS)
        return self._nobody[1]

    def offers_message(self, availability: Availability) -> bool:
        """True when ``availability`` means taking an offline message instead of queueing."""
        if availability.state is AvailabilityState.CLOSED:
            return True
        return (
            availability.state is AvailabilityState.NO_AGENTS_ONLINE
            and self.nobody_online is NobodyOnline.OFFLINE
        )

    async def on_handoff_requested(self, event: Event) -> None:
        """A chat was queued: if no person can take it, say so and ask for an email."""
        availability = await self.service.run(self.availability)
        if not self.offers_message(availability):
            return
        # Auto-assignment runs first on the same event: an agent who took it is answer enough.
        now = await self.service.run(self.service.store.get_conversation, event.conversation_id)
        if now.status is not Status.QUEUED:
            return
        await self.service.run(self.tickets.draft, event.conversation_id, availability.state.value)
        text = offline_notice(availability, self.clock()) + OFFER_TEXT
        await self._say(event.conversation_id, text, [CANCEL_BUTTON])

    async def on_presence_changed(self, event: Event) -> None:
        """An agent came or went: the cached "can anyone answer?" is stale."""
        self._closed = self._nobody = None

    async def on_taken_or_ended(self, event: Event) -> None:
        """The chat was assigned, handed back or resolved: cancel its offline-message drafts."""
        await self.service.run(self.tickets.cancel_collecting, event.conversation_id)

    def offline(self, conversation_id: str) -> bool:
        """True while the conversation is collecting an offline message (synchronous)."""
        return self.tickets.collecting(conversation_id) is not None

    async def handle_waiting_message(
        self, conversation: Conversation, message: StoredMessage
    ) -> bool:
        """A user message to a queued conversation: True if it was part of an offline ticket."""
        if conversation.status is not Status.QUEUED:
            return False
        ticket = await self.service.run(self.tickets.collecting, conversation.id)
        if ticket is None:
            return False
        text = message.text.strip()
        if text.lower().rstrip(".!") in CANCEL_WORDS:
            await self._cancel(conversation, ticket)
        elif ticket.status is TicketStatus.AWAITING_EMAIL:
            await self._take_email(ticket, text)
        else:
            await self._take_message(ticket, text)
        return True

    async def _take_email(self, ticket: Ticket, text: str) -> None:
        try:
            email = validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as e:
            why = str(e).rstrip(".")
            await self._say(ticket.conversation_id, BAD_EMAIL_TEXT.format(why=why), [CANCEL_BUTTON])
            return
        await self.service.run(
            lambda: self.tickets.move(ticket.id, TicketStatus.AWAITING_MESSAGE, email=email)
        )
        await self._say(ticket.conversation_id, ASK_MESSAGE_TEXT, [SKIP_BUTTON, CANCEL_BUTTON])

    async def _take_message(self, ticket: Ticket, text: str) -> None:
        if text.lower() in SKIP_WORDS:
            text = await self.service.run(self._conversation_so_far, ticket)
        text = text[:MAX_TICKET_MESSAGE_CHARS]
        stored = await self.service.run(
            lambda: self.tickets.move(ticket.id, TicketStatus.OPEN, message=text)
        )
        # Only now, with the ticket committed, does the user hear it was taken.
        await self._say(ticket.conversation_id, CONFIRM_TEXT.format(email=stored.email))
        await self.service.bus.publish(
            Event(
                events.TICKET_OPENED,
                stored.conversation_id,
                {
                    "ticket_id": stored.id,
                    "email": stored.email,
                    "message": stored.message,
                    "reason": stored.reason,
                },
            )
        )

    def _conversation_so_far(self, ticket: Ticket) -> str:
        """What the user typed before the offer (not the email and the "skip")."""
        said = [
            m.text
            for m in self.service.history(ticket.conversation_id)
            if m.sender == "user"
            and m.created_at < ticket.created_at
            and not m.text.startswith("/")
        ]
        return "\n".join(said) or "(the user left no message)"

    async def _cancel(self, conversation: Conversation, ticket: Ticket) -> None:
        await self.service.run(lambda: self.tickets.move(ticket.id, TicketStatus.CANCELLED))
        # Un-pause Rasa first: a failed resume leaves the chat queued, not with a silent bot.
        try:
            await self.service.rasa.resume(conversation.id)
            await self.service.move(
                conversation.id,
                Status.BOT,
                actor="user",
                reason="offline_message_cancelled",
                messages=[NewMessage("bot", CANCELLED_TEXT)],
            )
        except HandoffError as e:
            log.warning(
                "hand-back after a cancelled offline message of %s failed: %s", conversation.id, e
            )
            await self._say(
                conversation.id,
                "Okay, no message left. Your chat stays in the queue for our team.",
            )

    async def _say(
        self, conversation_id: str, text: str, buttons: list[dict[str, Any]] | None = None
    ) -> None:
        payload = {"buttons": buttons} if buttons else None
        stored = await self.service.run(
            self.service.store.add_messages, conversation_id, [NewMessage("bot", text, payload)]
        )
        await self.service.publish_messages(stored)


def staffing_from_roster(roster: Callable[[], list]) -> Staffing:
    """(online agents, their free seats) from `Assigner.roster`."""

    def staffing() -> tuple[int, int]:
        online = [s for s in roster() if s.presence is PresenceState.ONLINE]
        return len(online), sum(s.spare for s in online)

    return staffing


__all__ = [
    "CANCEL_PAYLOAD",
    "SKIP_PAYLOAD",
    "OfflineTickets",
    "offline_notice",
    "staffing_from_roster",
]
