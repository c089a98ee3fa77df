"""The learning loop: what the bot could not answer, grouped, and one click to fix it.

A *miss* is a user question the bot failed on, read from the stored conversations:

- ``low_confidence``: the question before a handoff for a bot failure (low confidence,
  negative feedback, repeated failures);
- ``not_helpful``: the question before the user's "Not helpful" (the feedback payload);
- ``abandoned_clarification``: the question before a "Did you mean...?" offer that the user
  did not answer with one of the offered articles ("None of these", a new question, or
  nothing at all).

Misses are grouped by similarity with the knowledge base's own embedder, so fifty phrasings
of one question make one inbox item with a count and examples; each item suggests the article
the knowledge base ranks first. Attaching adds the phrasings as question variants of an
article through ``KnowledgeBase.update_article`` (searchable when it returns); dismissing
hides them. Either way the item's messages are recorded in ``learning_handled``
(``tier1.admin.handled_misses``) and do not come back, unless the click is undone: then the item is
back in the inbox and the phrasings an attach added leave the article. This lives in ``tier1``
because it reads both packages' data (conversations through ``handoff.transcripts``, not
handoff's tables); neither package knows about the other.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from handoff.transcripts import HandoffRecord, TranscriptMessage, read_transcripts
from knowledge_base import KnowledgeBase
from knowledge_base.errors import ArticleNotFound
from tier1.admin.handled_misses import HandledMisses, HandledMissRow, LearningBase

DEFAULT_SIMILARITY = 0.6  # all-MiniLM-L6-v2: paraphrases measured 0.62-0.85, unrelated < 0.3
DEFAULT_MAX_EXAMPLES = 5
FAILURE_REASONS = ("low_confidence", "negative_feedback", "consecutive_failures")
MAX_QUESTION_CHARS = 500
_ITEM_ID = re.compile(r"^u([0-9]{1,18})$")  # "u" + the group's first message id


class LearningError(Exception):
    """Base class of every error the learning loop raises."""


class UnansweredItemNotFound(LearningError):
    """No open inbox item has this id."""

    def __init__(self, item_id: str) -> None:
        super().__init__(
            f"No open unanswered item {item_id!r}: it was attached or dismissed already, or the "
            "list changed. Reload the inbox (GET /api/admin/unanswered) and use a current id."
        )


class NothingToUndo(LearningError):
    """The item was not attached or dismissed (or that was undone already)."""


class MissKind(str, Enum):
    """How the bot failed on a question (see the module)."""

    LOW_CONFIDENCE = "low_confidence"
    NOT_HELPFUL = "not_helpful"
    ABANDONED_CLARIFICATION = "abandoned_clarification"


@dataclass(frozen=True)
class Miss:
    """One failed user question (``message_id`` is the user's message)."""

    message_id: int
    conversation_id: str
    text: str
    kind: MissKind
    at: datetime
    agent_reply: str | None = None


@dataclass
class UnansweredItem:
    """A group of similar misses. ``id`` is stable while its earliest message stays in it."""

    id: str
    misses: list[Miss]
    suggested_article_id: int | None = None
    suggested_title: str | None = None
    suggested_score: float | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    texts: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many misses the item groups."""
        return len(self.misses)

    def to_dict(self) -> dict[str, Any]:
        """The item as the admin API sends it: examples, kinds, dates, suggestion, draft."""
        kinds = Counter(m.kind.value for m in self.misses)
        draft = next((m.agent_reply for m in self.misses if m.agent_reply), None)
        return {
            "id": self.id,
            "count": self.count,
            "examples": self.texts[: self.max_examples],
            "phrasings": len(self.texts),
            "kinds": dict(kinds),
            "conversations": sorted({m.conversation_id for m in self.misses}),
            "first_seen": min(m.at for m in self.misses).isoformat(),
            "last_seen": max(m.at for m in self.misses).isoformat(),
            "suggested_article_id": self.suggested_article_id,
            "suggested_title": self.suggested_title,
            "suggested_score": self.suggested_score,
            "draft_answer": draft,
        }


class LearningLoop:
    """The unanswered inbox over the handoff tables and the knowledge base.

    Args:
        engine: the database holding the handoff tables (and ``learning_handled``).
        kb: a started knowledge base: its embedder groups misses, its search suggests.
        similarity: cosine similarity at or above which a miss joins a group.
        not_helpful_payload / none_of_these_payload / choose_article_prefix: what the widget
            sends for those buttons (bot/domain.yml intents).
    """

    def __init__(
        self,
        engine: Engine,
        kb: KnowledgeBase,
        *,
        similarity: float = DEFAULT_SIMILARITY,
        max_examples: int = DEFAULT_MAX_EXAMPLES,
        failure_reasons: tuple[str, ...] = FAILURE_REASONS,
        not_helpful_payload: str = "/feedback_not_helpful",
        none_of_these_payload: str = "/none_of_these",
        choose_article_prefix: str = "/choose_article",
    ) -> None:
        self._engine = engine
        self._handled = HandledMisses(engine)
        self._kb = kb
        self._similarity = similarity
        self._max_examples = max_examples
        self._reasons = failure_reasons
        self._not_helpful = not_helpful_payload
        self._none_of_these = none_of_these_payload
        self._choose = choose_article_prefix

    def create_tables(self) -> None:
        """Create or upgrade ``learning_handled`` with Alembic (`tier1.admin.migrations`).

        Idempotent, and safe when replicas start together on PostgreSQL.
        """
        from tier1.admin.migrations import migrate

        migrate(self._engine)

    # -- reading ---------------------------------------------------------------------------

    def misses(self, since: datetime | None = None) -> list[Miss]:
        """Open misses (not attached or dismissed), oldest first."""
        transcripts = read_transcripts(
            self._engine,
            reasons=self._reasons,
            signal_texts=(self._not_helpful, self._none_of_these),
            # a clarify offer: its buttons carry the "None of these" payload
            payload_marker=self._none_of_these,
            since=since,
        )
        if not transcripts.handoffs and not transcripts.messages:
            return []
        with Session(self._engine, future=True) as s:
            handled = HandledMisses.handled_ids(s)
        by_conversation = transcripts.messages
        found: dict[int, Miss] = {}
        # Feedback first: a negative_feedback handoff's question is a "not helpful" miss.
        for rows in by_conversation.values():
            self._feedback_misses(rows, found)
        for c in transcripts.handoffs:
            self._handoff_miss(by_conversation.get(c.conversation_id, []), c, found)
        out = [
            m for m in found.values()
            if m.message_id not in handled and (since is None or m.at >= since)
        ]
        return sorted(out, key=lambda m: m.message_id)

    def inbox(self, since: datetime | None = None) -> list[UnansweredItem]:
        """Open misses grouped by similarity, biggest group first (then most recent)."""
        misses = self.misses(since)
        if not misses:
            return []
        texts = sorted({m.text for m in misses})
        vectors = _normalized(self._kb.embedder.encode(texts))
        vector_of = dict(zip(texts, vectors))
        groups: list[list[Miss]] = []
        centroids: list[np.ndarray] = []
        sums: list[np.ndarray] = []
        for miss in misses:  # oldest first: deterministic, and an item keeps its first id
            v = vector_of[miss.text]
            if centroids:
                sims = np.array([float(c @ v) for c in centroids])
                best = int(sims.argmax())
                if sims[best] >= self._similarity:
                    groups[best].append(miss)
                    sums[best] = sums[best] + v
                    centroids[best] = _normalized(sums[best][None, :])[0]
                    continue
            groups.append([miss])
            sums.append(v.copy())
            centroids.append(v)
        items = []
        for group in groups:
            counts = Counter(m.text for m in group)
            ordered = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            items.append(
                UnansweredItem(
                    id=f"u{group[0].message_id}",
                    misses=group,
                    texts=ordered,
                    max_examples=self._max_examples,
                )
            )
        results = self._kb.search_many([i.texts[0][:2000] for i in items])
        for item, result in zip(items, results):
            if result.hits:
                top = result.hits[0]
                item.suggested_article_id = top.article_id
                item.suggested_title = top.title
                item.suggested_score = round(float(top.score), 4)
        items.sort(key=lambda i: (-i.count, -max(m.message_id for m in i.misses)))
        return items

    def item(self, item_id: str) -> UnansweredItem:
        """Raises UnansweredItemNotFound."""
        for item in self.inbox():
            if item.id == item_id:
                return item
        raise UnansweredItemNotFound(item_id)

    # -- acting ----------------------------------------------------------------------------

    def attach(
        self, item_id: str, article_id: int, *, actor: str, actor_name: str | None = None
    ) -> dict[str, Any]:
        """Add the item's phrasings as question variants of ``article_id``; close the item.

        They are searchable on return. Returns the article and the phrasings added.

        Raises:
            UnansweredItemNotFound; the knowledge base's ArticleNotFound / InvalidArticle.
        """
        item = self.item(item_id)
        article = self._kb.get_article(article_id)
        known = {q.strip().casefold() for q in article.questions}
        known.add(article.title.strip().casefold())
        added = []
        for text in item.texts:
            t = _question(text)
            if t and t.casefold() not in known:
                known.add(t.casefold())
                added.append(t)
        if added:
            article = self._kb.update_article(
                article_id,
                {"questions": [*article.questions, *added]},
                actor=actor,
                actor_name=actor_name,
                partial=True,
            )
        new = set(added)
        self._close(item, "attached", actor, article_id,
                    added={m.text for m in item.misses if _question(m.text) in new})
        return {"item_id": item.id, "article": article.to_dict(), "added": added}

    def draft(
        self,
        item_id: str,
        *,
        title: str,
        answer: str,
        slug: str,
        actor: str,
        actor_name: str | None = None,
        questions: list[str] | None = None,
    ) -> dict[str, Any]:
        """Create a draft article from the item's phrasings; close the item.

        The article's questions are the item's phrasings, or ``questions`` (e.g. the ones an
        admin kept).

        Raises:
            UnansweredItemNotFound; the knowledge base's InvalidArticle / ArticleConflict.
        """
        item = self.item(item_id)
        chosen = item.texts if questions is None else questions
        article = self._kb.create_article(
            {
                "slug": slug,
                "title": title,
                "answer": answer,
                "questions": list(dict.fromkeys(q for q in map(_question, chosen) if q)),
                "status": "draft",
            },
            actor=actor,
            actor_name=actor_name,
        )
        self._close(item, "drafted", actor, article.id)
        return {"item_id": item.id, "article": article.to_dict(), "added": article.questions}

    def dismiss(self, item_id: str, *, actor: str) -> dict[str, Any]:
        """Hide the item's misses for good. Raises UnansweredItemNotFound."""
        item = self.item(item_id)
        self._close(item, "dismissed", actor, None)
        return {"item_id": item.id, "dismissed": item.count}

    def undo(
        self, item_id: str, *, actor: str, actor_name: str | None = None
    ) -> dict[str, Any]:
        """Undo the attach or dismiss that closed ``item_id``.

        Its misses are open again and the phrasings an attach added leave the article
        (searchable as before on return).

        Raises:
            NothingToUndo: the item is not closed by an attach or dismiss (a drafted item is
            undone by deleting the draft article).
        """
        match = _ITEM_ID.match(item_id)
        message_id = int(match.group(1)) if match else None
        batch = self._handled.batch_of(message_id) if message_id is not None else None
        if batch is None or batch.action not in ("attached", "dismissed"):
            raise NothingToUndo(
                f"Nothing to undo for {item_id!r}: it was not attached or dismissed, or that "
                "was undone already. A drafted item comes back when you delete its draft "
                "article."
            )
        removed: list[str] = []
        article = None
        if batch.action == "attached" and batch.article_id is not None and batch.added:
            gone = {_question(t) for t in batch.added}
            try:
                current = self._kb.get_article(batch.article_id)
            except ArticleNotFound:
                current = None  # deleted since: nothing to take back
            if current is not None:
                removed = [q for q in current.questions if q in gone]
                article = current
                if removed:
                    article = self._kb.update_article(
                        batch.article_id,
                        {"questions": [q for q in current.questions if q not in gone]},
                        actor=actor,
                        actor_name=actor_name,
                        partial=True,
                    )
        reopened = self._handled.forget(batch)
        return {
            "item_id": item_id,
            "reopened": reopened,
            "removed": removed,
            "article": article.to_dict() if article is not None else None,
        }

    def _close(
        self,
        item: UnansweredItem,
        action: str,
        actor: str,
        article_id: int | None,
        added: set[str] | None = None,
    ) -> None:
        self._handled.record(
            [(m.message_id, m.text) for m in item.misses], action, actor, article_id, added or ()
        )

    # -- extraction ------------------------------------------------------------------------

    def _is_payload(self, text: str) -> bool:
        return text.startswith("/")

    def _handoff_miss(
        self, rows: list[TranscriptMessage], change: HandoffRecord, found: dict[int, Miss]
    ) -> None:
        question = None
        reply = None
        for m in rows:
            if m.created_at <= change.created_at:
                if m.sender == "user" and m.text.strip() and not self._is_payload(m.text):
                    question = m
            elif m.sender == "agent" and m.text.strip():
                reply = m.text
                break
        if question is not None and question.id in found:
            if reply and not found[question.id].agent_reply:
                found[question.id] = replace(found[question.id], agent_reply=reply)
        elif question is not None:
            found[question.id] = Miss(
                question.id, question.conversation_id, question.text.strip(),
                MissKind.LOW_CONFIDENCE, question.created_at, reply,
            )

    def _feedback_misses(self, rows: list[TranscriptMessage], found: dict[int, Miss]) -> None:
        question: TranscriptMessage | None = None
        offered_for: TranscriptMessage | None = None  # the question of an unanswered clarify offer

        def add(q: TranscriptMessage | None, kind: MissKind) -> None:
            if q is not None and q.id not in found:
                found[q.id] = Miss(q.id, q.conversation_id, q.text.strip(), kind, q.created_at)

        for m in rows:
            if m.sender == "bot" and self._none_of_these in _buttons_text(m.payload):
                offered_for = question
                continue
            if m.sender != "user":
                continue
            text = m.text.strip()
            if offered_for is not None:
                if not text.startswith(self._choose):
                    add(offered_for, MissKind.ABANDONED_CLARIFICATION)
                offered_for = None
            if text == self._not_helpful:
                add(question, MissKind.NOT_HELPFUL)
            elif text and not self._is_payload(text):
                question = m
        add(offered_for, MissKind.ABANDONED_CLARIFICATION)  # the user left at the offer


def _question(text: str) -> str:
    """A phrasing as it is stored as a question variant."""
    return text.strip()[:MAX_QUESTION_CHARS]


def _buttons_text(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    buttons = payload.get("buttons") or payload.get("quick_replies") or []
    return " ".join(str(b.get("payload", "")) for b in buttons if isinstance(b, dict))


def _normalized(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms == 0.0, 1.0, norms)


__all__ = [
    "HandledMissRow",
    "LearningBase",
    "LearningError",
    "LearningLoop",
    "Miss",
    "MissKind",
    "NothingToUndo",
    "UnansweredItem",
    "UnansweredItemNotFound",
]
