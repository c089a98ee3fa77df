"""Starts the real stack (`tier1 run`: app server, Rasa, action server) once per session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.chromium import chromium

ROOT = Path(__file__).resolve().parents[2]
TIER1 = str(Path(sys.executable).parent / "tier1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    url: str
    config: Path
    env: dict[str, str]
    log: Path

    def tier1(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([TIER1, "--config", str(self.config), *args], env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)

    def agent_token(self, email: str, password: str = "agent-password-1") -> str:
        created = self.tier1("agent", "create", "--email", email, "--password", password)
        assert created.returncode == 0, created.stderr
        r = httpx.post(f"{self.url}/api/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium (tests/chromium.py), one per test module."""
    (ROOT / "artifacts" / "screenshots").mkdir(parents=True, exist_ok=True)
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    from bot.training import ensure_model

    ensure_model(ROOT, ROOT / "models")  # cached by fingerprint; shared with the NLU tests
    work = tmp_path_factory.mktemp("stack")
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    port = free_port()
    config["server"].update(
        port=port, rasa_port=free_port(), action_port=free_port(),
        state_dir=str(work / "state"), models_dir=str(ROOT / "models"), startup_timeout_seconds=240,
    )
    config["database"] = {"url": f"sqlite:///{work / 'tier1.db'}"}
    config["knowledge_base"]["seed_file"] = str(ROOT / config["knowledge_base"]["seed_file"])
    cfg = work / "config.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, "TIER1_JWT_SECRET": "e2e-jwt-secret-0123456789abcdef",
           "TIER1_INTERNAL_TOKEN": "e2e-internal-token-0123456789", "TIER1_RASA_TOKEN": "e2e-rasa-token-0123456789"}
    log = work / "tier1-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([TIER1, "--config", str(cfg), "run"], cwd=work, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while "tier1 is up." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"tier1 run did not come up (exit {proc.poll()}):\n{log.read_text()[-6000:]}")
        time.sleep(1)
    yield Stack(url=url, config=cfg, env=env, log=log)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
