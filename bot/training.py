"""Train the Rasa model when, and only when, its inputs changed.

The model file is named after a fingerprint of everything training depends on: Rasa's keys of
config.yml (not tier1's sections, so tuning thresholds never retrains), the domain, every file
under the data directory and the Rasa version. `ensure_model` returns the existing model when
the fingerprint matches and otherwise runs ``python -m rasa train`` in a subprocess (Rasa and
TensorFlow stay out of the caller's process; importing this module imports neither).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from bot.rasa_config import rasa_config

CONFIG_FILE = Path("config.yml")
DOMAIN_FILE = Path("bot/domain.yml")
DATA_DIR = Path("bot/data")
PACKAGE_DIR = Path(__file__).resolve().parent  # the bot package: the shipped domain and data
MODEL_PREFIX = "tier1-"
MODEL_SUFFIX = ".tar.gz"
_TAIL_LINES = 40


class TrainingError(Exception):
    """`rasa train` failed or its inputs are missing; the message carries the end of its output."""


def _data_files(data_dir: Path) -> list[Path]:
    # Hidden files and caches are editor/OS noise, not training data.
    return sorted(
        p
        for p in data_dir.rglob("*")
        if p.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(data_dir).parts
        )
    )


def fingerprint(config_path: Path, domain: Path, data_dir: Path) -> str:
    """Hash every input of Rasa training.

    Args:
        config_path: config.yml; only Rasa's keys (`bot.rasa_config`) count.
        domain: the domain file.
        data_dir: the NLU/rules directory; every file's relative path and bytes count.

    Returns:
        A sha256 hex digest that changes whenever training would produce a different model.

    Raises:
        TrainingError: an input file or directory does not exist.
    """
    for path in (config_path, domain, data_dir):
        if not Path(path).exists():
            raise TrainingError(
                f"training input {path} does not exist; run from the tier1 repository root"
            )
    h = hashlib.sha256()

    def add(label: str, payload: bytes) -> None:
        # Length-prefixed so that moving bytes between two inputs changes the digest.
        h.update(f"{label}\0{len(payload)}\0".encode())
        h.update(payload)

    add("rasa", metadata.version("rasa").encode())
    add("config", json.dumps(rasa_config(config_path), sort_keys=True, default=str).encode())
    add("domain", Path(domain).read_bytes())
    for f in _data_files(Path(data_dir)):
        add(f"data/{f.relative_to(data_dir).as_posix()}", f.read_bytes())
    for f in _component_sources(rasa_config(config_path), _CODE_ROOT):
        add(f"component/{f.name}", f.read_bytes())
    return h.hexdigest()


# Where the ``bot`` package lives: custom components are named ``bot.module.Class``.
_CODE_ROOT = Path(__file__).resolve().parents[1]


def _component_sources(config: dict, root: Path) -> list[Path]:
    """Source files of the project's own pipeline/policy components.

    Those are the ``bot.x.Class`` names that resolve to a file under ``root``: editing one must
    retrain, like editing the data.
    """
    found: list[Path] = []
    for entry in [*(config.get("pipeline") or []), *(config.get("policies") or [])]:
        name = entry.get("name", "") if isinstance(entry, dict) else ""
        parts = name.split(".")
        for n in range(len(parts) - 1, 0, -1):
            candidate = root.joinpath(*parts[:n]).with_suffix(".py")
            if candidate.is_file():
                found.append(candidate)
                break
    return sorted(set(found))


def model_path(models_dir: Path, fp: str) -> Path:
    """The model file for fingerprint `fp` inside `models_dir`."""
    return Path(models_dir) / f"{MODEL_PREFIX}{fp[:16]}{MODEL_SUFFIX}"


def _run_rasa_train(
    cmd: list[str], cwd: Path, env: dict[str, str], log: Callable[[str], None]
) -> None:
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    # Unbuffered, so lines reach `log` as Rasa prints them and in the order they were written.
    env = {**env, "PYTHONUNBUFFERED": "1"}
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    except OSError as e:
        raise TrainingError(f"could not start `{' '.join(cmd[:4])}`: {e}") from e
    assert proc.stdout is not None
    with proc:
        for raw in proc.stdout:
            # Progress bars redraw with \r; keep only the final state of each line.
            parts = [p for p in raw.decode("utf-8", "replace").rstrip().split("\r") if p.strip()]
            if parts:
                tail.append(parts[-1])
                log(parts[-1])
    if proc.returncode != 0:
        raise TrainingError(
            f"rasa train exited with status {proc.returncode}; fix the error below "
            "(often a YAML mistake in bot/domain.yml or bot/data/) and start again:\n"
            + "\n".join(tail)
        )


def training_inputs(root: Path, config: Path | None = None) -> tuple[Path, Path, Path]:
    """The (config, domain, data directory) that training at `root` uses.

    The config is `config` or ``root/config.yml``. The domain and data come from ``root/bot/``
    when the project has its own domain file there (a repository checkout, or a deployment that
    customises the assistant); otherwise from the ``bot`` package itself, so a config.yml kept
    outside the repository still trains the shipped assistant.
    """
    root = Path(root).resolve()
    config = Path(config).resolve() if config is not None else root / CONFIG_FILE
    own = root / DOMAIN_FILE
    bot_dir = own.parent if own.is_file() else PACKAGE_DIR
    return config, bot_dir / DOMAIN_FILE.name, bot_dir / DATA_DIR.name


def ensure_model(
    root: Path,
    models_dir: Path,
    *,
    force: bool = False,
    log: Callable[[str], None] = print,
    config: Path | None = None,
) -> Path:
    """Return a trained model for the project at `root`, training one only if needed.

    Trains into a temporary directory and moves the finished archive into place, so an
    interrupted training never leaves a model file that looks valid. After a successful training,
    older ``tier1-*.tar.gz`` models in `models_dir` are removed.

    Args:
        root: the project root: config.yml, and optionally its own bot/domain.yml and bot/data/
            (see `training_inputs`).
        models_dir: where models live (created if missing).
        force: train even if a model with the current fingerprint exists.
        log: receives progress lines, including Rasa's output as it streams.
        config: the config file, when it is not ``root/config.yml``.

    Returns:
        The path of the model matching the current inputs.

    Raises:
        TrainingError: an input is missing or `rasa train` failed (the message ends with
            the last lines of its output).
    """
    root = Path(root).resolve()
    models_dir = Path(models_dir).resolve()
    config, domain, data = training_inputs(root, config)
    fp = fingerprint(config, domain, data)
    target = model_path(models_dir, fp)
    if target.is_file() and not force:
        log(f"Rasa model is up to date: {target}")
        return target

    models_dir.mkdir(parents=True, exist_ok=True)
    name = target.name[: -len(MODEL_SUFFIX)]
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        HF_HUB_OFFLINE="1",
        # Keep Rasa's component cache next to the models instead of a .rasa/ in the repository.
        RASA_CACHE_DIRECTORY=str(models_dir / ".rasa-cache"),
    )
    # Rasa 3.6 uses SQLAlchemy 1.4's legacy API; its warning banner buries real errors.
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    log(f"Training the Rasa model {target.name} from {config}, {domain} and {data}/ ...")
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=".training-", dir=models_dir))
    try:
        cmd = [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "--config",
            str(config),
            "--domain",
            str(domain),
            "--data",
            str(data),
            "--out",
            str(workdir),
            "--fixed-model-name",
            name,
        ]
        if force:
            cmd.append("--force")
        _run_rasa_train(cmd, root, env, log)
        produced = workdir / target.name
        if not produced.is_file():
            raise TrainingError(
                f"rasa train finished but wrote no {target.name} into {workdir}; "
                "check the output above and run `rasa train` by hand to see why"
            )
        os.replace(produced, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    for old in models_dir.glob(f"{MODEL_PREFIX}*{MODEL_SUFFIX}"):
        if old != target:
            old.unlink(missing_ok=True)
    log(f"Trained {target.name} in {time.monotonic() - started:.0f} s")
    return target
