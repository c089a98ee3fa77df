"""Errors to HTTP in one place (tier1.http_errors) and the schema that documents them (tier1.openapi)."""

from __future__ import annotations

from typing import Optional

import pytest
from fastapi import Depends, FastAPI
from fastapi.security import OAuth2PasswordBearer
from fastapi.testclient import TestClient
from pydantic import BaseModel

from handoff.errors import AuthError, ConversationNotFound
from knowledge_base.errors import StorageError
from tier1 import http_errors, openapi

pytestmark = pytest.mark.unit


class Inner(BaseModel):
    note: Optional[str] = None  # noqa: UP045 - pydantic 1 on Python 3.10 needs Optional here


class Thing(BaseModel):
    id: int
    size: int = 1  # has a default but is never null
    owner: Optional[int] = None  # noqa: UP045
    inner: Inner = Inner()


def make_app() -> FastAPI:
    api = FastAPI()
    http_errors.install(api)
    openapi.install(api)
    oauth2 = OAuth2PasswordBearer(tokenUrl="/login", auto_error=False)

    @api.post("/login")
    def login() -> dict:
        raise AuthError()

    @api.get("/things/{thing_id}", response_model=Thing)
    def get_thing(thing_id: int, _token: str | None = Depends(oauth2)) -> Thing:
        if thing_id == 1:
            raise ConversationNotFound()
        if thing_id == 2:
            raise StorageError("the database is locked; retry")
        return Thing(id=thing_id)

    @api.put("/things/{thing_id}", response_model=Thing)
    def put_thing(thing_id: int, body: Thing) -> Thing:
        return body

    @api.get("/health")
    def health() -> dict:
        return {}

    return api


def test_package_and_starlette_errors_share_one_shape():
    client = TestClient(make_app())
    r = client.get("/things/1")
    assert r.status_code == 404 and r.json()["error"] == "ConversationNotFound"
    assert "list conversations" in r.json()["detail"]
    r = client.get("/things/2")
    assert (r.status_code, r.json()["error"]) == (503, "StorageError")
    r = client.post("/login")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.get("/no/such/path")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found", "error": "NotFound"}
    r = client.delete("/things/3")
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"


def test_error_responses_are_documented_by_what_each_operation_is():
    spec = make_app().openapi()
    codes = {
        (m.upper(), p): sorted(int(c) for c in op["responses"])
        for p, ops in spec["paths"].items() for m, op in ops.items()
    }
    # The OAuth2 tokenUrl answers 401 without being guarded; no body: no 400/404/413.
    assert codes[("POST", "/login")] == [200, 401, 409, 422, 429, 503]
    assert codes[("GET", "/things/{thing_id}")] == [200, 401, 403, 404, 422, 429, 503]
    assert codes[("PUT", "/things/{thing_id}")] == [200, 400, 404, 409, 413, 422, 429, 503]
    assert codes[("GET", "/health")] == [200]  # a probe: never limited, takes nothing
    error = spec["paths"]["/things/{thing_id}"]["get"]["responses"]["404"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    limited = spec["paths"]["/things/{thing_id}"]["get"]["responses"]["429"]
    assert "Retry-After" in limited["headers"]
    # FastAPI's field-by-field 422 stays, and a handler's own 422 (an Error) is allowed too.
    invalid = spec["paths"]["/things/{thing_id}"]["put"]["responses"]["422"]
    assert {"$ref": "#/components/schemas/Error"} in (
        invalid["content"]["application/json"]["schema"]["anyOf"])


def test_exactly_the_optional_fields_are_nullable():
    schemas = make_app().openapi()["components"]["schemas"]
    thing, inner = schemas["Thing"]["properties"], schemas["Inner"]["properties"]
    assert {"type": "null"} in thing["owner"]["anyOf"]
    assert {"type": "null"} in inner["note"]["anyOf"]  # nested models too
    assert thing["id"]["type"] == "integer" and thing["size"]["type"] == "integer"


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_package_error_has_its_own_status():
    # The modules that define the errors the app can raise on a request.
    import handoff.analytics
    import handoff.rasa_client
    import handoff.ratelimit
    import handoff.sessions
    import handoff.tickets  # noqa: F401
    import knowledge_base.tuning  # noqa: F401
    import tier1.admin.learning  # noqa: F401

    errors = set().union(*(_subclasses(base) for base in http_errors.PACKAGE_ERRORS))
    served = {e for e in errors if e.__module__.split(".")[1:2] != ["evaluation"]}
    unmapped = sorted(e.__name__ for e in served if http_errors.mapped_status(e) is None)
    # Not raised while serving a request: the offline fine-tuning command's own.
    assert unmapped == ["TuningError"]
    assert all(400 <= s <= 599 for s in http_errors.STATUS_BY_ERROR.values())
    assert not any(hasattr(e, "http_status") for e in errors)  # HTTP lives here, not there


def test_a_subclass_maps_like_its_nearest_listed_ancestor():
    class Stale(ConversationNotFound):
        pass

    assert http_errors.status_for(Stale()) == 404


def test_an_unmapped_package_error_is_a_logged_500(caplog):
    class Surprise(StorageError.__mro__[1]):  # straight off KnowledgeBaseError
        pass

    response = http_errors.error_response(Surprise("boom"))
    assert response.status_code == 500
    assert "Surprise has no HTTP status" in caplog.text


def test_a_rate_limit_says_when_to_retry():
    from handoff.ratelimit import RateLimited

    response = http_errors.error_response(RateLimited("IP", 2.2))
    assert (response.status_code, response.headers["retry-after"]) == (429, "3")
