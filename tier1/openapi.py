"""The app's OpenAPI document as served at /openapi.json: true to what the app sends.

FastAPI's generated schema needs two corrections to describe the real responses:

- error responses: routers do not list them; `tier1.http_errors.document_errors` adds them
  by rule, next to the handlers that produce them;
- nullable fields: pydantic 1 writes an ``Optional[int]`` field as ``{"type": "integer"}``
  although the API sends ``null`` for it; each such property is marked nullable here, from
  the pydantic models the routes actually use (so a field that is never null stays strict).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import ModelField

from tier1.http_errors import document_errors

_NULL = {"type": "null"}


def route_models(api: FastAPI) -> set[type[BaseModel]]:
    """Every pydantic model a route reads or returns, nested models included."""
    found: set[type[BaseModel]] = set()
    pending: list[Any] = []
    for route in api.routes:
        if isinstance(route, APIRoute):
            pending += [route.response_field, route.body_field, *route.dependant.body_params]
    while pending:
        item = pending.pop()
        if isinstance(item, ModelField):
            pending += [item.type_, *(item.sub_fields or [])]
        elif isinstance(item, type) and issubclass(item, BaseModel) and item not in found:
            found.add(item)
            pending += list(item.__fields__.values())
    return found


def _component_names(model: type[BaseModel]) -> tuple[str, ...]:
    # FastAPI names a component by the class name, or by its full path when two collide.
    long = f"{model.__module__}__{model.__qualname__}".replace(".", "__")
    return (model.__name__, long)


def mark_nullable(spec: dict[str, Any], models: set[type[BaseModel]]) -> dict[str, Any]:
    """Let every ``Optional`` field of ``models`` be ``null`` in the schema (in place)."""
    schemas = spec.get("components", {}).get("schemas", {})
    for model in models:
        component = next((schemas[n] for n in _component_names(model) if n in schemas), None)
        if component is None:
            continue
        properties = component.get("properties", {})
        for field in model.__fields__.values():
            prop = properties.get(field.alias)
            if not field.allow_none or prop is None or _NULL in prop.get("anyOf", []):
                continue
            properties[field.alias] = {"anyOf": [prop, _NULL]}
    return spec


def install(api: FastAPI) -> None:
    """Serve the corrected document (built once, on the first request for it)."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            spec = document_errors(generate())
            api.openapi_schema = mark_nullable(spec, route_models(api))
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


__all__ = ["install", "mark_nullable", "route_models"]
