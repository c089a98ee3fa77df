"""tier1 agent create / reset-password against a real SQLite database."""

from __future__ import annotations

import pytest
import yaml

from tier1.cli import main

pytestmark = pytest.mark.unit


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("TIER1_JWT_SECRET", "j" * 32)
    monkeypatch.setenv("TIER1_INTERNAL_TOKEN", "i" * 32)
    monkeypatch.setenv("TIER1_RASA_TOKEN", "r" * 32)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({
        "server": {"state_dir": str(tmp_path / "state")},
        "database": {"url": f"sqlite:///{tmp_path / 'tier1.db'}"},
    }))
    return str(path)


def login(config: str, email: str, password: str) -> bool:
    from handoff.errors import AuthError
    from tier1.cli import _handoff, _settings

    try:
        _handoff(_settings(config)[0]).service.authenticate(email, password)
    except AuthError:
        return False
    return True


def test_reset_password_generates_or_sets_one_and_the_old_stops_working(config, capsys):
    assert main(["--config", config, "agent", "create", "--email", "boss@example.com",
                 "--password", "forgotten-password", "--role", "admin"]) == 0
    assert main(["--config", config, "agent", "reset-password", "--email",
                 "Boss@Example.com"]) == 0
    out = capsys.readouterr().out
    generated = out.rsplit(": ", 1)[1].strip()
    assert "shown once" in out and len(generated) >= 16
    assert login(config, "boss@example.com", generated)
    assert not login(config, "boss@example.com", "forgotten-password")

    assert main(["--config", config, "agent", "reset-password", "--email", "boss@example.com",
                 "--password", "chosen-password"]) == 0
    assert "chosen-password" not in capsys.readouterr().out
    assert login(config, "boss@example.com", "chosen-password")


def test_reset_password_names_what_is_wrong(config, capsys):
    assert main(["--config", config, "agent", "reset-password", "--email",
                 "nobody@example.com"]) == 1
    assert "No agent has the email 'nobody@example.com'" in capsys.readouterr().err
    main(["--config", config, "agent", "create", "--email", "a@example.com",
          "--password", "long-enough"])
    assert main(["--config", config, "agent", "reset-password", "--email", "a@example.com",
                 "--password", "short"]) == 1
    assert "too short" in capsys.readouterr().err
