"""``ArticleEditing``: articles one at a time, as the admin API edits them, drafts included.

A mixin of ``KnowledgeBase`` (the service), kept apart so the service module stays about
indexing and search. It relies on the service's ``_store``, ``_writer``, ``_live``,
``_upsert``, ``_require_started`` and ``embedder``.

Two kinds of write:

- *live* writes (``create_article``, ``update_article``, ``delete_article``): in SQL and the
  index when the call returns, each recorded as a revision;
- *draft* writes (``save_draft``, ``discard_draft``): kept beside the article and never
  indexed, until ``publish`` makes the draft the live version (one revision, ``published``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from knowledge_base.article_rows import snapshot, spec_snapshot
from knowledge_base.drafts import Draft, content
from knowledge_base.errors import InvalidArticle
from knowledge_base.knowledge_file import ArticleSpec, validate_article
from knowledge_base.records import Article, ArticleStatus, Revision

if TYPE_CHECKING:
    import threading

    from knowledge_base.embedder import Embedder
    from knowledge_base.live_index import LiveIndex
    from knowledge_base.store import ArticleStore, UpsertResult

_FIELDS = ("slug", "title", "answer", "url", "tags", "locale", "status", "questions")


class ArticleEditing:
    """Create, change, delete, draft and publish single articles; read them and their history."""

    if TYPE_CHECKING:  # provided by KnowledgeBase
        _store: ArticleStore
        _writer: threading.RLock
        _live: LiveIndex
        embedder: Embedder

        def _require_started(self) -> None: ...

        def _upsert(self, specs, progress: bool, **options: Any) -> tuple[UpsertResult, int]: ...

    def create_article(
        self, data: dict[str, Any], *, actor: str, actor_name: str | None = None
    ) -> Article:
        """Create one article from knowledge-file fields.

        If published, it is searchable when this returns.

        Raises:
            InvalidArticle: a field is invalid. ArticleConflict: the slug exists.
        """
        self._require_started()
        spec = valid_article(data)
        with self._writer:
            result, _ = self._upsert(
                [spec], False, actor=actor, actor_name=actor_name, create_only=True
            )
            self._live.apply(result, self._store, self.embedder)
        return self._store.article(result.articles[0])

    def update_article(
        self,
        article_id: int,
        data: dict[str, Any],
        *,
        actor: str,
        actor_name: str | None = None,
        partial: bool = False,
    ) -> Article:
        """Replace an article's fields (``partial``: only those given) in its live version.

        The change is searchable when this returns and its previous version is kept as a
        revision. A draft, if any, stays and is merged over the new live version when published.

        Raises:
            ArticleNotFound, InvalidArticle, ArticleConflict (the new slug is taken).
        """
        self._require_started()
        with self._writer:
            if partial:
                current = self._store.article(article_id).to_dict()
                data = {k: current[k] for k in _FIELDS if current[k] is not None} | data
            spec = valid_article(data)
            result, _ = self._upsert(
                [spec], False, actor=actor, actor_name=actor_name, article_id=article_id
            )
            if result.version is not None:
                self._live.apply(result, self._store, self.embedder)
        return self._store.article(article_id)

    def delete_article(
        self, article_id: int, *, actor: str, actor_name: str | None = None
    ) -> None:
        """Delete an article (and its draft); it leaves search results when this returns.

        Raises:
            ArticleNotFound.
        """
        self._require_started()
        with self._writer:
            self._live.apply(
                self._store.delete(article_id, actor=actor, actor_name=actor_name),
                self._store,
                self.embedder,
            )

    def save_draft(
        self,
        article_id: int,
        data: dict[str, Any],
        *,
        actor: str,
        actor_name: str | None = None,
    ) -> Article:
        """Keep ``data`` as the article's draft.

        ``data`` is the article's whole content: knowledge-file fields without status. The
        live version, its search results and the version counter do not change. Content equal
        to the live version removes the draft.

        Raises:
            ArticleNotFound; InvalidArticle (checked as if published now); ArticleConflict
            (the draft's slug belongs to another article).
        """
        self._require_started()
        fields = {k: v for k, v in data.items() if k != "status"}

        def make(row) -> dict[str, Any] | None:
            live = snapshot(row)
            spec = valid_article({**content(live), **fields, "status": live["status"]})
            draft = Draft.saved(
                content(spec_snapshot(spec)),
                live,
                Draft.from_json(row.draft),
                actor=actor,
                actor_name=actor_name,
            )
            return draft.to_json() if draft is not None else None

        with self._writer:
            return self._store.write_draft(article_id, make)

    def discard_draft(self, article_id: int) -> Article:
        """Throw the article's draft away; the live version is untouched.

        Raises:
            ArticleNotFound.
        """
        self._require_started()
        with self._writer:
            return self._store.write_draft(article_id, lambda _row: None)

    def publish(self, article_id: int, *, actor: str, actor_name: str | None = None) -> Article:
        """Make the article live, with its draft if it has one.

        Its draft (merged over the live version, see ``knowledge_base.drafts``) becomes its
        content and its status ``published``; the change is searchable when this returns and
        recorded as a ``published`` revision. Publishing a published article without a draft
        changes nothing.

        Raises:
            ArticleNotFound, InvalidArticle, ArticleConflict (the draft's slug was taken since).
        """
        self._require_started()
        with self._writer:
            article = self._store.article(article_id)
            live = article.content()
            fields = article.draft.merged(live) if article.draft is not None else live
            spec = valid_article({**fields, "status": ArticleStatus.PUBLISHED.value})
            result, _ = self._upsert(
                [spec],
                False,
                actor=actor,
                actor_name=actor_name,
                article_id=article_id,
                publish=True,
            )
            if result.version is not None:
                self._live.apply(result, self._store, self.embedder)
        return self._store.article(article_id)

    def list_articles(self, **filters: Any) -> tuple[list[Article], int]:
        """A page of articles and the total matching; see ``ArticleStore.list_articles``."""
        self._require_started()
        return self._store.list_articles(**filters)

    def article_revisions(self, article_id: int) -> list[Revision]:
        """Recorded changes of an article, newest first (kept after deletion)."""
        self._require_started()
        return self._store.revisions(article_id)

    def get_article(self, article_id: int) -> Article:
        """The article with its draft, if any. Raises ArticleNotFound."""
        self._require_started()
        return self._store.article(article_id)


def valid_article(data: dict[str, Any]) -> ArticleSpec:
    """The spec of an article given as knowledge-file fields. Raises InvalidArticle."""
    problems = []
    spec = validate_article(data, 1, problems)
    if spec is None:
        raise InvalidArticle(problems)
    return spec


__all__ = ["ArticleEditing", "valid_article"]
