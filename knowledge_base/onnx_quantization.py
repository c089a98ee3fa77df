"""The ``onnx-int8`` runtime: the ONNX export with its weights quantised to int8, cached.

onnxruntime's ``quantize_dynamic`` stores the weights of every MatMul (and the embedding
table) as 8-bit integers (unsigned) with one scale per output channel; activations are quantised on every
run. One short sentence takes ~1 ms instead of ~3.5 ms for fp32 onnx on one thread, and the
file shrinks from 90 to 23 MB (benchmarks/embed_latency.py); BANKING77 top-1 stays within
0.3 points (benchmarks/QUALITY.md "int8").

Why these settings (all-MiniLM-L6-v2; cosine to fp32 over 500 BANKING77 test texts, each run
alone; p50 of one sentence on 1 thread, 2-core AVX-512 VNNI host): one scale per weight tensor
loses too much (mean 0.969 signed, 0.985 unsigned; min 0.93 / 0.96); one per output channel
keeps mean 0.994 either way (min 0.981 signed, 0.986 unsigned). Neither is faster here: p50
1.46 vs 1.44 ms signed vs unsigned, interleaved, 1 000 BANKING77 texts (an earlier, shorter
run: 0.86 vs 0.97). Unsigned wins on the rest: the better worst case, and no saturation on x86
CPUs without VNNI, where onnxruntime multiplies unsigned activations by signed weights with
an instruction (VPMADDUBSW) that saturates at 16 bits; its remedy, ``reduce_range`` (7-bit
weights), costs too much here (mean 0.893).

Texts run one at a time whatever the batch size: the activations' scale is computed over the
whole batch, so in a batch a text's vector depends on its batch-mates (cosine 0.992 to its
vector alone), and the same text must always give the same vector. Alone is also faster here:
1 100 texts/s vs 760 in batches of 64 (signed weights; padding costs more than batching
saves).

The vectors differ from fp32's, so the embedder's name gets ``+int8``: stored vectors and the
index are re-encoded on a switch, and the NLU reuses only a handed-over vector of its own
kind. The quantiser needs onnx >= 1.16 (with 1.15 ``onnxruntime.quantization`` fails to
import); loading an already quantised file does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge_base.errors import EmbedderError
from knowledge_base.onnx_runtime import (
    OnnxEncoder,
    checked_encoder,
    load_onnx_encoder,
    reference_vectors,
    require_onnxruntime,
    supported_pooling,
    write_atomically,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# Part of every int8 file's key, with the fp32 file's name, onnxruntime's version and the
# weight type: bump it when another quantisation setting changes.
QUANT_FORMAT = 1
WEIGHT_TYPE = "QUInt8"  # onnxruntime.quantization.QuantType's name; per output channel
# Checked against torch at every load: the mean cosine over INT8_PROBE. Measured 0.9925 here
# (per text 0.980 for "hi" to 0.996); one scale per weight tensor gives 0.961 (signed) or 0.982
# (unsigned), 7-bit weights 0.891. Below this a cached int8 file is quantised again, and a
# fresh one is an error (use runtime onnx): the kernels differ by CPU, and one that saturates
# (non-VNNI x86 may) must not silently serve worse answers.
MIN_INT8_AGREEMENT = 0.98
# Real chat messages, short and long (not from any evaluation set), as one padded batch.
INT8_PROBE = (
    "hi",
    "How do I reset my password when the reset email never arrives?",
    "where is my parcel?",
    "Can I pay with PayPal, or only by card?",
    "I was charged twice for the same order, please refund one of them",
    "talk to a human",
    "My card was declined at the shop although there is money on the account.",
    "how long does a transfer to another country take",
)


def int8_cache_file(fp32_file: Path) -> Path:
    """Where the int8 copy of the fp32 export ``fp32_file`` is cached: next to it.

    Keyed by the fp32 file's name (itself keyed by the model's content and the exporter),
    onnxruntime's version (the quantiser's output may change with it), ``WEIGHT_TYPE`` and
    ``QUANT_FORMAT``.
    """
    onnxruntime = require_onnxruntime()
    key = hashlib.sha256(
        f"{fp32_file.name}|onnxruntime {onnxruntime.__version__}|{WEIGHT_TYPE} per channel|"
        f"format {QUANT_FORMAT}".encode()
    ).hexdigest()[:12]
    return fp32_file.with_name(f"{fp32_file.stem}-int8-{key}.onnx")


def quantize(fp32_file: Path, int8_file: Path, spec: str) -> None:
    """Write the int8 quantisation of ``fp32_file`` to ``int8_file`` atomically.

    Raises:
        EmbedderError: the quantiser does not load (onnx < 1.16) or fails, or the file
            cannot be written.
    """
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except (ImportError, AttributeError) as e:  # onnx 1.15 lacks TensorProto.INT4
        import onnx

        raise EmbedderError(
            f"runtime onnx-int8 needs onnxruntime's quantiser, which does not load with onnx "
            f"{onnx.__version__} ({e}); install onnx >= 1.16 or set runtime: onnx"
        ) from e
    # Its chatter must not reach stdout, which `--json` commands keep for their JSON: the
    # filter drops its log lines on the root logger and on every handler (a handler sees records
    # that bypass the logger's filter), and anything printed goes to stderr.
    quiet = _QuantizerChatter()
    root = logging.getLogger()
    filtered = [root, *root.handlers]
    for target in filtered:
        target.addFilter(quiet)
    try:
        with contextlib.redirect_stdout(sys.stderr), tempfile.TemporaryDirectory(
            dir=int8_file.parent, prefix=".int8-"
        ) as tmp:
            out = Path(tmp) / "model.onnx"
            quantize_dynamic(
                fp32_file, out, weight_type=QuantType[WEIGHT_TYPE], per_channel=True
            )
            write_atomically(int8_file, out.read_bytes())
    except OSError as e:
        raise EmbedderError(
            f"could not write the int8 model of {spec!r} to {int8_file}: {e}; set cache_dir "
            "(knowledge_base.embedder.cache_dir) to a writable directory or runtime: onnx"
        ) from e
    except Exception as e:  # onnx and onnxruntime errors share no other base
        raise EmbedderError(
            f"could not quantise the ONNX export of {spec!r} to int8: {e}; set runtime: onnx"
        ) from e
    finally:
        for target in filtered:
            target.removeFilter(quiet)


class _QuantizerChatter(logging.Filter):
    """Drops the quantiser's root-logger lines (per-tensor notes, image-model advice)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in Path(record.pathname).parts


def load_int8_encoder(
    model: SentenceTransformer, fp32_file: Path, threads: int, spec: str
) -> OnnxEncoder:
    """An int8 encoder for ``model``, quantising its fp32 export (exported if needed) once.

    A cached int8 file that does not load or agrees with torch less than
    ``MIN_INT8_AGREEMENT`` is quantised again.

    Raises:
        EmbedderError: unsupported layout, the export or quantisation fails, or the fresh
            int8 file does not load or agree.
    """
    pooling = supported_pooling(model, spec)
    int8_file = int8_cache_file(fp32_file)
    expected = reference_vectors(model, INT8_PROBE)

    def attempt() -> tuple[OnnxEncoder | None, str]:
        return checked_encoder(
            model,
            int8_file,
            threads,
            pooling,
            expected,
            INT8_PROBE,
            MIN_INT8_AGREEMENT,
            "mean",
            max_batch_size=1,
        )

    if int8_file.is_file():
        encoder, problem = attempt()
        if encoder is not None:
            log.info("ONNX int8 runtime for %s: using %s", spec, int8_file)
            return encoder
        log.warning("the cached int8 model %s %s; quantising it again", int8_file, problem)
    load_onnx_encoder(model, fp32_file, 1, spec)  # a checked fp32 export, exported if needed
    started = time.perf_counter()
    quantize(fp32_file, int8_file, spec)
    encoder, problem = attempt()
    if encoder is None:
        raise EmbedderError(
            f"the int8 model of {spec!r} at {int8_file} {problem}; set runtime: onnx"
        )
    log.info(
        "ONNX int8 runtime for %s: quantised %s in %.1f s",
        spec,
        int8_file,
        time.perf_counter() - started,
    )
    return encoder

