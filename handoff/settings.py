"""Typed settings for the handoff module (the `handoff:` section of config.yml)."""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, Field, HttpUrl, root_validator, validator

from handoff.availability import BusinessHoursSettings


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class AssignmentMode(str, Enum):
    """How queued conversations reach agents."""

    AUTO = "auto"  # the least-busy online agent with spare capacity gets it
    MANUAL = "manual"  # agents claim from the queue


class CsatScale(str, Enum):
    """The rating quick replies: 1 to 5, or thumbs up / down (stored as 5 / 1)."""

    FIVE = "five"  # quick replies 1..5
    THUMBS = "thumbs"  # quick replies 👍 / 👎


class CsatSettings(_Strict):
    """``handoff.csat``: whether and how users are asked to rate the help after a resolve."""

    enabled: bool = True
    scale: CsatScale = CsatScale.FIVE
    prompt: str = "Thanks for chatting with us! How would you rate the help you got?"
    thanks_message: str = "Thank you for your feedback!"


class WebhookSettings(_Strict):
    """``handoff.webhooks``: where lifecycle events are posted and how delivery retries."""

    urls: list[HttpUrl] = Field(default_factory=list, description="receivers of lifecycle events")
    max_attempts: int = Field(5, ge=1, le=20)
    initial_backoff_seconds: float = Field(1.0, gt=0, le=300)
    timeout_seconds: float = Field(5.0, gt=0, le=60)


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


class WidgetTheme(_Strict):
    """Colours as ``#rrggbb``. Each text colour must reach WCAG AA (4.5:1) on its background."""

    primary: str = "#2f5bea"  # launcher, header, user bubbles, buttons
    on_primary: str = "#ffffff"  # text on primary
    background: str = "#ffffff"  # the panel
    text: str = "#1d2330"  # text on the panel and on bot bubbles

    @validator("*")
    def _hex(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError(f"{value!r} is not a colour like #2f5bea")
        return value.lower()

    @root_validator(skip_on_failure=True)
    def _contrast(cls, values: dict) -> dict:
        for fg, bg in (("on_primary", "primary"), ("text", "background")):
            ratio = contrast_ratio(values[fg], values[bg])
            if ratio < 4.5:
                raise ValueError(
                    f"{fg} {values[fg]} on {bg} {values[bg]} has contrast {ratio:.2f}:1; WCAG AA "
                    "needs 4.5:1 - pick a darker or lighter colour"
                )
        return values


class WidgetStrings(_Strict):
    """Every text the widget shows, so a deployment can translate or reword them."""

    launcher_label: str = "Open support chat"
    close_label: str = "Close chat"
    input_placeholder: str = "Type your message…"
    send: str = "Send"
    sending: str = "Sending…"
    sent: str = "Sent"
    not_sent: str = "Not sent — will retry"
    retry: str = "Retry"
    connecting: str = "Connecting…"
    online: str = "Online"
    offline: str = "You're offline. Messages will be sent when you reconnect."
    talk_to_person: str = "Talk to a person"
    talk_to_person_payload: str = "/request_human"
    bot_thinking: str = "The assistant is typing…"
    agent_typing: str = "{name} is typing…"
    agent_fallback_name: str = "Agent"
    queue_position: str = "You are number {position} in the queue."
    queue_wait: str = "Estimated wait: about {minutes} min."
    queue_nobody: str = "No one from the team is online right now; you'll be answered here as soon as someone is."
    source: str = "Source:"
    helpful: str = "Helpful"
    not_helpful: str = "Not helpful"
    feedback_thanks: str = "Thanks for the feedback."
    new_chat: str = "New chat"
    rating_label: str = "Rate {value}"


class WidgetSettings(_Strict):
    """The end-user chat widget: looks, texts, sessions, the event stream."""

    title: str = "Support"
    subtitle: str = "Ask us anything"
    avatar_url: str | None = Field(None, description="an http(s) URL or a path on this server")
    welcome_message: str | None = "Hi! Ask me a question, or ask for a person at any time."
    position: str = Field("right", regex="^(left|right)$")
    theme: WidgetTheme = WidgetTheme()
    strings: WidgetStrings = WidgetStrings()
    # Helpful/Not helpful under each article answer send these payloads (bot/domain.yml intents).
    feedback_helpful_payload: str = "/feedback_helpful"
    feedback_not_helpful_payload: str = "/feedback_not_helpful"
    session_ttl_days: float = Field(30.0, gt=0, le=365)
    # rasa-webchat clients only know a session_id: with this on, knowing an existing
    # conversation id is enough to rejoin it (ids are unguessable; see docs/widget.md).
    allow_session_id_resume: bool = True
    sse_heartbeat_seconds: float = Field(15.0, gt=0, le=300)
    # The estimated wait shown to a queued user: position x this.
    seconds_per_queue_position: float = Field(120.0, gt=0, le=3600)

    @validator("avatar_url")
    def _avatar(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?://|/)", value):
            raise ValueError("avatar_url must start with http://, https:// or /")
        return value


class HandoffSettings(_Strict):
    """The ``handoff:`` section of config.yml, validated: Rasa, agents, queue and widget."""

    rasa_timeout_seconds: float = Field(15.0, gt=0, le=300)
    # A user message that finds Rasa not serving (starting, restarting) waits for it this long,
    # counted from the start of the outage; then the apology and a person (0: at once).
    rasa_wait_seconds: float = Field(
        120.0, ge=0, le=3600,
        description="how long a message waits for a Rasa that is starting or restarting",
    )
    max_message_chars: int = Field(2000, ge=1, le=100_000)
    handback_message: str = "You're back with the assistant. Anything else I can help with?"
    unavailable_message: str = (
        "Sorry, I'm having trouble right now. I'm connecting you to a person."
    )
    token_ttl_minutes: int = Field(720, ge=1, le=60 * 24 * 30)
    assignment: AssignmentMode = AssignmentMode.MANUAL
    default_agent_capacity: int = Field(3, ge=1, le=100)
    heartbeat_interval_seconds: float = Field(10.0, gt=0, le=300)
    presence_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    assignment_timeout_seconds: float | None = Field(
        180.0, gt=0, description="assigned without an agent reply this long -> back to the queue"
    )
    sweep_interval_seconds: float = Field(1.0, gt=0, le=60)
    csat: CsatSettings = CsatSettings()
    webhooks: WebhookSettings = WebhookSettings()
    widget: WidgetSettings = WidgetSettings()
    business_hours: BusinessHoursSettings = BusinessHoursSettings()  # handoff/availability.py
