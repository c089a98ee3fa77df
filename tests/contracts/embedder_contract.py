"""The ``Embedder`` contract: every implementation runs it by subclassing ``EmbedderContract``.

A subclass supplies an ``embedder`` fixture (module- or session-scoped for real models).
"""

from __future__ import annotations

import numpy as np

from knowledge_base.embedder import Embedder

TEXTS = ["How do I reset my password?", "I forgot my password", "Where is my parcel?"]


class EmbedderContract:
    def test_satisfies_the_protocol(self, embedder):
        assert isinstance(embedder, Embedder)
        assert isinstance(embedder.name, str) and embedder.name
        assert isinstance(embedder.dimensions, int) and embedder.dimensions > 0

    def test_encodes_to_float32_rows_of_the_declared_size(self, embedder):
        vectors = embedder.encode(TEXTS)
        assert vectors.dtype == np.float32
        assert vectors.shape == (len(TEXTS), embedder.dimensions)

    def test_rows_are_unit_length(self, embedder):
        norms = np.linalg.norm(embedder.encode(TEXTS + ["", "!!!", "a " * 300]), axis=1)
        np.testing.assert_allclose(norms, 1.0, atol=1e-5)

    def test_is_deterministic_and_independent_of_batching(self, embedder):
        batch = embedder.encode(TEXTS)
        np.testing.assert_allclose(embedder.encode(TEXTS), batch, atol=1e-6)
        alone = np.vstack([embedder.encode([t]) for t in TEXTS])
        np.testing.assert_allclose(alone, batch, atol=1e-5)

    def test_an_empty_batch_gives_an_empty_matrix(self, embedder):
        vectors = embedder.encode([])
        assert vectors.shape == (0, embedder.dimensions) and vectors.dtype == np.float32

    def test_similar_texts_are_closer_than_unrelated_ones(self, embedder):
        reset, forgot, parcel = embedder.encode(TEXTS)
        assert float(reset @ forgot) > float(reset @ parcel) + 0.1
