"""Typed settings for the handoff module (the `handoff:` section of config.yml)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HandoffSettings(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False

    rasa_timeout_seconds: float = Field(15.0, gt=0, le=300)
    max_message_chars: int = Field(2000, ge=1, le=100_000)
    handback_message: str = "You're back with the assistant. Anything else I can help with?"
    unavailable_message: str = (
        "Sorry, I'm having trouble right now. I'm connecting you to a person."
    )
    token_ttl_minutes: int = Field(720, ge=1, le=60 * 24 * 30)
