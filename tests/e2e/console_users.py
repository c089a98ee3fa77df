"""End users for the console's browser tests: python-socketio clients speaking the widget
protocol (``session_request`` with customData, ``user_uttered`` with a client id and
customData, ``bot_uttered`` and ``agent_typing`` back).

The console tests drive the user's side with these rather than with the widget's page, so
they test the console, whatever the widget looks like.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

import socketio


class ChatUser:
    """One end user in one conversation."""

    def __init__(self, url: str, custom: dict[str, Any] | None = None) -> None:
        self.url = url
        self.custom = dict(custom or {})
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.typing: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._confirmed: queue.Queue[str] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("session_confirm", lambda d: self._confirmed.put(
            d["session_id"] if isinstance(d, dict) else d))
        self.sio.on("bot_uttered", self.received.put)
        self.sio.on("agent_typing", self.typing.put)
        self.id = ""

    def connect(self) -> str:
        self.sio.connect(self.url, socketio_path="socket.io", transports=["websocket"])
        self.sio.emit("session_request", {"session_id": None, "customData": self.custom})
        self.id = self._confirmed.get(timeout=15)
        return self.id

    def say(self, text: str, **custom: Any) -> int:
        """Send ``text`` (extra customData such as ``display_text`` for a button); returns
        the stored message's id."""
        ack = self.sio.call(
            "user_uttered",
            {"message": text, "session_id": self.id, "client_id": uuid.uuid4().hex,
             "customData": {**self.custom, **custom}},
            timeout=15,
        )
        assert ack and ack.get("ok"), ack
        return ack["message_id"]

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 45) -> dict[str, Any]:
        """The first message received (now or earlier) that ``match`` accepts."""
        for m in self.seen:
            if match(m):
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = self.received.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(m)
            if match(m):
                return m
        raise AssertionError(f"no matching message within {timeout}s; got {self.seen}")

    def next(self, timeout: float = 45) -> dict[str, Any]:
        """The next message not received yet."""
        m = self.received.get(timeout=timeout)
        self.seen.append(m)
        return m

    def drain(self, settle: float = 0.5) -> list[dict[str, Any]]:
        """Every message received so far (waiting ``settle`` s for stragglers)."""
        while True:
            try:
                self.seen.append(self.received.get(timeout=settle))
            except queue.Empty:
                return self.seen

    def wait_for_text(self, fragment: str, timeout: float = 45) -> dict[str, Any]:
        return self.wait_for(lambda m: fragment.lower() in (m.get("text") or "").lower(), timeout)

    def buttons(self, payload_prefix: str, timeout: float = 45) -> list[dict[str, Any]]:
        """The quick replies of the first message offering one starting with the prefix."""
        m = self.wait_for(lambda m: any(
            str(q.get("payload", "")).startswith(payload_prefix)
            for q in m.get("quick_replies") or []), timeout)
        return m["quick_replies"]

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def handed_off(user: ChatUser, *texts: str, **custom: Any) -> ChatUser:
    """Connect ``user`` and say ``texts``; waits until the bot says it connects a person."""
    user.connect()
    for text in texts:
        user.say(text, **custom)
    user.wait_for_text("connecting you")
    return user


__all__ = ["ChatUser", "handed_off"]
