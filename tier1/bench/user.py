"""One simulated widget user of `tier1 bench load` (see `tier1.bench.load`).

A socket.io client that asks, waits for replies and reconnects like the widget.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from tier1.bench.options import LoadOptions
from tier1.bench.texts import pick_text

CALL_TIMEOUT = 30.0  # one socket.io call (session_request, history, an ack)


def client_address(n: int) -> str:
    """User ``n``'s own simulated address (10.0.0.1, 10.0.0.2, ...), sent as X-Forwarded-For.

    Real users reach the app from their own addresses, and ``limits.per_ip`` is counted per
    address: 200 users behind the one address of the load tool would share one budget and be
    refused (HTTP 429 / ``{"ok": false}``) at a rate no real audience meets. uvicorn takes the
    address from X-Forwarded-For only when the connection comes from an address it trusts as a
    proxy (``--forwarded-allow-ips``, default 127.0.0.1): against a remote app the header is
    ignored and every user counts against the load machine's address.
    """
    n += 1
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class UserGaveUp(Exception):
    """A simulated user could not reconnect to any base URL within ``reconnect_timeout``."""


@dataclass
class _Turn:
    client_id: str
    kind: str
    sent_at: float
    message_id: int | None = None  # the stored id, from the ack
    replied_at: float | None = None
    waited: bool = True  # False: sent to a conversation already with the agents (not waited on)


@dataclass
class _Conversation:
    id: str
    token: str | None
    turns: list[_Turn] = field(default_factory=list)
    live: list[int] = field(default_factory=list)  # ids of messages received live
    replayed: set[int] = field(default_factory=set)  # ids received through history
    last_id: int | None = None


@dataclass
class Tally:
    """What every user of a run counted together: messages, replies, losses and latencies."""

    sent: int = 0
    acked: int = 0
    unacked: int = 0
    replies: int = 0
    unanswered: int = 0
    with_agents: int = 0  # no reply, but the conversation went to the agents' queue
    late: int = 0
    lost: int = 0
    duplicated: int = 0
    errors: int = 0
    refusals: dict[str, int] = field(default_factory=dict)  # the server's reason -> count
    reconnects: int = 0
    latencies: list[float] = field(default_factory=list)
    reply_times: list[float] = field(default_factory=list)  # when each counted reply arrived
    acknowledged: list[dict] = field(default_factory=list)  # {conversation, message_id, client_id}
    conversations: list[str] = field(default_factory=list)


class User:
    """One simulated widget user (a socket.io client that reconnects like the widget)."""

    def __init__(self, n: int, opts: LoadOptions, texts: dict[str, list[str]], tally: Tally):
        self.n, self.opts, self.texts, self.tally = n, opts, texts, tally
        self.rng = random.Random(opts.seed * 1000 + n)
        self.base_index = n % len(opts.bases)  # users spread over the replicas
        self.sio: Any = None
        self.connected = False
        self.dropped = asyncio.Event()  # set while the current connection is gone
        self.arrived = asyncio.Event()
        self.conv: _Conversation | None = None
        self.handed_off = False  # the current conversation went to the agents' queue
        self.count = 0

    # -- connection -----------------------------------------------------------------------

    async def _on_bot(self, data: Any) -> None:
        meta = (data or {}).get("metadata") or {}
        if self.conv is not None and isinstance(meta.get("message_id"), int):
            self._received(self.conv, meta["message_id"], live=True)
        self.arrived.set()

    async def _on_queue(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("status") in ("queued", "assigned"):
            self.handed_off = True

    async def _on_disconnect(self) -> None:
        self.connected = False
        self.dropped.set()
        self.arrived.set()  # wake a waiting turn so it reconnects

    def _received(self, conv: _Conversation, message_id: int, live: bool) -> None:
        (conv.live.append if live else conv.replayed.add)(message_id)
        conv.last_id = max(conv.last_id or 0, message_id)
        now = time.monotonic()
        for turn in conv.turns:
            if turn.replied_at is None and (turn.message_id is None or turn.message_id < message_id):
                turn.replied_at = now

    async def connect(self) -> None:
        """(Re)connect to a base, rejoin the conversation and replay what was missed."""
        import socketio

        give_up = time.monotonic() + self.opts.reconnect_timeout
        delay = 0.5
        while True:
            base = self.opts.bases[self.base_index % len(self.opts.bases)]
            sio = socketio.AsyncClient(reconnection=False)
            sio.on("bot_uttered", self._on_bot)
            sio.on("queue_position", self._on_queue)
            sio.on("disconnect", self._on_disconnect)
            try:
                await sio.connect(base, transports=["websocket"], wait_timeout=CALL_TIMEOUT,
                                  headers={"X-Forwarded-For": client_address(self.n)})
                self.sio, self.connected = sio, True
                self.dropped.clear()
                if self.conv is not None and await self._rejoin(self.conv):
                    return
                if self.conv is None:
                    await self.new_conversation()
                    return
            except (socketio.exceptions.SocketIOError, OSError, asyncio.TimeoutError):
                pass
            await _quietly_disconnect(sio)
            self.connected = False
            if time.monotonic() > give_up:
                raise UserGaveUp(f"user {self.n}: no connection to {', '.join(self.opts.bases)} "
                                 f"within {self.opts.reconnect_timeout:.0f} s")
            self.base_index += 1  # try the next replica
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)

    async def _rejoin(self, conv: _Conversation) -> bool:
        # replay: false - like tier1's widget, it asks `history` itself (docs/widget.md).
        ack = await self._call("session_request", {"session_token": conv.token,
                                                   "session_id": conv.id, "replay": False})
        if not isinstance(ack, dict) or ack.get("session_id") != conv.id:
            return False
        self.handed_off = self.handed_off or ack.get("status") in ("queued", "assigned")
        history = await self._call("history", {"session_id": conv.id, "after_id": conv.last_id})
        if not isinstance(history, list):
            return False
        for m in history:
            meta = m.get("metadata") or {}
            if meta.get("sender") != "user" and isinstance(meta.get("message_id"), int):
                self._received(conv, meta["message_id"], live=False)
        self.tally.reconnects += 1
        return True

    async def _call(self, event: str, data: dict, timeout: float = CALL_TIMEOUT) -> Any:
        """The ack of ``event``, or None when the connection failed or no ack came in time."""
        import socketio

        # A dropped connection never acks: stop waiting when it drops, not at the timeout.
        call = asyncio.ensure_future(self.sio.call(event, data, timeout=timeout))
        dropped = asyncio.ensure_future(self.dropped.wait())
        await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
        dropped.cancel()
        if not call.done():
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await call
            return None
        try:
            return call.result()
        except (socketio.exceptions.SocketIOError, OSError):
            self.connected = False
            return None

    async def _ensure_connected(self) -> None:
        if not self.connected:
            await _quietly_disconnect(self.sio)
            await self.connect()

    # -- a user's session -----------------------------------------------------------------

    async def new_conversation(self) -> None:
        """Open a new conversation, reconnecting until the server grants one."""
        while True:
            await self._ensure_connected()
            ack = await self._call("session_request", {"session_id": None, "replay": False})
            if isinstance(ack, dict) and ack.get("session_id"):
                break
            self.connected = False  # no conversation opened: treat it as a broken connection
        self.conv = _Conversation(ack["session_id"], ack.get("session_token"))
        self.handed_off = False
        self.tally.conversations.append(self.conv.id)

    async def run(self, deadline: float) -> None:
        """Ask questions of the configured mix until ``deadline``, then check and disconnect."""
        await asyncio.sleep(self.rng.random() * min(self.opts.ramp, self.opts.duration / 2))
        await self.connect()
        kinds, weights = zip(*self.opts.mix.items())
        try:
            while time.monotonic() < deadline:
                kind = self.rng.choices(kinds, weights)[0]
                await self.ask(kind)
                if kind != "known" or self.handed_off:  # with the agents now: start afresh
                    await self.check()
                    await self.new_conversation()
                await asyncio.sleep(self.opts.think * (0.5 + self.rng.random()))
            await self.check()
        finally:
            await _quietly_disconnect(self.sio)

    async def ask(self, kind: str, text: str | None = None) -> _Turn | None:
        """Send one message (``text``, default a random one of ``kind``) and wait for its reply.

        A message sent after the widget was told the conversation is queued or assigned (a
        ``queue_position``) is not waited on: no bot reply follows, a person answers it, so it
        counts as with the agents at once (unless a reply had already arrived with its ack).

        Returns:
            The turn (no reply in time: ``replied_at`` is None or more than ``reply_timeout``
            after ``sent_at``), or None when the server did not acknowledge the message.
        """
        conv = self.conv
        assert conv is not None
        with_agents = self.handed_off  # known before sending: this message cannot cause it
        self.count += 1
        turn = _Turn(f"u{self.n}-{self.count}", kind, time.monotonic())
        self.tally.sent += 1
        if text is None:
            text = pick_text(self.texts[kind], self.rng, self.opts.unique_texts)
        give_up = turn.sent_at + self.opts.reply_timeout
        ack = None
        while ack is None and time.monotonic() < give_up:
            await self._ensure_connected()
            # A resend after a lost ack carries the same client_id: stored once.
            ack = await self._call("user_uttered", {"message": text, "session_id": conv.id,
                                                    "client_id": turn.client_id},
                                   timeout=max(1.0, give_up - time.monotonic()))
        if not (isinstance(ack, dict) and ack.get("ok")):
            self.tally.unacked += 1
            if isinstance(ack, dict):  # refused, not just slow
                self.tally.errors += 1
                reason = str(ack.get("error"))
                self.tally.refusals[reason] = self.tally.refusals.get(reason, 0) + 1
            return None
        turn.message_id = ack["message_id"]
        conv.turns.append(turn)
        self.tally.acked += 1
        self.tally.acknowledged.append({"conversation": conv.id, "message_id": turn.message_id,
                                        "client_id": turn.client_id, "kind": kind})
        if any(mid > turn.message_id for mid in [*conv.live, *conv.replayed]):
            turn.replied_at = turn.replied_at or time.monotonic()  # arrived before the ack
        if with_agents and turn.replied_at is None:
            turn.waited = False
            self.tally.with_agents += 1
            return turn
        while turn.replied_at is None and time.monotonic() < give_up:
            if not self.connected:
                await self._ensure_connected()  # replays the history: may carry the reply
                continue
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), give_up - time.monotonic())
            except asyncio.TimeoutError:
                break
        if turn.replied_at is None or turn.replied_at > give_up:
            if self.handed_off:  # told "you're in the queue for a person" (queue_position)
                self.tally.with_agents += 1
            else:
                self.tally.unanswered += 1
            return turn
        self.tally.replies += 1
        self.tally.reply_times.append(turn.replied_at)
        self.tally.latencies.append(turn.replied_at - turn.sent_at)
        await asyncio.sleep(self.opts.settle)
        return turn

    async def check(self) -> None:
        """Compare the stored history with what was sent and received."""
        conv = self.conv
        assert conv is not None
        await asyncio.sleep(self.opts.settle)
        history = None
        for _ in range(3):
            await self._ensure_connected()
            history = await self._call("history", {"session_id": conv.id, "after_id": None})
            if isinstance(history, list):
                break
        if not isinstance(history, list):
            self.tally.errors += 1
            return
        stored_user: dict[str, int] = {}
        stored_out: set[int] = set()
        for m in history:
            meta = m.get("metadata") or {}
            if meta.get("sender") == "user":
                cid = meta.get("client_id")
                stored_user[cid] = stored_user.get(cid, 0) + 1
            else:
                stored_out.add(meta.get("message_id"))
        for turn in conv.turns:
            copies = stored_user.get(turn.client_id, 0)
            self.tally.lost += copies == 0
            self.tally.duplicated += max(0, copies - 1)
            if turn.waited \
                    and (turn.replied_at is None
                         or turn.replied_at > turn.sent_at + self.opts.reply_timeout) \
                    and any(mid > (turn.message_id or 0) for mid in stored_out):
                self.tally.late += 1
        # A message stored just before the history read may still be on its way: wait for it.
        wait_until = time.monotonic() + 5
        while stored_out - set(conv.live) - conv.replayed and time.monotonic() < wait_until:
            await asyncio.sleep(0.2)
        self.tally.duplicated += len(conv.live) - len(set(conv.live))
        self.tally.lost += len(stored_out - set(conv.live) - conv.replayed)


async def _quietly_disconnect(sio: Any) -> None:
    if sio is None:
        return
    with contextlib.suppress(Exception):  # the socket is being dropped anyway
        await asyncio.wait_for(sio.disconnect(), 5)


__all__ = ["CALL_TIMEOUT", "Tally", "User", "UserGaveUp"]
