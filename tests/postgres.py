"""A throwaway PostgreSQL database for one test: created empty, dropped afterwards.

The server is ``TIER1_TEST_POSTGRES_URL`` (default: the local ``test`` database with trust
auth, which .ci/run starts); each use gets its own database on it, so tests and replicas
inside a test never see another test's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

URL_ENV = "TIER1_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    """The test server's URL (a database on it that exists, used to create the others)."""
    return os.environ.get(URL_ENV, DEFAULT_URL)


@contextmanager
def throwaway_database(
    prefix: str, unreachable: Callable[[str], NoReturn] = pytest.fail
) -> Iterator[Engine]:
    """An engine on a new, empty database named ``<prefix>_<random>``, dropped on exit.

    Args:
        prefix: names the database after the test module, for a human reading the server.
        unreachable: called with a message when the server cannot be reached
            (``pytest.fail`` by default; ``pytest.skip`` where PostgreSQL is optional).
    """
    url = make_url(server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001 - any failure here means no server to test against
        admin.dispose()
        unreachable(f"PostgreSQL is not reachable at {url!r} (set {URL_ENV}; .ci/run starts it): {e}")
    engine = create_engine(url.set(database=name), future=True)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


__all__ = ["DEFAULT_URL", "URL_ENV", "server_url", "throwaway_database"]
