"""The query-vector cache: bounded, least recently used dropped first, keyed by model."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.query_vectors import QueryVectors

pytestmark = [pytest.mark.unit]


def _v(x: float) -> np.ndarray:
    return np.full(4, x, dtype=np.float32)


def test_the_least_recently_used_text_is_dropped_first():
    cache = QueryVectors(size=2)
    cache.put("m", "a", _v(1))
    cache.put("m", "b", _v(2))
    assert cache.get("m", "a") is not None  # "a" is now the most recent
    cache.put("m", "c", _v(3))
    assert len(cache) == 2
    assert cache.get("m", "b") is None
    np.testing.assert_array_equal(cache.get("m", "a"), _v(1))
    np.testing.assert_array_equal(cache.get("m", "c"), _v(3))


def test_vectors_are_kept_per_model_as_private_read_only_copies():
    cache = QueryVectors()
    original = _v(1)
    cache.put("m1", "a", original)
    original[:] = 9  # the caller's array changing later does not change the cached one
    cached = cache.get("m1", "a")
    np.testing.assert_array_equal(cached, _v(1))
    assert not cached.flags.writeable
    assert cache.get("m2", "a") is None


def test_size_zero_caches_nothing():
    cache = QueryVectors(size=0)
    cache.put("m", "a", _v(1))
    assert len(cache) == 0 and cache.get("m", "a") is None
