"""What `tier1 run` starts: one program per Rasa process, the patched launcher, shared metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.metrics import MULTIPROC_ENV
from tier1.settings import settings_from_dict
from tier1.stack import TRACKER_STORE_TYPE, programs

pytestmark = [pytest.mark.unit]

SECRETS = {"jwt_secret": "j" * 32, "internal_token": "i" * 32, "rasa_token": "r" * 32}


def test_each_rasa_process_is_a_supervised_program_on_its_own_port(tmp_path):
    settings = settings_from_dict(
        {"server": {"state_dir": str(tmp_path / "state"), "rasa_port": 6100,
                    "rasa_processes": 2}}, SECRETS)
    (tmp_path / "state" / "metrics").mkdir(parents=True)
    (tmp_path / "state" / "metrics" / "histogram_999.db").write_bytes(b"old")
    progs = programs(settings, Path("/models/m.tar.gz"), tmp_path / "config.yml")
    rasa = [p for p in progs if p.name.startswith("rasa")]
    assert [p.name for p in rasa] == ["rasa", "rasa-2"]
    assert [p.health_url for p in rasa] == ["http://127.0.0.1:6100/", "http://127.0.0.1:6101/"]
    for i, p in enumerate(rasa):
        assert p.command[1:4] == ["-m", "bot.rasa_server", "run"]
        assert p.command[p.command.index("--port") + 1] == str(6100 + i)
    metrics_dir = tmp_path / "state" / "metrics"
    assert {p.environment[MULTIPROC_ENV] for p in progs} == {str(metrics_dir)}
    assert list(metrics_dir.iterdir()) == []  # a previous run's histograms are not summed in
    [app] = [p for p in progs if p.name == "app"]
    # The watchdog restarts the app only when it stops serving; start-up waits for readiness.
    assert app.health_url.endswith("/health/live") and app.ready_url.endswith("/health/ready")
    endpoints = yaml.safe_load((tmp_path / "state" / "endpoints.yml").read_text())
    assert endpoints["tracker_store"]["type"] == TRACKER_STORE_TYPE
    # the actions never read the domain: Rasa does not send it with every call
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True


@pytest.mark.parametrize(("operator", "expected"), [(None, "1"), ("4", "4")])
def test_every_program_runs_numpys_blas_on_one_thread_unless_the_operator_says(
    tmp_path, monkeypatch, operator, expected
):
    """OpenBLAS's spinning threads made a turn cost 42 instead of 25 ms of CPU on a busy
    machine; requests, not BLAS threads, use the cores. An explicit value wins."""
    if operator is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", operator)
    settings = settings_from_dict({"server": {"state_dir": str(tmp_path / "state")}}, SECRETS)
    progs = programs(settings, Path("/models/m.tar.gz"), tmp_path / "config.yml")
    assert {p.name: p.environment["OPENBLAS_NUM_THREADS"] for p in progs} == {
        "actions": expected, "rasa": expected, "app": expected}
