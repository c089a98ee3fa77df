"""When the bot brings in a person: the escalation policy, testable without Rasa.

The custom actions only adapt a Rasa tracker to this module: they ask the policy what a turn
means (`EscalationPolicy.screen`, `on_failure`, `on_kb_handoff`, ...) and turn the answer into
events. Every trigger is configured in the ``escalation:`` section of config.yml
(`EscalationSettings`), and every escalation carries the `HandoffReason` the agent sees.

Triggers, in the order they win when several fire on one turn:

- ``sensitive_topic``: a configured phrase (cancel my account, lawyer, complaint, ...), also
  when the user asks for a person in the same breath;
- ``user_request``: the user asked for a person (at any point, also mid-clarification);
- ``frustration``: a lexicon word, an insult, a repeated question or a message in ALL CAPS;
- ``consecutive_failures``: N failures in a row ("not helpful", "none of these", no answer);
- ``negative_feedback``: the user said an answer did not help;
- ``low_confidence``: the knowledge base decided ``handoff``;
- ``kb_unavailable``: the knowledge base could not be asked.

Each trigger either hands off straight away or first asks "Shall I connect you to a person?"
(``ask_first``); a declined offer leaves the bot in charge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, Field, validator


class HandoffReason(str, Enum):
    """Why the bot hands a conversation to a person (the reason the agent sees)."""

    USER_REQUEST = "user_request"
    LOW_CONFIDENCE = "low_confidence"
    CONSECUTIVE_FAILURES = "consecutive_failures"
    NEGATIVE_FEEDBACK = "negative_feedback"
    SENSITIVE_TOPIC = "sensitive_topic"
    FRUSTRATION = "frustration"
    KB_UNAVAILABLE = "kb_unavailable"


class Failure(str, Enum):
    """A turn in which the bot did not help; N of them in a row escalate."""

    NOT_HELPFUL = "not_helpful"  # the user said the answer did not help
    NONE_OF_THESE = "none_of_these"  # no clarify option fitted
    NO_ANSWER = "no_answer"  # the knowledge base had nothing confident (a fallback)


DEFAULT_SENSITIVE_PHRASES = [
    "cancel my account",
    "close my account",
    "legal",
    "lawyer",
    "attorney",
    "solicitor",
    "lawsuit",
    "sue you",
    "complaint",
    "ombudsman",
    "fraud",
]

DEFAULT_FRUSTRATION_WORDS = [
    "useless",
    "pointless",
    "stupid",
    "idiot",
    "idiotic",
    "rubbish",
    "garbage",
    "ridiculous",
    "pathetic",
    "hopeless",
    "waste of time",
    "not listening",
    "you don't understand",
    "fed up",
    "sick of",
    "wtf",
    "ffs",
]


# -- settings (the `escalation:` section of config.yml) ----------------------------------------


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class UserRequestSettings(_Strict):
    """An explicit request for a person is always honoured; only asking first is optional."""

    ask_first: bool = False


class TriggerSettings(_Strict):
    """A trigger that can be switched off, and may ask before handing off."""

    enabled: bool = True
    ask_first: bool = False


class ConsecutiveFailuresSettings(TriggerSettings):
    threshold: int = Field(2, ge=1, le=20, description="failures in a row that escalate")


class SensitiveTopicSettings(TriggerSettings):
    phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_SENSITIVE_PHRASES))

    @validator("phrases", each_item=True)
    def _not_blank(cls, v: str) -> str:
        if not normalize(v):
            raise ValueError("phrases must contain letters or digits")
        return v


class FrustrationSettings(TriggerSettings):
    ask_first: bool = True
    words: list[str] = Field(default_factory=lambda: list(DEFAULT_FRUSTRATION_WORDS))
    all_caps_min_letters: int = Field(
        12, ge=0, description="a message with at least this many letters, all capitals; 0 = off"
    )
    repeated_question: bool = True
    repeated_question_min_words: int = Field(3, ge=1)

    @validator("words", each_item=True)
    def _not_blank(cls, v: str) -> str:
        if not normalize(v):
            raise ValueError("words must contain letters or digits")
        return v


class EscalationSettings(_Strict):
    """The ``escalation:`` section: one entry per trigger (see the module docstring)."""

    user_request: UserRequestSettings = UserRequestSettings()
    sensitive_topic: SensitiveTopicSettings = SensitiveTopicSettings()
    frustration: FrustrationSettings = FrustrationSettings()
    consecutive_failures: ConsecutiveFailuresSettings = ConsecutiveFailuresSettings()
    negative_feedback: TriggerSettings = Field(
        default_factory=lambda: TriggerSettings(ask_first=True)
    )
    low_confidence: TriggerSettings = TriggerSettings()
    kb_unavailable: TriggerSettings = Field(default_factory=lambda: TriggerSettings(ask_first=True))


# -- the policy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """Bring in a person for ``reason``; offer first ("Shall I connect you?") if ``ask_first``."""

    reason: HandoffReason
    ask_first: bool
    detail: str = ""  # what fired (the phrase, the word, "all caps", ...), for logs and agents


@dataclass(frozen=True)
class Outcome:
    """The result of a turn that did not help: the new failure count and any escalation."""

    failures: int
    escalation: Escalation | None


_WORD = re.compile(r"[a-z0-9']+")


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces (punctuation dropped), for matching."""
    return " ".join(_WORD.findall(text.lower().replace("\u2019", "'")))


def _contains(normalized_text: str, phrase: str) -> bool:
    # Whole words only: "sue" must not fire on "issue", nor "legal" on "illegally".
    needle = normalize(phrase)
    return bool(needle) and f" {needle} " in f" {normalized_text} "


class EscalationPolicy:
    """Decides, from settings and the facts of a turn, whether and how to bring in a person.

    Pure: no I/O, no Rasa. The caller keeps the state (the consecutive failure count) and
    passes it in.
    """

    def __init__(self, settings: EscalationSettings) -> None:
        self.settings = settings

    def _escalation(self, reason: HandoffReason, detail: str = "") -> Escalation:
        ask_first = getattr(self.settings, reason.value).ask_first
        return Escalation(reason, ask_first, detail)

    def on_request(self, text: str = "") -> Escalation:
        """The user asked for a person: always escalates (asking first only if configured).

        A request that names a sensitive topic ("I want to make a complaint") is recorded as
        ``sensitive_topic``: it tells the agent more.
        """
        phrase = self.sensitive_topic(text)
        if phrase is not None:
            return self._escalation(HandoffReason.SENSITIVE_TOPIC, f"mentioned {phrase!r}")
        return self._escalation(HandoffReason.USER_REQUEST)

    def sensitive_topic(self, text: str) -> str | None:
        """The configured sensitive phrase ``text`` mentions, or None."""
        if not self.settings.sensitive_topic.enabled:
            return None
        norm = normalize(text)
        return next((p for p in self.settings.sensitive_topic.phrases if _contains(norm, p)), None)

    def frustration(
        self, text: str, earlier: Sequence[str] = (), nlu_says_frustrated: bool = False
    ) -> str | None:
        """Why ``text`` sounds frustrated, or None.

        Args:
            text: the user's latest message.
            earlier: the user's earlier messages of this bot episode, oldest first; asking one
                of them again means the bot's answer did not land.
            nlu_says_frustrated: NLU classified the message as a complaint about the bot.
        """
        cfg = self.settings.frustration
        if not cfg.enabled:
            return None
        norm = normalize(text)
        word = next((w for w in cfg.words if _contains(norm, w)), None)
        if word is not None:
            return f"said {word!r}"
        letters = [c for c in text if c.isalpha()]
        if (
            cfg.all_caps_min_letters
            and len(letters) >= cfg.all_caps_min_letters
            and all(c.isupper() for c in letters)
        ):
            return "wrote in all caps"
        if cfg.repeated_question and self._repeats(norm, earlier):
            return "asked the same question again"
        if nlu_says_frustrated:
            return "complained about the bot"
        return None

    def _repeats(self, norm: str, earlier: Sequence[str]) -> bool:
        words = set(norm.split())
        if len(norm.split()) < self.settings.frustration.repeated_question_min_words:
            return False
        for before in earlier:
            other = set(normalize(before).split())
            # Near-identical word sets: the same question, give or take a word or punctuation.
            if other and len(words & other) / len(words | other) >= 0.8:
                return True
        return False

    def screen(
        self, text: str, earlier: Sequence[str] = (), nlu_says_frustrated: bool = False
    ) -> Escalation | None:
        """Check a typed message for a sensitive topic, then for frustration.

        Returns:
            The escalation the message calls for, or None to carry on normally.
        """
        phrase = self.sensitive_topic(text)
        if phrase is not None:
            return self._escalation(HandoffReason.SENSITIVE_TOPIC, f"mentioned {phrase!r}")
        why = self.frustration(text, earlier, nlu_says_frustrated)
        if why is not None:
            return self._escalation(HandoffReason.FRUSTRATION, why)
        return None

    def on_failure(self, failure: Failure, failures: int) -> Outcome:
        """A turn did not help. ``failures`` is the count before it.

        N in a row escalate with ``consecutive_failures``; otherwise "not helpful" escalates with
        ``negative_feedback``; other failures only count.
        """
        count = failures + 1
        cfg = self.settings.consecutive_failures
        if cfg.enabled and count >= cfg.threshold:
            return Outcome(
                count,
                self._escalation(HandoffReason.CONSECUTIVE_FAILURES, f"{count} in a row"),
            )
        if failure is Failure.NOT_HELPFUL and self.settings.negative_feedback.enabled:
            return Outcome(count, self._escalation(HandoffReason.NEGATIVE_FEEDBACK))
        return Outcome(count, None)

    def on_kb_handoff(self, failures: int) -> Outcome:
        """The knowledge base decided ``handoff``: a failure that escalates with low_confidence.

        With ``low_confidence`` disabled it only counts (the bot asks the user to rephrase).
        """
        outcome = self.on_failure(Failure.NO_ANSWER, failures)
        if outcome.escalation is not None or not self.settings.low_confidence.enabled:
            return outcome
        return Outcome(outcome.failures, self._escalation(HandoffReason.LOW_CONFIDENCE))

    def on_kb_unavailable(self) -> Escalation | None:
        """The knowledge base could not be asked: offer or hand off, unless disabled."""
        if not self.settings.kb_unavailable.enabled:
            return None
        return self._escalation(HandoffReason.KB_UNAVAILABLE)


__all__ = [
    "Escalation",
    "EscalationPolicy",
    "EscalationSettings",
    "Failure",
    "HandoffReason",
    "Outcome",
    "normalize",
]
