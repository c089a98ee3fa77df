"""The onnx-int8 runtime: named apart from fp32, close to it, quantised once and checked."""

import sys

import numpy as np
import pytest

from knowledge_base import SentenceTransformerEmbedder, create_embedder
from knowledge_base.errors import EmbedderError
from knowledge_base.settings import PACKAGED_MODEL, EmbedderSettings

INT8_NAME = PACKAGED_MODEL + "+int8"
SENTENCES = [
    "hi",
    "where is my parcel?",
    "How do I reset my password when the reset email never arrives and I am locked out?",
    "",
    "Can I pay with PayPal, or only by card?",
    "my card got stuck in the ATM, what now",
    "refund " * 400,  # longer than max_seq_length: truncated alike
]


# --- names and settings (no model) --------------------------------------------------------


@pytest.mark.unit
def test_only_int8_changes_the_name_so_only_it_re_encodes_stored_vectors():
    # live_index.load and the stored vectors are keyed by the name: torch <-> onnx keeps the
    # index, a switch to or from int8 re-encodes it.
    names = {r: SentenceTransformerEmbedder(runtime=r).name for r in ("torch", "onnx", "onnx-int8")}
    assert names == {"torch": PACKAGED_MODEL, "onnx": PACKAGED_MODEL, "onnx-int8": INT8_NAME}
    named = SentenceTransformerEmbedder("/models/x", name="tuned:x@1", runtime="onnx-int8")
    assert named.name == "tuned:x@1+int8" and named.runtime == "onnx-int8"


@pytest.mark.unit
def test_settings_accept_onnx_int8_and_a_bad_runtime_lists_every_choice():
    from pydantic import ValidationError

    settings = EmbedderSettings(runtime="onnx-int8", threads=2)
    embedder = create_embedder(settings)
    assert (embedder.runtime, embedder.name, embedder._threads) == ("onnx-int8", INT8_NAME, 2)
    with pytest.raises(ValidationError) as e:
        EmbedderSettings(runtime="int8")
    assert "'onnx', 'onnx-int8', 'torch'" in str(e.value)
    with pytest.raises(ValueError, match="runtime must be one of onnx, onnx-int8, torch, got 'int8'"):
        SentenceTransformerEmbedder(runtime="int8")
    with pytest.raises(ValueError, match="onnx-int8 runtime runs on the CPU only"):
        SentenceTransformerEmbedder(runtime="onnx-int8", device="cuda")


@pytest.mark.unit
def test_a_quantiser_that_does_not_load_is_an_error_naming_onnx_and_runtime_onnx(
    tmp_path, monkeypatch
):
    from knowledge_base.onnx_quantization import quantize

    # What onnx 1.15 does to onnxruntime.quantization's import (TensorProto.INT4 is missing).
    monkeypatch.setitem(sys.modules, "onnxruntime.quantization", None)
    with pytest.raises(EmbedderError, match="onnx >= 1.16") as e:
        quantize(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", PACKAGED_MODEL)
    assert "set runtime: onnx" in str(e.value) and not list(tmp_path.iterdir())


@pytest.mark.unit
def test_the_int8_file_sits_next_to_the_export_under_its_own_key(tmp_path):
    from knowledge_base.onnx_quantization import int8_cache_file

    fp32 = tmp_path / "model-abc-torch2.onnx"
    other = tmp_path / "model-def-torch2.onnx"
    assert int8_cache_file(fp32).parent == tmp_path
    assert int8_cache_file(fp32).name.startswith("model-abc-torch2-int8-")
    assert int8_cache_file(fp32) == int8_cache_file(fp32) != int8_cache_file(other)
    assert int8_cache_file(fp32) != fp32


# --- the real model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_embedder(cache):
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="onnx", cache_dir=cache)
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def int8_embedder(cache, onnx_embedder):
    # batch_size 3 < len(SENTENCES): batches are chunked and padded to different lengths.
    embedder = SentenceTransformerEmbedder(
        PACKAGED_MODEL, batch_size=3, runtime="onnx-int8", cache_dir=cache
    )
    embedder.load()
    return embedder


@pytest.mark.integration
@pytest.mark.slow
def test_int8_vectors_are_close_to_fp32_one_by_one_and_in_batches(int8_embedder, onnx_embedder):
    from knowledge_base.onnx_quantization import MIN_INT8_AGREEMENT

    assert int8_embedder.name == INT8_NAME and onnx_embedder.name == PACKAGED_MODEL
    assert int8_embedder.dimensions == 384
    fp32 = onnx_embedder.encode(SENTENCES)
    batched = int8_embedder.encode(SENTENCES)
    single = np.vstack([int8_embedder.encode([s]) for s in SENTENCES])
    np.testing.assert_allclose(batched, single, atol=1e-4)  # padding does not change a vector
    assert batched.dtype == np.float32 and batched.shape == fp32.shape
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(batched * fp32, axis=1)
    # Close, not equal: the reason int8 has a name of its own.
    assert np.mean(cosines) >= MIN_INT8_AGREEMENT and np.min(cosines) >= 0.95
    assert np.max(cosines) < 0.9999
    assert int8_embedder.encode([]).shape == (0, 384)


@pytest.mark.integration
@pytest.mark.slow
def test_int8_is_quantised_once_next_to_the_export_and_reused(
    int8_embedder, cache, monkeypatch
):
    from knowledge_base import onnx_quantization, onnx_runtime

    (fp32,) = [p for p in cache.glob("*.onnx") if "-int8-" not in p.name]
    (int8,) = cache.glob("*-int8-*.onnx")
    assert int8 == onnx_quantization.int8_cache_file(fp32)
    assert int8.stat().st_size < fp32.stat().st_size / 3
    assert not [p for p in cache.iterdir() if p.suffix != ".onnx"]  # no temporaries left
    mtime = int8.stat().st_mtime_ns

    def must_not_run(*args):
        raise AssertionError("quantised or exported again although the cache holds valid files")

    monkeypatch.setattr(onnx_quantization, "quantize", must_not_run)
    monkeypatch.setattr(onnx_runtime, "export_onnx", must_not_run)
    again = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="onnx-int8", cache_dir=cache)
    vector = again.encode(["where is my parcel?"])
    assert int8.stat().st_mtime_ns == mtime and len(list(cache.glob("*.onnx"))) == 2
    np.testing.assert_allclose(vector, int8_embedder.encode(["where is my parcel?"]), atol=1e-6)


@pytest.mark.integration
@pytest.mark.slow
def test_a_corrupt_int8_file_is_quantised_again(int8_embedder, cache, tmp_path, caplog):
    for path in cache.glob("*.onnx"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (int8,) = tmp_path.glob("*-int8-*.onnx")
    int8.write_bytes(b"not a model")
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="onnx-int8", cache_dir=tmp_path)
    with caplog.at_level("WARNING"):
        vector = embedder.encode(["where is my parcel?"])
    assert "quantising it again" in caplog.text and "does not load" in caplog.text
    assert int8.stat().st_size > 1_000_000
    np.testing.assert_allclose(vector, int8_embedder.encode(["where is my parcel?"]), atol=1e-6)


@pytest.mark.integration
@pytest.mark.slow
def test_a_fresh_int8_file_below_the_floor_is_an_error_naming_runtime_onnx(
    int8_embedder, cache, tmp_path, monkeypatch
):
    from knowledge_base import onnx_quantization

    (fp32,) = [p for p in cache.glob("*.onnx") if "-int8-" not in p.name]
    (tmp_path / fp32.name).write_bytes(fp32.read_bytes())
    # As if this CPU's int8 kernels lost more than the measured ~0.01 of cosine.
    monkeypatch.setattr(onnx_quantization, "MIN_INT8_AGREEMENT", 0.9999)
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="onnx-int8", cache_dir=tmp_path)
    with pytest.raises(EmbedderError, match="disagrees with torch") as e:
        embedder.load()
    assert "mean cosine 0.99" in str(e.value) and "set runtime: onnx" in str(e.value)
