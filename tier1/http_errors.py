"""Errors to HTTP, in one place: the exception handlers and their OpenAPI documentation.

Every package error carries the status it maps to (``http_status``) and a message that says
what was wrong and what to do; here they become ``{"detail": ..., "error": ...}`` JSON
responses. Starlette's own HTTP errors (404 for an unknown path, 405, 400 for a body that
cannot be parsed) get the same shape, so a client parses one error format.

The routers do not list their error responses one by one; `document_errors` adds them to
the OpenAPI schema by rule from what each operation is (auth, path parameters, body, method;
see `_codes_for`), so a new route is documented without anyone remembering to.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from handoff.errors import HandoffError
from knowledge_base.errors import KnowledgeBaseError
from tier1.admin.learning import LearningError

# The error hierarchies of the packages mounted in the app.
PACKAGE_ERRORS: tuple[type[Exception], ...] = (HandoffError, KnowledgeBaseError, LearningError)

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


def error_response(exc: Exception) -> JSONResponse:
    """The response for a package error: its status, message, name and extra headers."""
    status = getattr(exc, "http_status", 500)
    headers = getattr(exc, "headers", None)
    if status == 401 and not headers:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(
        {"detail": str(exc), "error": type(exc).__name__}, status_code=status, headers=headers
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


__all__ = ["ERROR_RULES", "PACKAGE_ERRORS", "document_errors", "error_response", "install"]
