"""Errors to HTTP, in one place: status table, exception handlers, OpenAPI documentation.

The packages' errors know nothing of HTTP; each has a message that says what was wrong and
what to do. `STATUS_BY_ERROR` gives each its status (looked up along the error's MRO, so a
subclass maps like its nearest listed ancestor; an error with no entry is a 500 and is
logged), and here they become ``{"detail": ..., "error": ...}`` JSON responses. The agent
socket's failed acks carry the same status (`status_for`, handed to the handoff wiring).
Starlette's own HTTP errors (404 for an unknown path, 405, 400 for a body that cannot be
parsed) get the same shape, so a client parses one error format.

The routers do not list their error responses one by one; `document_errors` adds them to
the OpenAPI schema by rule from what each operation is (auth, path parameters, body, method;
see `_codes_for`), so a new route is documented without anyone remembering to.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from handoff import errors as handoff_errors
from handoff.analytics import InvalidRange
from handoff.ratelimit import BodyTooLarge, RateLimited
from handoff.sessions import InvalidSession, NotYourConversation
from handoff.tickets import IllegalTicketTransition, TicketNotFound
from knowledge_base import errors as kb_errors
from tier1.admin.learning import LearningError, NothingToUndo, UnansweredItemNotFound

log = logging.getLogger("tier1.http_errors")

# The error hierarchies of the packages mounted in the app.
PACKAGE_ERRORS: tuple[type[Exception], ...] = (
    handoff_errors.HandoffError,
    kb_errors.KnowledgeBaseError,
    LearningError,
)

# Each package error's HTTP status. Read along the error's MRO (`status_for`): a subclass
# without its own entry maps like its nearest listed ancestor.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    # handoff
    handoff_errors.ConversationNotFound: 404,
    handoff_errors.IllegalTransition: 409,
    handoff_errors.AlreadyClaimed: 409,
    handoff_errors.NotAssignee: 403,
    handoff_errors.InvalidMessage: 422,
    handoff_errors.InvalidAgent: 422,
    handoff_errors.AuthError: 401,
    handoff_errors.Forbidden: 403,
    handoff_errors.RasaUnavailable: 503,
    handoff_errors.AgentExists: 409,
    handoff_errors.AgentNotFound: 404,
    handoff_errors.CannedResponseNotFound: 404,
    handoff_errors.CannedResponseExists: 409,
    handoff_errors.InvalidCannedResponse: 422,
    InvalidSession: 401,
    NotYourConversation: 403,
    RateLimited: 429,
    BodyTooLarge: 413,
    TicketNotFound: 404,
    IllegalTicketTransition: 409,
    InvalidRange: 422,
    # knowledge_base
    kb_errors.ArticleNotFound: 404,
    kb_errors.InvalidQuery: 422,
    kb_errors.KnowledgeFileError: 400,
    kb_errors.InvalidArticle: 422,
    kb_errors.ArticleConflict: 409,
    kb_errors.UnsupportedFormat: 415,
    kb_errors.EmbedderError: 503,
    kb_errors.VectorIndexError: 500,
    kb_errors.UnsupportedBackend: 500,
    kb_errors.NotReady: 503,
    kb_errors.StorageError: 503,
    # the learning loop (tier1.admin)
    UnansweredItemNotFound: 404,
    NothingToUndo: 409,
}

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail", "error"],
    "properties": {
        "detail": {"type": "string", "description": "what was wrong and what to do"},
        "error": {"type": "string", "description": "the error's name, e.g. ConversationNotFound"},
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_RULES: dict[int, str] = {
    400: "The body could not be parsed (malformed JSON or form data).",
    401: "Missing or invalid credentials.",
    403: "The credentials are valid but not allowed to do this.",
    404: "A resource named by the path or the body does not exist.",
    409: "The change conflicts with the current state (already claimed, duplicate, ...).",
    413: "The request body is larger than limits.max_body_bytes.",
    415: "The uploaded file's format is not supported.",
    422: "The request is not valid; the detail names the field.",
    429: "Too many requests from this IP, token or session; retry after Retry-After seconds.",
    503: "A component this needs (database, embedding model, Rasa) is unavailable; retry.",
}
_WRITES = frozenset({"post", "put", "patch", "delete"})
# Probes are never rate limited (tier1.limits.UNLIMITED_PATHS) and take no input.
_PROBES = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})


def mapped_status(error_class: type[BaseException]) -> int | None:
    """The status `STATUS_BY_ERROR` gives ``error_class`` or its nearest listed ancestor."""
    for cls in error_class.__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return None


def status_for(exc: BaseException) -> int:
    """The HTTP status of an error; one missing from `STATUS_BY_ERROR` is a 500, logged."""
    status = mapped_status(type(exc))
    if status is None:
        log.error(
            "%s has no HTTP status in tier1.http_errors.STATUS_BY_ERROR; answering 500",
            type(exc).__name__,
            exc_info=exc,
        )
        return 500
    return status


def headers_for(exc: BaseException, status: int) -> dict[str, str] | None:
    """Extra response headers: ``Retry-After`` for a rate limit, the auth scheme for a 401."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    return None


def error_response(exc: Exception) -> JSONResponse:
    """The response for a package error: its status, message, name and extra headers."""
    status = status_for(exc)
    return JSONResponse(
        {"detail": str(exc), "error": type(exc).__name__},
        status_code=status,
        headers=headers_for(exc, status),
    )


def _http_exception(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    try:
        name = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
    except ValueError:
        name = "HTTPError"
    return JSONResponse(
        {"detail": str(exc.detail), "error": name},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _token_urls(spec: dict[str, Any]) -> set[str]:
    """The login endpoints (OAuth2 password flows' tokenUrl): they answer 401 too."""
    schemes = spec.get("components", {}).get("securitySchemes", {}).values()
    return {
        "/" + flow["tokenUrl"].lstrip("/")
        for scheme in schemes
        for flow in scheme.get("flows", {}).values()
        if "tokenUrl" in flow
    }


def _codes_for(path: str, method: str, operation: dict[str, Any], logins: set[str]) -> set[int]:
    if path in _PROBES:
        return set()
    codes = {429, 503}
    params = {p.get("in") for p in operation.get("parameters", [])}
    body = operation.get("requestBody")
    if operation.get("security"):
        codes |= {401, 403}
    if path in logins:
        codes.add(401)
    if "path" in params or body is not None:
        codes.add(404)
    if params or body is not None or method in _WRITES:
        codes.add(422)
    if body is not None:
        codes |= {400, 413}
        if "multipart/form-data" in body.get("content", {}):
            codes.add(415)
    if method in _WRITES:
        codes.add(409)
    return codes


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses each operation can return to an OpenAPI dict (in place)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    logins = _token_urls(spec)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in sorted(_codes_for(path, method, operation, logins)):
                key = str(code)
                if key == "422" and key in responses:
                    # FastAPI's validation errors list the fields; a handler's 422 is an Error.
                    content = responses[key].setdefault("content", {})
                    media = content.setdefault("application/json", {})
                    current = media.get("schema")
                    media["schema"] = {"anyOf": [current, _ERROR_REF]} if current else _ERROR_REF
                    continue
                response: dict[str, Any] = {
                    "description": ERROR_RULES[code],
                    "content": {"application/json": {"schema": _ERROR_REF}},
                }
                if code == 429:
                    response["headers"] = {
                        "Retry-After": {
                            "description": "seconds to wait before retrying",
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    }
                responses.setdefault(key, response)
    return spec


def install(api: FastAPI) -> None:
    """Register the exception handlers on ``api`` (tier1.openapi documents the responses)."""
    for error in PACKAGE_ERRORS:
        api.add_exception_handler(error, lambda _r, e: error_response(e))
    api.add_exception_handler(StarletteHTTPException, _http_exception)


__all__ = [
    "ERROR_RULES",
    "PACKAGE_ERRORS",
    "STATUS_BY_ERROR",
    "document_errors",
    "error_response",
    "headers_for",
    "install",
    "mapped_status",
    "status_for",
]
