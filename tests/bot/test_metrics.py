"""Stage histograms: observed, exposed in Prometheus text, summed across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot import metrics

pytestmark = [pytest.mark.unit]


def test_timed_observes_the_block_even_when_it_raises():
    seen = []
    with metrics.timed(lambda s, v: seen.append((s, v)), "kb_embed"):
        pass
    with pytest.raises(ValueError), metrics.timed(lambda s, v: seen.append((s, v)), "kb_rank"):
        raise ValueError("boom")
    assert [s for s, _ in seen] == ["kb_embed", "kb_rank"]
    with metrics.timed(None, "nothing"):  # no observer: nothing to do
        pass


def test_observer_feeds_the_exposition(monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    metrics.observer("app")("kb_search", 0.004)
    body = metrics.exposition().decode()
    assert 'tier1_stage_seconds_bucket{le="0.005",process="app",stage="kb_search"}' in body
    assert 'tier1_stage_seconds_count{process="app",stage="kb_search"}' in body


def test_processes_sharing_a_folder_are_summed(tmp_path):
    folder = tmp_path / "metrics"
    metrics.reset_folder(folder)
    (folder / "stale_0.db").write_bytes(b"")  # a dead run's file is cleared by reset_folder
    metrics.reset_folder(folder)
    assert list(folder.iterdir()) == []
    child = textwrap.dedent(f"""
        import os, sys
        os.environ[{metrics.MULTIPROC_ENV!r}] = {str(folder)!r}
        from bot import metrics
        metrics.observer(sys.argv[1])(sys.argv[2], 0.02)
        print(metrics.exposition().decode())
    """)
    subprocess.run([sys.executable, "-c", child, "rasa", "rasa_nlu"], check=True,
                   capture_output=True)
    out = subprocess.run([sys.executable, "-c", child, "app", "turn"], check=True,
                         capture_output=True, text=True).stdout
    assert 'tier1_stage_seconds_count{process="rasa",stage="rasa_nlu"} 1.0' in out
    assert 'tier1_stage_seconds_count{process="app",stage="turn"} 1.0' in out
