import configparser
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tier1.local_secrets import environment_with_secrets
from tier1.settings import SECRET_ENV
from tier1.supervisor import LogFollower, Program, Supervisor, SupervisorError, render_config

pytestmark = pytest.mark.unit


def test_config_has_each_program_with_restart_and_its_own_log(tmp_path):
    progs = [
        Program("actions", ["/bin/rasa", "run", "actions"], "http://x/health", 10, {"A": "1"}),
        Program("app", ["/bin/python", "-m", "uvicorn", "100%"], "http://y/health", 30),
    ]
    conf = configparser.RawConfigParser()
    conf.read_string(render_config(progs, tmp_path, tmp_path / "logs"))
    assert conf.get("program:actions", "autorestart") == "true"
    assert conf.get("program:actions", "stdout_logfile") == str(tmp_path / "logs" / "actions.log")
    assert conf.get("program:actions", "environment") == 'A="1"'
    # supervisord interpolates %, so a literal % must be doubled
    assert conf.get("program:app", "command").endswith("100%%")
    assert conf.getint("program:actions", "priority") < conf.getint("program:app", "priority")


def test_log_follower_prefixes_new_lines_with_the_program_name(tmp_path):
    a, b = tmp_path / "app.log", tmp_path / "rasa.log"
    a.write_text("old line\n")
    seen: list[str] = []
    follower = LogFollower({"app": a, "rasa": b}, seen.append)
    follower.start()
    try:
        time.sleep(0.4)
        with a.open("a") as fh:
            fh.write("hello\npart")
        b.write_text("ready\n")
        time.sleep(0.8)
        with a.open("a") as fh:
            fh.write("ial\n")
        time.sleep(0.8)
    finally:
        follower.stop()
        follower.join(2)
    assert "app  | hello" in seen
    assert "rasa | ready" in seen
    assert "app  | partial" in seen
    assert not any("old line" in s for s in seen)


def test_secrets_are_generated_once_and_reused(tmp_path):
    env1 = environment_with_secrets({}, tmp_path)
    env2 = environment_with_secrets({}, tmp_path)
    for name in SECRET_ENV.values():
        assert len(env1[name]) >= 32
        assert env1[name] == env2[name]
    assert (tmp_path / "secrets.env").stat().st_mode & 0o777 == 0o600
    exported = environment_with_secrets({"TIER1_JWT_SECRET": "x" * 40}, tmp_path)
    assert exported["TIER1_JWT_SECRET"] == "x" * 40


class _FakeProc:
    def __init__(self, rounds: int):
        self.rounds = rounds
        self.returncode = 0

    def poll(self):
        self.rounds -= 1
        return None if self.rounds >= 0 else 0


def _watched(monkeypatch, tmp_path, starting: bool, rounds: int = 4) -> list[str]:
    import tier1.supervisor as mod

    sup = mod.Supervisor([Program("rasa", ["x"], "http://127.0.0.1:9/", 20)], tmp_path, {},
                         write=lambda _line: None)
    sup._proc = _FakeProc(rounds)
    restarted: list[str] = []
    monkeypatch.setattr(mod, "healthy", lambda _url, timeout=3.0: False)
    monkeypatch.setattr(sup, "_starting", lambda _name, _grace: starting)
    monkeypatch.setattr(sup, "restart", restarted.append)
    monkeypatch.setattr(mod.time, "sleep", lambda _s: None)
    sup.watch(interval=0, failures_before_restart=3)
    return restarted


def test_a_hung_child_is_restarted_after_repeated_failed_health_checks(monkeypatch, tmp_path):
    assert _watched(monkeypatch, tmp_path, starting=False) == ["rasa"]


def test_a_child_still_starting_is_not_restarted(monkeypatch, tmp_path):
    assert _watched(monkeypatch, tmp_path, starting=True) == []


class _Probes(BaseHTTPRequestHandler):
    """/live always 200; /ready 503 until the server's ``ready`` event is set."""

    def do_GET(self) -> None:
        ok = self.path == "/live" or self.server.ready.is_set()
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


def _probe_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Probes)
    server.ready = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_start_up_waits_for_readiness_not_just_liveness(tmp_path):
    server, url = _probe_server()
    lines: list[str] = []
    sup = Supervisor([Program("app", ["x"], f"{url}/live", 30, ready_url=f"{url}/ready")],
                     tmp_path, {}, write=lines.append)
    threading.Timer(1.0, server.ready.set).start()
    try:
        started = time.monotonic()
        sup.wait_healthy(timeout=10)
        assert time.monotonic() - started >= 1.0
        assert lines == [f"tier1 | app is up ({url}/ready)"]
        server.ready.clear()
        with pytest.raises(SupervisorError, match=f"{url}/ready"):
            sup.wait_healthy(timeout=0.6)
    finally:
        server.shutdown()
        server.server_close()


def test_another_program_on_a_childs_port_is_an_error_not_a_healthy_child(tmp_path):
    """Rasa failing with "address already in use" while another program answers its health
    check on that port: start-up stops, naming the port and who holds it (issue 15)."""
    import os
    import sys

    server, url = _probe_server()  # the other program, answering 200 on /live
    server.ready.set()
    port = server.server_address[1]
    # The child tries to listen on the same port and fails; supervisord keeps restarting it.
    code = f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); time.sleep(60)"
    child = [sys.executable, "-c", code]
    sup = Supervisor([Program("rasa", child, f"{url}/live", 20, port=port)], tmp_path,
                     dict(os.environ), write=lambda _line: None, verbose=False)
    try:
        sup.start()
        with pytest.raises(SupervisorError) as e:
            sup.wait_healthy(timeout=30)
        assert f"port {port}" in str(e.value) and f"pid {os.getpid()}" in str(e.value)
    finally:
        sup.stop()
        server.shutdown()
        server.server_close()


def test_quiet_mode_keeps_supervisords_own_lines_off_the_terminal(tmp_path):
    progs = [Program("app", ["/bin/true"], "http://x/health", 30)]
    conf = configparser.RawConfigParser()
    conf.read_string(render_config(progs, tmp_path, tmp_path / "logs", silent=True))
    assert conf.get("supervisord", "silent") == "true"
    conf.read_string(render_config(progs, tmp_path, tmp_path / "logs"))
    assert conf.get("supervisord", "silent") == "false"
