"""Typed settings for the handoff module (the `handoff:` section of config.yml)."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field, HttpUrl


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class AssignmentMode(str, Enum):
    """How queued conversations reach agents."""

    AUTO = "auto"  # the least-busy online agent with spare capacity gets it
    MANUAL = "manual"  # agents claim from the queue


class CsatScale(str, Enum):
    FIVE = "five"  # quick replies 1..5
    THUMBS = "thumbs"  # quick replies 👍 / 👎


class CsatSettings(_Strict):
    enabled: bool = True
    scale: CsatScale = CsatScale.FIVE
    prompt: str = "Thanks for chatting with us! How would you rate the help you got?"
    thanks_message: str = "Thank you for your feedback!"


class WebhookSettings(_Strict):
    urls: list[HttpUrl] = Field(default_factory=list, description="receivers of lifecycle events")
    max_attempts: int = Field(5, ge=1, le=20)
    initial_backoff_seconds: float = Field(1.0, gt=0, le=300)
    timeout_seconds: float = Field(5.0, gt=0, le=60)


class HandoffSettings(_Strict):
    rasa_timeout_seconds: float = Field(15.0, gt=0, le=300)
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
