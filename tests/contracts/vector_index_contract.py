"""The ``VectorIndex`` contract: every backend runs it by subclassing ``VectorIndexContract``.

A subclass supplies ``index_class`` (the backend) as a class attribute.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from knowledge_base.errors import VectorIndexError

DIMS = 8


def unit(rows) -> np.ndarray:
    arr = np.asarray(rows, dtype=np.float32).reshape(-1, DIMS)
    return arr / np.linalg.norm(arr, axis=1, keepdims=True)


def axis(i: int) -> np.ndarray:
    v = np.zeros(DIMS, dtype=np.float32)
    v[i] = 1.0
    return v


class VectorIndexContract:
    index_class: type

    def new(self, dims: int = DIMS):
        return self.index_class(dims)

    def test_empty_index_searches_to_no_hits(self):
        index = self.new()
        scores, ids = index.search(unit(np.ones((2, DIMS))), 5)
        assert len(index) == 0
        assert scores.shape == (2, 0) and ids.shape == (2, 0)
        assert scores.dtype == np.float32 and ids.dtype == np.int64

    def test_search_ranks_by_descending_inner_product(self):
        index = self.new()
        query = unit([[1, 0.2, 0, 0, 0, 0, 0, 0]])
        index.add(np.array([7, 3, 9]), unit([axis(2), axis(0), [1, 1, 0, 0, 0, 0, 0, 0]]))
        scores, ids = index.search(query, 3)
        assert ids.tolist() == [[3, 9, 7]]
        assert scores[0, 0] == pytest.approx(float(query[0] @ axis(0)), abs=1e-6)
        assert list(scores[0]) == sorted(scores[0], reverse=True)

    def test_k_is_capped_by_the_index_size(self):
        index = self.new()
        index.add(np.array([1, 2]), unit([axis(0), axis(1)]))
        scores, ids = index.search(unit([axis(0)]), 10)
        assert ids.shape == (1, 2) and scores.shape == (1, 2)
        assert set(ids[0].tolist()) == {1, 2}

    def test_search_matches_brute_force_on_random_vectors(self):
        rng = np.random.default_rng(7)
        vectors = unit(rng.normal(size=(60, DIMS)))
        ids = np.arange(1000, 1060)
        index = self.new()
        index.add(ids, vectors)
        queries = unit(rng.normal(size=(4, DIMS)))
        scores, found = index.search(queries, 5)
        expected = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :5]]
        assert found.tolist() == expected.tolist()
        np.testing.assert_allclose(
            scores, np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :5], atol=1e-5
        )

    def test_adding_an_existing_id_replaces_its_vector(self):
        index = self.new()
        index.add(np.array([5, 6]), unit([axis(0), axis(1)]))
        index.add(np.array([5]), unit([axis(2)]))
        assert len(index) == 2
        scores, ids = index.search(unit([axis(2)]), 1)
        assert ids.tolist() == [[5]] and scores[0, 0] == pytest.approx(1.0, abs=1e-6)
        scores, _ = index.search(unit([axis(0)]), 2)
        assert scores.max() == pytest.approx(0.0, abs=1e-6)  # the old vector of 5 is gone

    def test_add_rejects_bad_input(self):
        index = self.new()
        with pytest.raises(ValueError):
            index.add(np.array([1, 1]), unit([axis(0), axis(1)]))
        with pytest.raises(ValueError):
            index.add(np.array([1]), np.ones((1, DIMS + 1), np.float32))
        with pytest.raises(ValueError):
            index.add(np.array([1, 2, 3]), unit([axis(0), axis(1)]))
        assert len(index) == 0

    def test_remove_drops_ids_and_ignores_unknown_ones(self):
        index = self.new()
        index.add(np.array([1, 2, 3]), unit([axis(0), axis(1), axis(2)]))
        assert index.remove(np.array([2, 99])) == 1
        assert index.remove(np.array([], dtype=np.int64)) == 0
        assert len(index) == 2
        _, ids = index.search(unit([axis(1)]), 3)
        assert 2 not in ids[0].tolist()

    def test_save_and_load_round_trip_with_manifest(self, tmp_path):
        index = self.new()
        index.add(np.array([11, 12, 13]), unit([axis(0), axis(1), axis(2)]))
        path = tmp_path / "kb.index"
        index.save(path, 42, "model-x")
        loaded, manifest = self.index_class.load(path)
        assert isinstance(loaded, self.index_class)
        assert (manifest.version, manifest.model, manifest.dimensions, manifest.count) == (
            42,
            "model-x",
            DIMS,
            3,
        )
        assert len(loaded) == 3 and loaded.dimensions == DIMS
        query = unit([[0.1, 1, 0.3, 0, 0, 0, 0, 0]])
        for a, b in zip(index.search(query, 3), loaded.search(query, 3)):
            np.testing.assert_array_equal(a, b)
        loaded.add(np.array([14]), unit([axis(3)]))  # a loaded index stays writable
        assert len(loaded) == 4

    def test_save_of_an_empty_index_round_trips(self, tmp_path):
        self.new().save(tmp_path / "empty.index", 0)
        loaded, manifest = self.index_class.load(tmp_path / "empty.index")
        assert len(loaded) == 0 and manifest.count == 0 and manifest.version == 0

    def test_save_replaces_atomically_and_leaves_no_temp_files(self, tmp_path):
        path = tmp_path / "kb.index"
        index = self.new()
        index.add(np.array([1]), unit([axis(0)]))
        index.save(path, 1)
        index.add(np.array([2]), unit([axis(1)]))
        index.save(path, 2)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.index"]
        assert self.index_class.load(path)[1].version == 2

    def test_failed_save_keeps_the_old_file_and_cleans_up(self, tmp_path, monkeypatch):
        path = tmp_path / "kb.index"
        index = self.new()
        index.add(np.array([1]), unit([axis(0)]))
        index.save(path, 1)
        before = path.read_bytes()

        def broken_fsync(fd):
            raise OSError("disk full")

        monkeypatch.setattr(os, "fsync", broken_fsync)
        index.add(np.array([2]), unit([axis(1)]))
        with pytest.raises(OSError, match="disk full"):
            index.save(path, 2)
        monkeypatch.undo()
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.index"]

    def test_load_rejects_missing_and_garbage_files(self, tmp_path):
        with pytest.raises(VectorIndexError):
            self.index_class.load(tmp_path / "missing.index")
        (tmp_path / "garbage.index").write_bytes(b"not an index at all")
        with pytest.raises(VectorIndexError, match="not a tier1 index"):
            self.index_class.load(tmp_path / "garbage.index")

    def test_load_rejects_a_truncated_file(self, tmp_path):
        index = self.new()
        index.add(np.arange(20), unit(np.random.default_rng(1).normal(size=(20, DIMS))))
        path = tmp_path / "kb.index"
        index.save(path, 3)
        path.write_bytes(path.read_bytes()[:-200])
        with pytest.raises(VectorIndexError):
            self.index_class.load(path)
