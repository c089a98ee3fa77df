"""Rasa's own checks of the bot's data: `rasa data validate` and end-to-end test stories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.training import ensure_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RASA = [sys.executable, "-m", "rasa"]
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "HF_HUB_OFFLINE": "1",
       "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def rasa(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*RASA, *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=300, check=False)


def test_rasa_data_validate_finds_no_warnings(tmp_path):
    out = rasa("data", "validate", "--fail-on-warnings", "--domain", str(ROOT / "bot/domain.yml"),
               "--data", str(ROOT / "bot/data"), "--config", str(ROOT / "config.yml"), cwd=tmp_path)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]


def test_rasa_end_to_end_test_stories_pass(tmp_path):
    model = ensure_model(ROOT, ROOT / "models", log=lambda line: None)
    stories = ROOT / "tests/bot/rasa/test_stories.yml"
    out = rasa("test", "core", "--model", str(model), "--stories", str(stories),
               "--out", str(tmp_path / "results"), "--fail-on-prediction-errors", cwd=tmp_path)
    failed = tmp_path / "results" / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:] + detail
    assert "story" not in detail.replace("None of the test stories failed", ""), detail
