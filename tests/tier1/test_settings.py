from pathlib import Path

import pytest
import yaml

from tier1.settings import SettingsError, load_settings, rasa_config, settings_from_dict

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"jwt_secret": "j" * 32, "internal_token": "i" * 32, "rasa_token": "r" * 32}
ENV = {"TIER1_JWT_SECRET": "j" * 32, "TIER1_INTERNAL_TOKEN": "i" * 32, "TIER1_RASA_TOKEN": "r" * 32}


def test_repository_config_is_valid():
    settings = load_settings(ROOT / "config.yml", ENV)
    assert settings.server.port == 8000
    assert settings.knowledge_base.embedder.type == "sentence-transformers"
    assert settings.knowledge_base.embedder.runtime == "onnx-int8"
    assert settings.knowledge_base.embedder.cache_dir == ROOT / ".tier1" / "onnx"
    assert settings.root == ROOT


def test_unknown_key_in_a_section_is_named():
    with pytest.raises(SettingsError) as e:
        settings_from_dict({"knowledge_base": {"decision": {"answer_treshold": 0.5}}}, SECRETS)
    assert "knowledge_base.decision.answer_treshold" in str(e.value)
    assert "unknown key" in str(e.value)


def test_unknown_top_level_key_is_named():
    with pytest.raises(SettingsError, match="handof"):
        settings_from_dict({"handof": {}}, SECRETS)


def test_bad_value_names_the_key():
    with pytest.raises(SettingsError) as e:
        settings_from_dict({"server": {"port": 70000}}, SECRETS)
    assert "server.port" in str(e.value)


def test_rasa_keys_are_accepted_and_not_validated_by_tier1():
    s = settings_from_dict({"pipeline": [{"name": "Anything"}], "language": "en"}, SECRETS)
    assert s.handoff.max_message_chars > 0


def test_missing_secret_names_the_environment_variable(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("server: {port: 8100}\n")
    with pytest.raises(SettingsError, match="TIER1_RASA_TOKEN"):
        load_settings(cfg, {k: v for k, v in ENV.items() if k != "TIER1_RASA_TOKEN"})


def test_short_secret_is_rejected_with_its_variable_name():
    with pytest.raises(SettingsError, match="TIER1_JWT_SECRET"):
        settings_from_dict({}, {**SECRETS, "jwt_secret": "short"})


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text(yaml.safe_dump({"server": {"state_dir": "state"}}))
    s = load_settings(cfg, ENV)
    assert s.state_dir == tmp_path / "state"
    assert s.database_url == f"sqlite:///{tmp_path / '.tier1' / 'tier1.db'}"
    assert s.kb_index_path == tmp_path / "state" / "kb.faiss"


def test_the_onnx_cache_lives_under_the_state_dir_unless_absolute(tmp_path):
    cfg = tmp_path / "config.yml"

    def cache_dir(config):
        cfg.write_text(yaml.safe_dump(config))
        return load_settings(cfg, ENV).knowledge_base.embedder.cache_dir

    assert cache_dir({"server": {"state_dir": "state"}}) == tmp_path / "state" / "onnx"
    relative = {"knowledge_base": {"embedder": {"cache_dir": "exports"}}}
    assert cache_dir(relative) == tmp_path / ".tier1" / "exports"
    absolute = {"knowledge_base": {"embedder": {"cache_dir": str(tmp_path / "x")}}}
    assert cache_dir(absolute) == tmp_path / "x"


def test_an_unknown_embedder_runtime_names_the_key_and_the_choices():
    with pytest.raises(SettingsError) as e:
        settings_from_dict({"knowledge_base": {"embedder": {"runtime": "tensorflow"}}}, SECRETS)
    assert "knowledge_base.embedder.runtime" in str(e.value)
    assert "'onnx', 'onnx-int8', 'torch'" in str(e.value)


def test_invalid_yaml_is_reported(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("server: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(cfg, ENV)


def test_rasa_config_keeps_only_rasas_keys():
    keys = set(rasa_config(ROOT / "config.yml"))
    assert {"pipeline", "policies", "language"} <= keys
    assert not keys & {"server", "database", "knowledge_base", "handoff"}


def test_rasa_processes_are_counted_and_given_consecutive_ports(monkeypatch):
    s = settings_from_dict({"server": {"rasa_port": 6000, "rasa_processes": 3}}, SECRETS)
    assert s.server.rasa_urls == ["http://127.0.0.1:6000", "http://127.0.0.1:6001",
                                  "http://127.0.0.1:6002"]
    assert s.server.rasa_url == "http://127.0.0.1:6000"
    monkeypatch.setattr("tier1.settings.os.cpu_count", lambda: 2)
    auto = settings_from_dict({"server": {"rasa_processes": "auto"}}, SECRETS)
    assert auto.server.rasa_process_count == 2
    for bad in (0, "many", True, 65):
        with pytest.raises(SettingsError, match="server.rasa_processes"):
            settings_from_dict({"server": {"rasa_processes": bad}}, SECRETS)


def test_rasa_wait_is_validated_and_zero_turns_it_off():
    assert load_settings(ROOT / "config.yml", ENV).handoff.rasa_wait_seconds == 120
    assert settings_from_dict({"handoff": {"rasa_wait_seconds": 0}}, SECRETS).handoff.rasa_wait_seconds == 0
    for bad in (-1, 3601, "soon"):
        with pytest.raises(SettingsError, match="handoff.rasa_wait_seconds"):
            settings_from_dict({"handoff": {"rasa_wait_seconds": bad}}, SECRETS)
