"""Sentence-transformers models run by ONNX Runtime: exported once, cached by content.

One short sentence takes about 40 % of torch's time on one thread (~5 ms vs ~12 ms on this
project's 2-core hosts, benchmarks/embed_latency.py), and a chat message is one sentence;
batches gain little (the matrix products dominate there). The model is still loaded
by sentence-transformers: its loader validates the directory and supplies the tokenizer, and
torch traces the graph the first time. Afterwards only the tokenizer and the ONNX session stay
in memory.

Only the layout of plain sentence embedders is supported (Transformer, then mean or CLS
Pooling, then an optional Normalize); anything else stays on torch.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import os
import re
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge_base.errors import EmbedderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# Part of every cache file's key: bump it when the exported graph changes (inputs, opset, ...),
# so files written by older code are not reused.
EXPORT_FORMAT = 1
OPSET = 14
OUTPUT = "last_hidden_state"
# Exported and torch vectors agree to ~1e-7; a file agreeing less than this is broken.
MIN_AGREEMENT = 0.9999
# Checked against torch at every load: one padded batch of different lengths.
_PROBE = ("hi", "How do I reset my password when the reset email never arrives?")
_SUPPORTED_POOLING = ("mean", "cls")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OnnxEncoder:
    """Encodes texts with an exported model: tokenise, run the session, pool, L2-normalise.

    Thread-safe: ONNX Runtime sessions may run concurrently, a fast tokenizer may not (its
    truncation and padding settings are state every call may rewrite; concurrent rewrites fail
    with "Already borrowed"), so tokenising takes a lock (held ~0.1-0.3 ms).

    ``max_batch_size`` caps the texts per run whatever ``encode`` is asked for: a dynamically
    quantised model scales its activations by the whole batch, so a text's vector would depend
    on its batch-mates unless it runs alone (``onnx_quantization``).
    """

    def __init__(
        self,
        session: Any,
        tokenizer: Any,
        max_seq_length: int,
        pooling: str,
        max_batch_size: int | None = None,
    ) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._max_seq_length = max_seq_length
        self._pooling = pooling
        self._max_batch_size = max_batch_size
        self._inputs = {i.name for i in session.get_inputs()}
        self._tokenizer_lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int, progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows for ``texts``, in order, ``batch_size`` texts per run."""
        # Longest first, as sentence-transformers does: a batch pads to its longest text.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batch_size = min(batch_size, self._max_batch_size or batch_size)
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches", unit="batch")
        rows: list[np.ndarray] = [np.empty(0)] * len(texts)
        for start in starts:
            chunk = order[start : start + batch_size]
            for i, row in zip(chunk, self._encode_batch([texts[i] for i in chunk])):
                rows[i] = row
        return np.stack(rows).astype(np.float32, copy=False)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._tokenizer_lock:
            encoded = self._tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self._max_seq_length,
                return_tensors="np",
            )
        ids = np.asarray(encoded["input_ids"], dtype=np.int64)
        mask = np.asarray(encoded["attention_mask"], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            # Some tokenizers (RoBERTa-style) return none; the model then expects zeros.
            types = encoded.get("token_type_ids")
            feeds["token_type_ids"] = (
                np.zeros_like(ids) if types is None else np.asarray(types, dtype=np.int64)
            )
        (hidden,) = self._session.run([OUTPUT], feeds)
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(hidden.dtype)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


def supported_pooling(model: SentenceTransformer, spec: str) -> str:
    """The pooling mode (``mean`` or ``cls``) of a model the ONNX runtime can run.

    Raises:
        EmbedderError: any other module layout, pooling mode or a default prompt.
    """
    kinds = [type(module).__name__ for module in model]
    pooling = getattr(model[1], "pooling_mode", None) if len(kinds) > 1 else None
    layout_ok = kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
    if not layout_ok or pooling not in _SUPPORTED_POOLING:
        found = " -> ".join(kinds) + (f" (pooling {pooling!r})" if pooling is not None else "")
        raise EmbedderError(
            f"the ONNX runtime cannot run the model {spec!r}: it supports Transformer -> "
            f"Pooling (mean or cls) -> optional Normalize, this model is {found}; set "
            "runtime: torch (knowledge_base.embedder.runtime, or the featurizer's runtime in "
            "the config.yml pipeline)"
        )
    if getattr(model, "default_prompt_name", None):
        raise EmbedderError(
            f"the ONNX runtime cannot run the model {spec!r}: it prepends the prompt "
            f"{model.default_prompt_name!r} to every text; set runtime: torch"
        )
    return str(pooling)


def model_digest(model_dir: Path) -> str:
    """A hash of every file under ``model_dir`` (weights, config, tokenizer), names included."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(model_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(str(path.stat().st_size).encode("ascii") + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cache_file(model_dir: Path, cache_dir: Path) -> Path:
    """Where the export of the model in ``model_dir`` is cached.

    Named by the directory's content (a tuned model saved elsewhere, or a changed one, gets
    its own file) and the torch version that traced it.
    """
    import torch

    torch_version = torch.__version__.split("+")[0]
    key = hashlib.sha256(
        f"{model_digest(model_dir)}|torch {torch.__version__}|format {EXPORT_FORMAT}|"
        f"opset {OPSET}".encode()
    ).hexdigest()[:20]
    stem = _UNSAFE.sub("-", model_dir.name).strip("-") or "model"
    return cache_dir / f"{stem}-{key}-torch{torch_version}.onnx"


def export_onnx(model: SentenceTransformer, path: Path) -> None:
    """Trace ``model``'s transformer to ONNX and write it to ``path`` atomically.

    Written to a temporary file in the same directory, fsynced, then renamed over ``path``:
    processes exporting at the same time (the app and the Rasa server) each rename a complete
    file, and a reader never sees a partial one.
    """
    import torch

    class _Wrapper(torch.nn.Module):
        # transformers 5's forward takes keyword arguments only.
        def __init__(self, transformer: torch.nn.Module, names: list[str]) -> None:
            super().__init__()
            self.transformer = transformer
            self.names = names

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(self.names, tensors))).last_hidden_state

    transformer = model[0].auto_model.eval()
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(transformer.forward).parameters:
        names.append("token_type_ids")
    probe = model.tokenizer(list(_PROBE), padding=True, return_tensors="pt")
    args = tuple(
        probe[n] if n in probe else torch.zeros_like(probe["input_ids"]) for n in names
    )
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings, none actionable
        torch.onnx.export(
            _Wrapper(transformer, names),
            args,
            buffer,
            input_names=names,
            output_names=[OUTPUT],
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, OUTPUT]},
            opset_version=OPSET,
            dynamo=False,
        )
    write_atomically(path, buffer.getvalue())


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temporary file renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide it from other users
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # Persist the rename too; not every platform can open a directory.
    with suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def load_onnx_encoder(
    model: SentenceTransformer, path: Path, threads: int, spec: str
) -> OnnxEncoder:
    """An encoder for ``model`` from the cached export at ``path``, exporting it if needed.

    A cached file that does not load or disagrees with torch on a probe batch (corrupt,
    truncated, or written by a broken exporter) is exported again.

    Raises:
        EmbedderError: unsupported layout, or the fresh export does not load or agree.
    """
    pooling = supported_pooling(model, spec)
    require_onnxruntime()  # before a minute of exporting, not after
    expected = reference_vectors(model, _PROBE)

    def attempt() -> tuple[OnnxEncoder | None, str]:
        return checked_encoder(model, path, threads, pooling, expected, _PROBE, MIN_AGREEMENT, "min")

    if path.is_file():
        encoder, problem = attempt()
        if encoder is not None:
            log.info("ONNX runtime for %s: using %s", spec, path)
            return encoder
        log.warning("the cached ONNX model %s %s; exporting it again", path, problem)
    started = time.perf_counter()
    try:
        export_onnx(model, path)
    except OSError as e:
        raise EmbedderError(
            f"could not write the ONNX export of {spec!r} to {path}: {e}; set cache_dir "
            "(knowledge_base.embedder.cache_dir) to a writable directory or runtime: torch"
        ) from e
    except Exception as e:  # the tracer fails with torch, transformers or onnx errors
        raise EmbedderError(
            f"could not export the model {spec!r} to ONNX: {e}; set runtime: torch"
        ) from e
    encoder, problem = attempt()
    if encoder is None:
        raise EmbedderError(f"the ONNX export of {spec!r} at {path} {problem}; set runtime: torch")
    seconds = time.perf_counter() - started
    log.info("ONNX runtime for %s: exported %s in %.1f s", spec, path, seconds)
    return encoder


def reference_vectors(model: SentenceTransformer, texts: Sequence[str]) -> np.ndarray:
    """The unit-length vectors torch gives ``texts``: what a loaded ONNX file must match."""
    return model.encode(
        list(texts), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
    )


def checked_encoder(
    model: SentenceTransformer,
    path: Path,
    threads: int,
    pooling: str,
    expected: np.ndarray,
    probe: Sequence[str],
    floor: float,
    statistic: str,
    max_batch_size: int | None = None,
) -> tuple[OnnxEncoder | None, str]:
    """Open ``path`` and check it: the encoder, or None and what is wrong with the file.

    Args:
        model: the loaded model (supplies the tokenizer and the sequence length).
        path: the ONNX file.
        threads: ONNX Runtime's intra-op threads.
        pooling: ``supported_pooling``'s answer for ``model``.
        expected: ``reference_vectors(model, probe)``.
        probe: the texts encoded (as one padded batch) and compared with ``expected``.
        floor: the least acceptable agreement.
        statistic: ``"min"`` or ``"mean"``: how the probe's cosines make the agreement.
        max_batch_size: passed to ``OnnxEncoder``.

    Raises:
        EmbedderError: onnxruntime is not installed.
    """
    onnxruntime = require_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Waiting threads would spin on cores the other processes need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        encoder = OnnxEncoder(
            session, model.tokenizer, model.max_seq_length, pooling, max_batch_size
        )
        cosines = np.sum(encoder.encode(probe, len(probe)) * expected, axis=1)
    except Exception as e:  # noqa: BLE001 - onnxruntime's errors share no other base
        return None, f"does not load ({e})"
    agreement = float(np.min(cosines) if statistic == "min" else np.mean(cosines))
    if agreement < floor:
        return None, (
            f"disagrees with torch ({statistic} cosine {agreement:.6f} on {len(probe)} probe "
            f"texts, at least {floor} needed)"
        )
    return encoder, ""


def require_onnxruntime() -> Any:
    """The onnxruntime module.

    Raises:
        EmbedderError: it is not installed.
    """
    try:
        import onnxruntime
    except ImportError as e:
        raise EmbedderError(
            "the onnxruntime package is not installed; install tier1's dependencies or set "
            "runtime: torch"
        ) from e
    return onnxruntime


def ensure_cache_dir(cache_dir: Path, spec: str) -> Path:
    """Create ``cache_dir`` if needed.

    Raises:
        EmbedderError: it cannot be created (a file is in the way, no permission).
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EmbedderError(
            f"cannot create the ONNX cache directory {cache_dir} for {spec!r}: {e}; set "
            "cache_dir (knowledge_base.embedder.cache_dir) to a writable directory or "
            "runtime: torch"
        ) from e
    return cache_dir
