"""The conversation service: the user's side of the handoff policy (store, Rasa, event bus).

What agents do to a conversation lives in `handoff.desk`; both go through `move`.

User messages are stored before anything else happens, then routed by status: ``bot`` goes
to Rasa and every reply is stored and published; ``queued``/``assigned`` wait for agents.
Routing is serialised per conversation so replies come out in the order messages came in.
A Rasa that is starting or restarting is waited for (`handoff.rasa_wait`), within the turn:
later messages of that conversation wait behind it, other conversations do not.
Every status change goes through `handoff.status.transition` (via the store) and its event
is published only after the commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from handoff import events
from handoff.accounts import AgentAccounts
from handoff.csat import Csat
from handoff.errors import (
    IllegalTransition,
    InvalidMessage,
    RasaUnavailable,
)
from handoff.events import Event, EventBus
from handoff.rasa_client import RasaClient
from handoff.rasa_wait import RasaWait
from handoff.records import (
    Agent,
    Conversation,
    ConversationDetail,
    ConversationSummary,
    NewMessage,
    StoredMessage,
)
from handoff.settings import HandoffSettings
from handoff.status import Status
from handoff.store import ConversationStore

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_CLIENT_ID_CHARS = 128
MAX_REASON_CHARS = 200
BOT_UNAVAILABLE = "bot_unavailable"


class HandoffService:
    """Conversations, messages and agents, as the gateway and the API use them."""

    def __init__(
        self,
        store: ConversationStore,
        rasa: RasaClient,
        bus: EventBus,
        settings: HandoffSettings,
        accounts: AgentAccounts,
        csat: Csat,
    ) -> None:
        self.store = store
        self.csat = csat
        self.rasa = rasa
        self.bus = bus
        self.settings = settings
        self.accounts = accounts
        self.rasa_wait = RasaWait(settings.rasa_wait_seconds)
        # Entries vanish once no routing holds or awaits them, so idle conversations cost nothing.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the composition root: sees user messages of queued conversations (the offline
        # ticket flow, handoff.tickets_flow) and returns True if it answered them.
        self.waiting_message_handler: (
            Callable[[Conversation, StoredMessage], Awaitable[bool]] | None
        ) = None
        # Set by the composition root: called with (stage, seconds) for the stages of a turn
        # (route_to_rasa, delivery, and turn: routing started -> replies delivered; the gateway
        # adds gateway_store_ack), e.g. to feed latency histograms.
        self.observe_stage: Callable[[str, float], None] | None = None
        # Set by the composition root: extra metadata sent to Rasa with a user's text (the
        # text's sentence vector, so Rasa's NLU does not encode it again). Best effort: when it
        # fails the turn goes on without it.
        self.rasa_metadata: Callable[[str], Awaitable[dict[str, Any]]] | None = None

    # -- reads (synchronous: call from a worker thread or a sync endpoint) ------------------

    def open_conversation(
        self, existing_id: str | None, user_metadata: dict[str, Any] | None = None
    ) -> Conversation:
        """The conversation ``existing_id`` if it exists, else a NEW one with a server-chosen id."""
        if existing_id is not None and not isinstance(existing_id, str):
            existing_id = None
        return self.store.open_conversation(existing_id, user_metadata or {})

    def list_conversations(
        self, status: Status | None = None, limit: int = 200, assignee_id: int | None = None
    ) -> list[ConversationSummary]:
        """Summaries, optionally of one status or one assignee (queued ones in queue order)."""
        return self.store.list_conversations(
            None if status is None else Status(status), limit, assignee_id
        )

    def get_conversation(self, conversation_id: str) -> ConversationDetail:
        """The conversation with its full message list; `ConversationNotFound` if absent."""
        return self.store.get_detail(conversation_id)

    def history(
        self,
        conversation_id: str,
        after_id: int | None = None,
        limit: int = 500,
        include_notes: bool = False,
    ) -> list[StoredMessage]:
        """Messages after the cursor ``after_id`` (all when None), oldest first.

        Internal notes only with ``include_notes`` (agents' views); never for the user.
        """
        return self.store.history(conversation_id, after_id, limit, include_notes)

    # -- agents (synchronous) -------------------------------------------------------------

    def create_agent(
        self,
        email: str,
        password: str,
        role: str = "agent",
        display_name: str | None = None,
        capacity: int | None = None,
    ) -> Agent:
        """See `AgentAccounts.create`."""
        return self.accounts.create(email, password, role, display_name, capacity)

    def authenticate(self, email: str, password: str) -> str:
        """See `AgentAccounts.authenticate`."""
        return self.accounts.authenticate(email, password)

    def get_agent(self, agent_id: int) -> Agent | None:
        """The agent with this id, or None."""
        return self.accounts.get(agent_id)

    # -- user messages --------------------------------------------------------------------

    async def receive_user_message(
        self,
        conversation_id: str,
        text: str,
        client_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """Store a user message, then route it (awaiting the bot's replies).

        A resend (known ``client_id``) returns the stored message with ``duplicate=True`` and
        is not routed again.

        Raises:
            InvalidMessage: ``text`` is not a non-empty string within ``max_message_chars``.
            ConversationNotFound: no such conversation.
        """
        message = await self.accept_user_message(conversation_id, text, client_id, metadata)
        if not message.duplicate:
            await self.route_user_message(message)
        return message

    async def accept_user_message(
        self,
        conversation_id: str,
        text: str,
        client_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """The first half of `receive_user_message`: validate and store, no routing.

        The gateway acknowledges after this and routes in the background, so the
        acknowledgement never waits for the bot.
        """
        text = self.validate_text(text)
        if client_id is not None and (
            not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS
        ):
            raise InvalidMessage(
                f"client_id must be a string of 1 to {MAX_CLIENT_ID_CHARS} characters, or omitted."
            )
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidMessage("metadata (customData) must be an object, or omitted.")
        message = await self.run(
            self.store.add_user_message, conversation_id, text, client_id, metadata
        )
        if not message.duplicate:
            await self.publish_messages([message])
        return message

    def route_in_background(self, message: StoredMessage) -> asyncio.Task[None]:
        """Route ``message`` in a task the service keeps (see `drain`); errors are logged."""
        task = asyncio.get_running_loop().create_task(self._route_logged(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` seconds for background routing, then cancel what is left."""
        tasks = list(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()

    async def route_user_message(self, message: StoredMessage) -> None:
        """Route a stored user message by the conversation's status (in order per conversation)."""
        entered = time.perf_counter()
        async with self.lock(message.conversation_id):
            conversation = await self.run(self.store.get_conversation, message.conversation_id)
            rating = self.csat.rating_of(message.text) if self.csat.enabled else None
            if rating is not None:
                await self._rate(conversation, rating)
                return  # a rating never reopens the conversation nor reaches the bot
            status, reopened = conversation.status, False
            if status is Status.RESOLVED:
                # The user wrote after a resolve: a new bot episode starts.
                try:
                    await self.move(
                        conversation.id, Status.BOT, actor="user", reason="user_returned"
                    )
                    status, reopened = Status.BOT, True
                except IllegalTransition:  # another replica reopened (and resumed) it first
                    status = (await self.run(self.store.get_conversation, conversation.id)).status
            if status is not Status.BOT:
                if self.waiting_message_handler is not None:
                    await self.waiting_message_handler(conversation, message)
                return  # queued/assigned: the message is stored for the agents; the bot is silent.
            metadata = {
                **conversation.user_metadata,
                **((message.payload or {}).get("metadata") or {}),
                **await self._rasa_metadata(message.text),
            }
            started = time.perf_counter()
            paused = reopened  # the tracker is still paused from the handoff: un-pause it first

            async def turn() -> list[dict[str, Any]]:
                nonlocal paused
                if paused:
                    await self.rasa.resume(conversation.id)
                    paused = False
                return await self.rasa.send(conversation.id, message.text, metadata)

            async def still_with_bot() -> bool:
                now = await self.run(self.store.get_conversation, conversation.id)
                return now.status is Status.BOT

            try:
                replies = await self.rasa_wait.until_served(turn, still_with_bot)
            except RasaUnavailable as e:
                log.warning("Rasa unavailable for %s: %s", conversation.id, e)
                await self._bot_unavailable(conversation.id, message.text, str(e))
                return
            if replies is None:
                return  # queued while Rasa was awaited: the message is stored for the agents
            answered = time.perf_counter()
            bot_messages = [m for m in map(NewMessage.from_rasa, replies) if m is not None]
            if bot_messages:
                stored = await self.run(self.store.add_messages, conversation.id, bot_messages)
                await self.publish_messages(stored)
                if self.observe_stage is not None:
                    delivered = time.perf_counter()
                    self.observe_stage("route_to_rasa", answered - started)
                    self.observe_stage("delivery", delivered - answered)
                    self.observe_stage("turn", delivered - entered)
                return
            # Rasa answered a user message with nothing (e.g. its action server failed and
            # Rasa carried on): never leave the user in silence.
            now = await self.run(self.store.get_conversation, conversation.id)
            if now.status is Status.BOT:
                log.warning("Rasa replied with nothing for %s", conversation.id)
                await self._bot_unavailable(conversation.id, message.text, "Rasa replied with nothing")

    # -- handoff lifecycle ----------------------------------------------------------------

    async def request_handoff(
        self,
        conversation_id: str,
        reason: str,
        context: dict[str, Any] | None = None,
        actor: str = "bot",
        priority: int = 0,
    ) -> Conversation:
        """Queue the conversation for an agent (bot -> queued); a no-op if already queued/assigned.

        ``priority`` orders the queue (higher first; ties by time queued).

        Deliberately takes no routing lock: Rasa's action server calls this while the
        conversation's routing awaits Rasa's reply.
        """
        if not isinstance(reason, str) or not 0 < len(reason.strip()) <= MAX_REASON_CHARS:
            raise InvalidMessage(f"reason must be 1 to {MAX_REASON_CHARS} characters.")
        if context is not None and not isinstance(context, dict):
            raise InvalidMessage("context must be an object, or omitted.")
        conversation = await self.run(self.store.get_conversation, conversation_id)
        if conversation.status in (Status.QUEUED, Status.ASSIGNED):
            return conversation
        try:
            await self.move(
                conversation_id,
                Status.QUEUED,
                actor=actor,
                reason=reason.strip(),
                context=context or {},
                priority=priority,
            )
        except IllegalTransition:
            # Lost a race with another handoff request: fine if it ended up with an agent.
            conversation = await self.run(self.store.get_conversation, conversation_id)
            if conversation.status in (Status.QUEUED, Status.ASSIGNED):
                return conversation
            raise
        return await self.run(self.store.get_conversation, conversation_id)

    # -- helpers --------------------------------------------------------------------------

    def validate_text(self, text: Any) -> str:
        """The stripped text; `InvalidMessage` unless a non-empty string within the limit."""
        if not isinstance(text, str):
            raise InvalidMessage("The message must be a string of text.")
        text = text.strip()
        if not text:
            raise InvalidMessage("The message is empty; type some text before sending.")
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise InvalidMessage(
                f"The message has {len(text)} characters; the limit is {limit}. Shorten it or "
                "split it into several messages."
            )
        return text

    async def _rate(self, conversation: Conversation, rating: int) -> None:
        if conversation.status is not Status.RESOLVED:
            return
        stored = await self.run(
            self.csat.record, conversation.id, rating, conversation.assignee_id
        )
        if stored:
            thanks = await self.run(self.store.add_messages, conversation.id, [self.csat.thanks()])
            await self.bus.publish(
                Event(events.CSAT_RECEIVED, conversation.id,
                      {"rating": rating, "agent_id": conversation.assignee_id})
            )
            await self.publish_messages(thanks)

    async def _rasa_metadata(self, text: str) -> dict[str, Any]:
        if self.rasa_metadata is None:
            return {}
        try:
            return await self.rasa_metadata(text)
        except Exception:  # an optimisation only: Rasa computes what it needs itself
            log.warning("could not prepare Rasa metadata for a message", exc_info=True)
            return {}

    async def _bot_unavailable(self, conversation_id: str, text: str, error: str) -> None:
        # The user is never left in silence: apologise, then queue for a person.
        apology = NewMessage("bot", self.settings.unavailable_message)
        await self.publish_messages(
            await self.run(self.store.add_messages, conversation_id, [apology])
        )
        context = {"last_question": text, "error": error}
        await self.request_handoff(conversation_id, BOT_UNAVAILABLE, context, actor="system")

    async def move(self, conversation_id: str, to: Status, *, actor: str, **changes: Any) -> Event:
        """Transition through the state machine (see `ConversationStore.move`).

        Then publish the transition's event and the messages stored with it, in that order.
        """
        event, stored = await self.run(
            lambda: self.store.move(conversation_id, to, actor=actor, **changes)
        )
        await self.bus.publish(event)
        await self.publish_messages(stored)
        return event

    async def publish_messages(self, messages: list[StoredMessage]) -> None:
        """Publish ``message.created`` for each stored message, in order."""
        for m in messages:
            await self.bus.publish(Event(events.MESSAGE_CREATED, m.conversation_id, m.to_dict()))

    async def _route_logged(self, message: StoredMessage) -> None:
        try:
            await self.route_user_message(message)
        except Exception:
            log.exception("routing message %s of %s failed", message.id, message.conversation_id)

    def lock(self, conversation_id: str) -> asyncio.Lock:
        """The conversation's routing lock in this process (kept while someone holds it)."""
        return self._locks.setdefault(conversation_id, asyncio.Lock())

    @staticmethod
    async def run(fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn(*args)`` (a store call) in a worker thread and await it."""
        return await anyio.to_thread.run_sync(fn, *args)


__all__ = ["BOT_UNAVAILABLE", "HandoffService"]
