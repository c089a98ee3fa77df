"""Drafts: changes to an article saved without publishing them.

A published article keeps answering while someone edits it. Saving the edit stores it as the
article's draft (``ArticleRow.draft``, JSON); the article's own columns, its indexed texts and
so the search stay as they are until the draft is published. A draft never reaches the index.

A draft remembers the content it started from (``base``). Publishing merges three ways, so a
change made to the live article meanwhile (a phrasing attached from the unanswered inbox, an
import) is not lost: a field only the draft changed takes the draft's value, a field only the
live article changed keeps the live value, and a list both changed (questions, tags) becomes
the live list without what the draft removed, plus what the draft added. A text field both
changed takes the draft's value: the editor's explicit choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

CONTENT_FIELDS = ("slug", "title", "answer", "url", "tags", "locale", "questions")
_LISTS = ("tags", "questions")


def content(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The editable content of an article snapshot (everything but its status)."""
    return {k: _copy(snapshot.get(k)) for k in CONTENT_FIELDS}


@dataclass(frozen=True)
class Draft:
    """Pending changes of one article.

    Attributes:
        fields: the content as the draft wants it (``CONTENT_FIELDS``).
        base: the live content when the draft was started.
        saved_at, saved_by, saved_by_name: the last save (actor id and the person's name).
    """

    fields: dict[str, Any]
    base: dict[str, Any]
    saved_at: datetime
    saved_by: str
    saved_by_name: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Draft | None:
        """The draft stored in ``ArticleRow.draft`` (None: the article has none)."""
        if not data:
            return None
        saved_at = datetime.fromisoformat(data["saved_at"])
        if saved_at.tzinfo is None:
            saved_at = saved_at.replace(tzinfo=timezone.utc)
        return cls(
            fields=content(data["fields"]),
            base=content(data["base"]),
            saved_at=saved_at,
            saved_by=data["saved_by"],
            saved_by_name=data.get("saved_by_name"),
        )

    @classmethod
    def saved(
        cls,
        fields: dict[str, Any],
        live: dict[str, Any],
        previous: Draft | None,
        *,
        actor: str,
        actor_name: str | None,
    ) -> Draft | None:
        """The draft after saving ``fields`` over ``previous`` (or over the live article).

        Returns None when ``fields`` equal the live content: there is nothing left to publish.
        """
        fields, live = content(fields), content(live)
        if fields == live:
            return None
        return cls(
            fields=fields,
            base=previous.base if previous is not None else live,
            saved_at=datetime.now(timezone.utc),
            saved_by=actor,
            saved_by_name=actor_name,
        )

    def to_json(self) -> dict[str, Any]:
        """What ``ArticleRow.draft`` stores."""
        return {
            "fields": self.fields,
            "base": self.base,
            "saved_at": self.saved_at.isoformat(),
            "saved_by": self.saved_by,
            "saved_by_name": self.saved_by_name,
        }

    def changed(self, live: dict[str, Any]) -> list[str]:
        """Fields whose published value would differ from ``live``'s."""
        merged, live = self.merged(live), content(live)
        return [k for k in CONTENT_FIELDS if merged[k] != live[k]]

    def live_changed(self, live: dict[str, Any]) -> list[str]:
        """Fields the live article changed since this draft was started."""
        live = content(live)
        return [k for k in CONTENT_FIELDS if live[k] != self.base[k]]

    def merged(self, live: dict[str, Any]) -> dict[str, Any]:
        """The content publishing this draft over ``live`` gives (see the module docstring)."""
        live = content(live)
        out = {}
        for k in CONTENT_FIELDS:
            mine, theirs, base = self.fields[k], live[k], self.base[k]
            if mine == base:
                out[k] = theirs
            elif theirs == base or k not in _LISTS:
                out[k] = mine
            else:
                removed = [x for x in base if x not in mine]
                kept = [x for x in theirs if x not in removed]
                out[k] = kept + [x for x in mine if x not in kept]
        return out

    def to_dict(self, live: dict[str, Any]) -> dict[str, Any]:
        """The draft as JSON-ready data, for the editor.

        The content publishing would give (the draft merged over ``live``), the fields it
        changes, and who saved it last.
        """
        return {
            **self.merged(live),
            "changed": self.changed(live),
            "live_changed": self.live_changed(live),
            "saved_at": self.saved_at.isoformat(),
            "saved_by": self.saved_by,
            "saved_by_name": self.saved_by_name,
        }


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


__all__ = ["CONTENT_FIELDS", "Draft", "content"]
