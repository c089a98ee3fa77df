"""The action server's view of the app server's internal HTTP API (KB search, handoff)."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, ValidationError, root_validator

from bot.actions.errors import AppUnavailable


class _Response(BaseModel):
    class Config:
        # The app may add fields; the actions only rely on these.
        extra = "ignore"
        allow_mutation = False


class KbHit(_Response):
    """One ranked article from `POST /api/kb/search`."""

    article_id: int
    title: str
    answer: str
    score: float
    slug: str | None = None
    url: str | None = None
    matched_question: str | None = None


class SearchResult(_Response):
    """The KB service's ranked hits and its answer-or-handoff decision."""

    decision: Literal["answer", "clarify", "handoff"]
    hits: list[KbHit] = []


class Article(_Response):
    """One article from `GET /api/kb/articles/{article_id}`."""

    article_id: int
    title: str
    answer: str
    slug: str | None = None
    url: str | None = None

    @root_validator(pre=True)
    def _accept_id(cls, values: dict[str, Any]) -> dict[str, Any]:
        if "article_id" not in values and "id" in values:
            values = {**values, "article_id": values["id"]}
        return values


class HandoffResult(_Response):
    """The reply to `POST /api/internal/handoff`.

    ``status`` is the conversation's status; ``offline`` means no person can take the chat now
    (the app has told the user and takes an offline message instead).
    """

    status: str
    offline: bool = False


class AppClient:
    """Calls the app server with the internal token; every failure becomes `AppUnavailable`.

    Args:
        http: the shared HTTP client (injectable so tests can use an `httpx.MockTransport`).
        app_url: the app server's base URL, e.g. ``http://127.0.0.1:8000``.
        token: the internal token sent as ``Authorization: Bearer``.
        timeout: seconds allowed for each call, connection included.
    """

    def __init__(self, http: httpx.AsyncClient, app_url: str, token: str, timeout: float) -> None:
        self._http = http
        self._base = app_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout

    async def _call(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        url = self._base + path
        try:
            response = await self._http.request(
                method, url, json=json, headers=self._headers, timeout=self._timeout
            )
        except httpx.TimeoutException as e:
            raise AppUnavailable(f"{method} {url} timed out after {self._timeout:g} s") from e
        except httpx.HTTPError as e:
            raise AppUnavailable(f"{method} {url} failed: {e!r}; is the app server running?") from e
        if not response.is_success:
            raise AppUnavailable(
                f"{method} {url} answered HTTP {response.status_code}: {response.text[:200]}",
                status_code=response.status_code,
            )
        try:
            return response.json()
        except ValueError as e:
            raise AppUnavailable(f"{method} {url} answered with something that is not JSON") from e

    async def search(self, text: str) -> SearchResult:
        """Ask the KB service for ranked hits and its decision for `text`."""
        data = await self._call("POST", "/api/kb/search", {"text": text})
        try:
            return SearchResult.parse_obj(data)
        except ValidationError as e:
            raise AppUnavailable(f"POST /api/kb/search answered an unexpected shape: {e}") from e

    async def article(self, article_id: int) -> Article:
        """Fetch one published article by id."""
        data = await self._call("GET", f"/api/kb/articles/{article_id}")
        try:
            return Article.parse_obj(data)
        except ValidationError as e:
            raise AppUnavailable(
                f"GET /api/kb/articles/{article_id} answered an unexpected shape: {e}"
            ) from e

    async def request_handoff(
        self, conversation_id: str, reason: str, context: dict[str, Any]
    ) -> HandoffResult:
        """Queue the conversation for a human agent, with the bot's context."""
        data = await self._call(
            "POST",
            "/api/internal/handoff",
            {"conversation_id": conversation_id, "reason": reason, "context": context},
        )
        try:
            return HandoffResult.parse_obj(data)
        except ValidationError as e:
            raise AppUnavailable(f"POST /api/internal/handoff answered an unexpected shape: {e}") from e
