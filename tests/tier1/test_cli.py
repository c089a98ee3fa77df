import subprocess
import sys

import pytest

from tier1.cli import _parser, main

pytestmark = pytest.mark.unit

COMMANDS = [[], ["run"], ["train"], ["config", "check"], ["agent", "create"],
            ["agent", "reset-password"],
            ["kb", "import"], ["kb", "search"], ["kb", "status"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "tier1")
def test_every_command_has_help_with_an_example(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        _parser().parse_args([*cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out
    assert "tier1" in out


def test_bad_config_exits_2_with_the_key_named(tmp_path, capsys):
    cfg = tmp_path / "config.yml"
    cfg.write_text("server:\n  prot: 8000\n")
    assert main(["--config", str(cfg), "config", "check"]) == 2
    assert "server.prot" in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "tier1.cli", "--help"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0 and "tier1" in out.stdout


def test_run_refuses_a_taken_port_naming_it_and_its_holder(tmp_path, capsys):
    """Another program on Rasa's port: nothing starts, and the message says who holds it."""
    import os
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = tmp_path / "config.yml"
        cfg.write_text(f"server:\n  rasa_port: {port}\n  state_dir: {tmp_path / 'state'}\n")
        assert main(["--config", str(cfg), "run"]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and f"pid {os.getpid()}" in err
    assert "server.rasa_port" in err
    assert not (tmp_path / "state" / "supervisord.conf").exists()  # nothing was started


def test_config_check_warns_when_the_nlu_would_encode_every_message_again(tmp_path, capsys):
    cfg = tmp_path / "config.yml"
    cfg.write_text(
        "pipeline:\n  - name: bot.nlu_sentence_featurizer.SentenceEmbeddingFeaturizer\n"
        "    runtime: onnx\n"
        "knowledge_base:\n  embedder:\n    runtime: onnx-int8\n"
        f"server:\n  state_dir: {tmp_path / 'state'}\n"
    )
    assert main(["--config", str(cfg), "config", "check"]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "encoded twice" in err
    cfg.write_text(cfg.read_text().replace("runtime: onnx\n", "runtime: onnx-int8\n", 1))
    assert main(["--config", str(cfg), "config", "check"]) == 0
    assert "encoded twice" not in capsys.readouterr().err
