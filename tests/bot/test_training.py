"""Model fingerprinting and the train-only-when-needed logic, without running real training."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from bot import training
from bot.training import TrainingError, ensure_model, fingerprint, model_path, training_inputs

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the repository's training inputs."""
    shutil.copy(ROOT / "config.yml", tmp_path / "config.yml")
    (tmp_path / "bot").mkdir()
    shutil.copy(ROOT / "bot/domain.yml", tmp_path / "bot/domain.yml")
    shutil.copytree(ROOT / "bot/data", tmp_path / "bot/data")
    return tmp_path


def fp(project: Path) -> str:
    return fingerprint(project / "config.yml", project / "bot/domain.yml", project / "bot/data")


def edit_config(project: Path, change) -> None:
    path = project / "config.yml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_fingerprint_is_stable(project):
    assert fp(project) == fp(project)
    assert len(fp(project)) == 64


def test_fingerprint_ignores_tier1_sections_and_comments(project):
    before = fp(project)

    def tune(data):
        data["knowledge_base"]["decision"]["answer_threshold"] = 0.9
        data["handoff"]["rasa_timeout_seconds"] = 30
        data["server"]["port"] = 9000

    edit_config(project, tune)
    assert fp(project) == before


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data["pipeline"][-1].update(threshold=0.5),
        lambda data: data["policies"].pop(0),
        lambda data: data.update(language="de"),
    ],
    ids=["fallback-threshold", "policies", "language"],
)
def test_fingerprint_changes_with_rasa_config(project, change):
    before = fp(project)
    edit_config(project, change)
    assert fp(project) != before


def test_fingerprint_changes_with_domain(project):
    before = fp(project)
    domain = project / "bot/domain.yml"
    domain.write_text(domain.read_text().replace("Goodbye, and thanks", "Bye, and thanks"))
    assert fp(project) != before


def test_fingerprint_changes_with_data_edits_and_new_files(project):
    first = fp(project)
    nlu = project / "bot/data/nlu.yml"
    nlu.write_text(nlu.read_text().replace("    - hiya\n", "    - hiya\n    - hey hey\n"))
    second = fp(project)
    assert second != first
    (project / "bot/data/stories.yml").write_text('version: "3.1"\nstories: []\n')
    assert fp(project) != second


def test_fingerprint_covers_the_source_of_our_own_components(tmp_path):
    """Editing bot/nlu_sentence_featurizer.py must retrain, like editing the data."""
    from bot.rasa_config import rasa_config
    from bot.training import _component_sources

    (tmp_path / "bot").mkdir()
    source = tmp_path / "bot" / "featurizer.py"
    source.write_text("class F: ...\n")
    config = {"pipeline": [{"name": "WhitespaceTokenizer"}, {"name": "bot.featurizer.F"}],
              "policies": [{"name": "RulePolicy"}]}
    assert _component_sources(config, tmp_path) == [source]
    shipped = _component_sources(rasa_config(ROOT / "config.yml"), ROOT)
    assert ROOT / "bot" / "nlu_sentence_featurizer.py" in shipped


def test_fingerprint_changes_with_rasa_version(project, monkeypatch):
    before = fp(project)
    monkeypatch.setattr(training.metadata, "version", lambda name: "9.9.9")
    assert fp(project) != before


def test_fingerprint_names_a_missing_input(project):
    with pytest.raises(TrainingError, match="domain.yml"):
        fingerprint(
            project / "config.yml", project / "bot/missing/domain.yml", project / "bot/data"
        )


def test_model_path_uses_16_hex_digits():
    assert model_path(Path("/m"), "abcdef0123456789ffff") == Path(
        "/m/tier1-abcdef0123456789.tar.gz"
    )


def test_existing_model_is_returned_without_training(project, monkeypatch):
    models = project / "models"
    models.mkdir()
    existing = model_path(models, fp(project))
    existing.write_bytes(b"model")

    def no_training(*args, **kwargs):
        raise AssertionError("must not train when the fingerprint matches")

    monkeypatch.setattr(training, "_run_rasa_train", no_training)
    lines: list[str] = []
    assert ensure_model(project, models, log=lines.append) == existing
    assert any("up to date" in line for line in lines)


def test_inputs_come_from_the_project_when_it_has_its_own_bot_dir(project):
    config, domain, data = training_inputs(project)
    assert (config, domain, data) == (
        project.resolve() / "config.yml",
        project.resolve() / "bot/domain.yml",
        project.resolve() / "bot/data",
    )


def test_a_config_outside_the_repository_trains_the_shipped_assistant(tmp_path):
    shutil.copy(ROOT / "config.yml", tmp_path / "my-config.yml")
    config, domain, data = training_inputs(tmp_path, tmp_path / "my-config.yml")
    assert config == tmp_path.resolve() / "my-config.yml"
    assert (domain, data) == (ROOT / "bot/domain.yml", ROOT / "bot/data")
    # same Rasa inputs as the repository, so the same (cached) model
    assert fingerprint(config, domain, data) == fingerprint(ROOT / "config.yml", domain, data)


class FakeRasa:
    """Stands in for `python -m rasa train`: records the command, writes the named model."""

    def __init__(self, fail: bool = False) -> None:
        self.commands: list[list[str]] = []
        self.fail = fail

    def __call__(self, cmd, cwd, env, log):
        self.commands.append(cmd)
        assert env["RASA_TELEMETRY_ENABLED"] == "false" and env["HF_HUB_OFFLINE"] == "1"
        if self.fail:
            raise TrainingError("rasa train exited with status 1")
        out = Path(cmd[cmd.index("--out") + 1])
        name = cmd[cmd.index("--fixed-model-name") + 1]
        (out / f"{name}.tar.gz").write_bytes(b"trained")


def test_changed_inputs_train_a_new_model_and_remove_old_ones(project, monkeypatch):
    models = project / "models"
    models.mkdir()
    stale = models / "tier1-0000000000000000.tar.gz"
    stale.write_bytes(b"old")
    unrelated = models / "other.tar.gz"
    unrelated.write_bytes(b"keep")
    fake = FakeRasa()
    monkeypatch.setattr(training, "_run_rasa_train", fake)

    path = ensure_model(project, models, log=lambda line: None)

    assert path == model_path(models.resolve(), fp(project)) and path.read_bytes() == b"trained"
    assert not stale.exists() and unrelated.exists()
    assert not list(models.glob(".training-*")), "the temporary training directory is removed"
    cmd = fake.commands[0]
    assert cmd[:4] == [sys.executable, "-m", "rasa", "train"]
    assert cmd[cmd.index("--config") + 1] == str((project / "config.yml").resolve())
    assert cmd[cmd.index("--domain") + 1] == str((project / "bot/domain.yml").resolve())
    assert cmd[cmd.index("--data") + 1] == str((project / "bot/data").resolve())
    assert "--force" not in cmd
    assert cmd[cmd.index("--fixed-model-name") + 1] == path.name.removesuffix(".tar.gz")

    # same inputs: no second training; force: trains again with Rasa's --force
    ensure_model(project, models, log=lambda line: None)
    assert len(fake.commands) == 1
    ensure_model(project, models, force=True, log=lambda line: None)
    assert len(fake.commands) == 2 and "--force" in fake.commands[1]


def test_failed_training_keeps_the_old_model(project, monkeypatch):
    models = project / "models"
    models.mkdir()
    old = models / "tier1-0000000000000000.tar.gz"
    old.write_bytes(b"old")
    monkeypatch.setattr(training, "_run_rasa_train", FakeRasa(fail=True))
    with pytest.raises(TrainingError):
        ensure_model(project, models, log=lambda line: None)
    assert old.exists()
    assert not model_path(models, fp(project)).exists()
    assert not list(models.glob(".training-*"))


def test_training_that_writes_no_model_is_an_error(project, monkeypatch):
    monkeypatch.setattr(training, "_run_rasa_train", lambda cmd, cwd, env, log: None)
    with pytest.raises(TrainingError, match="wrote no tier1-"):
        ensure_model(project, project / "models", log=lambda line: None)


def test_subprocess_output_is_streamed_and_failures_carry_its_tail(tmp_path):
    script = (
        "import sys\n"
        "for i in range(60): print(f'line {i}')\n"
        "sys.stdout.write('progress 10%\\rprogress 100%\\n')\n"
        "print('YAML error in bot/domain.yml', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    lines: list[str] = []
    with pytest.raises(TrainingError) as e:
        training._run_rasa_train([sys.executable, "-c", script], tmp_path, {}, lines.append)
    assert lines[0] == "line 0" and "progress 100%" in lines and "progress 10%" not in lines
    message = str(e.value)
    assert "status 3" in message and "YAML error in bot/domain.yml" in message
    assert "line 59" in message and "line 0\n" not in message  # only the tail
