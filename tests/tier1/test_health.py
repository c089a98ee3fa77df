"""The app's health probes: liveness, readiness (503 until every component is up), /health.

The whole app (`tier1.app.create_app`) in-process; Rasa and the action server are real local
HTTP servers started on their configured ports part-way through a test.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from tests.full_app import build_app
from tier1.app import VERSION

pytestmark = pytest.mark.unit


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def serving(port: int) -> Iterator[None]:
    """A real HTTP server answering 200 to every GET on ``port`` (Rasa's /, actions' /health)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports that nothing listens on."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = s.getsockname()[1]
        try:
            for port in range(first + 1, first + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first


@pytest.fixture
def ports() -> dict[str, int]:
    return {"rasa_port": free_ports(2), "action_port": free_ports(1)}


def app_client(tmp_path, ports: dict[str, int], **server) -> TestClient:
    app = build_app(tmp_path, server={"state_dir": str(tmp_path / "state"), **ports, **server})
    return TestClient(app)


def test_ready_is_503_with_the_components_until_rasa_and_the_action_server_are_up(
    tmp_path, ports
):
    with app_client(tmp_path, ports) as client:
        r = client.get("/health/ready")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "degraded" and body["version"] == VERSION
        components = body["components"]
        assert {k: v["ok"] for k, v in components.items()} == {
            "app": True, "database": True, "knowledge_base": True, "rasa": False,
            "action_server": False,
        }
        assert "ConnectError" in components["rasa"]["detail"]
        assert components["knowledge_base"]["articles"] > 0  # the same details as /health

        with serving(ports["rasa_port"]):
            assert client.get("/health/ready").status_code == 503  # the action server is down
            with serving(ports["action_port"]):
                r = client.get("/health/ready")
                assert r.status_code == 200, r.text
                assert r.json()["status"] == "ok"
                assert r.json()["components"]["rasa"] == {"ok": True, "status_code": 200}
        assert client.get("/health/ready").status_code == 503  # down again


def test_ready_needs_every_rasa_server(tmp_path, ports):
    with (app_client(tmp_path, ports, rasa_processes=2) as client,
          serving(ports["rasa_port"]), serving(ports["action_port"])):
        r = client.get("/health/ready")
        assert r.status_code == 503
        rasa = r.json()["components"]["rasa"]
        assert rasa["ok"] is False
        assert [s["ok"] for s in rasa["servers"]] == [True, False]
        with serving(ports["rasa_port"] + 1):
            assert client.get("/health/ready").status_code == 200


def test_live_checks_nothing_and_health_stays_200_when_degraded(tmp_path, ports):
    with app_client(tmp_path, ports) as client:
        r = client.get("/health/live")
        assert r.status_code == 200 and r.json() == {"status": "ok", "version": VERSION}
        r = client.get("/health")  # unchanged for existing monitoring: 200, status degraded
        assert r.status_code == 200 and r.json()["status"] == "degraded"
        assert set(r.json()["components"]) == {
            "app", "database", "knowledge_base", "rasa", "action_server"}


def test_probes_are_documented_under_ops_and_never_rate_limited(tmp_path, ports):
    tight = {"per_ip": {"per_minute": 1, "burst": 1}, "per_token": {"per_minute": 1, "burst": 1}}
    app = build_app(tmp_path, server={"state_dir": str(tmp_path / "state"), **ports},
                    limits=tight)
    with TestClient(app) as client:
        for _ in range(4):
            assert client.get("/health/live").status_code == 200
            assert client.get("/health/ready").status_code == 503
        assert client.get("/api/widget/config").status_code == 200
        assert client.get("/api/widget/config").status_code == 429  # the limit is on
    paths = app.fastapi.openapi()["paths"]
    for path in ("/health", "/health/live", "/health/ready"):
        op = paths[path]["get"]
        assert op["tags"] == ["ops"] and op["summary"], path
    assert sorted(paths["/health/live"]["get"]["responses"]) == ["200"]
    ready = paths["/health/ready"]["get"]["responses"]
    assert sorted(ready) == ["200", "503"]
    assert ready["503"]["content"]["application/json"]["schema"] == ready["200"]["content"][
        "application/json"]["schema"]
