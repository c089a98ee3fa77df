"""Layered fixtures for the handoff tests: engine -> store/handoff -> agents -> HTTP client."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# pytest's default "prepend" import mode puts tests/ on sys.path, where tests/handoff/ would
# be picked up as a namespace package named `handoff` and hide the real package (it is only
# reachable through the editable install's finder, which runs after the path finder). With
# the repository root on the path the regular package wins. The suite-wide fix is
# `pythonpath = ["."]` in pyproject's [tool.pytest.ini_options].
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
# A test module collected earlier (tier1.settings imports handoff.settings) may already have
# cached that namespace stand-in; drop it so the next import finds the real package.
if getattr(sys.modules.get("handoff"), "__file__", "") is None:
    del sys.modules["handoff"]

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from handoff import Handoff, HandoffError, HandoffSettings, InMemoryRasa
from handoff.events import Event
from handoff.store import ConversationStore
from tests import live_handoff
from tier1 import http_errors

JWT_SECRET = "test-jwt-secret-0123456789abcdef"
INTERNAL_TOKEN = "test-internal-token-0123456789"
PASSWORD = "correct horse battery"


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}", future=True, connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=OFF")  # tests need no durability; fsyncs dominate
        cur.close()

    return engine


@pytest.fixture(scope="session")
def sqlite_engine():
    """``sqlite_engine(path)``: a file SQLite engine set up like production's (WAL, busy
    timeout, foreign keys), as tier1.database creates it."""
    return _sqlite_engine


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings() -> HandoffSettings:
    return HandoffSettings(max_message_chars=200)


@pytest.fixture(scope="session")
def schema_file(tmp_path_factory) -> Path:
    """An empty database with the handoff tables, built once and copied per test."""
    path = tmp_path_factory.mktemp("schema") / "handoff.db"
    engine = _sqlite_engine(path)
    ConversationStore(engine).create_tables()
    engine.dispose()  # checkpoints the WAL into the file
    return path


@pytest.fixture
def engine(tmp_path: Path, schema_file: Path) -> Engine:
    path = tmp_path / "handoff.db"
    shutil.copyfile(schema_file, path)
    engine = _sqlite_engine(path)
    yield engine
    engine.dispose()


@pytest.fixture
def rasa() -> InMemoryRasa:
    return InMemoryRasa()


def started_handoff(
    settings: HandoffSettings, engine: Engine, rasa: InMemoryRasa, **extra
) -> Handoff:
    """The module as the app builds it, with test secrets and cheap hashing, started.
    ``extra`` goes to `build_handoff` (e.g. ``clock=``)."""
    return live_handoff.started_handoff(
        settings, engine, rasa, internal_token=INTERNAL_TOKEN, jwt_secret=JWT_SECRET, **extra
    )


@pytest.fixture
def handoff_factory():
    """`started_handoff`, for test modules that build the module with other settings."""
    return started_handoff


@pytest.fixture
def handoff(settings: HandoffSettings, engine: Engine, rasa: InMemoryRasa) -> Handoff:
    return started_handoff(settings, engine, rasa)


@pytest.fixture
def service(handoff: Handoff):
    return handoff.service


@pytest.fixture
def desk(handoff: Handoff):
    return handoff.desk


@pytest.fixture
def published(handoff: Handoff) -> list[Event]:
    """Every event the handoff's bus publishes, in order."""
    seen: list[Event] = []
    handoff.bus.subscribe("*", seen.append)
    return seen


@pytest.fixture
def agent(handoff: Handoff):
    return handoff.create_agent("ana@example.com", PASSWORD, display_name="Ana")


@pytest.fixture
def other_agent(handoff: Handoff):
    return handoff.create_agent("bo@example.com", PASSWORD, display_name="Bo")


@pytest.fixture
def admin(handoff: Handoff):
    return handoff.create_agent("root@example.com", PASSWORD, role="admin", display_name="Root")


def handoff_error_handler(_request: Request, exc: HandoffError) -> JSONResponse:
    """What the composition root does: map errors to status (and headers) in one place."""
    status = http_errors.status_for(exc)
    return JSONResponse(
        {"detail": str(exc)}, status_code=status, headers=http_errors.headers_for(exc, status)
    )


@pytest.fixture
def app(handoff: Handoff) -> FastAPI:
    """A minimal composition root: the handoff router plus the one error mapping."""
    app = FastAPI()
    app.include_router(handoff.router)
    app.add_exception_handler(HandoffError, handoff_error_handler)
    return app


@pytest.fixture
def client(app: FastAPI):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def auth_headers(client: TestClient):
    """``auth_headers(email)`` logs in with the shared test password; returns the header dict."""

    def login(email: str) -> dict[str, str]:
        r = client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return login
