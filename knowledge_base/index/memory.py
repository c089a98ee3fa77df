"""``InMemoryIndex``: exact inner-product search in numpy; the test twin of ``FaissIndex``."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from knowledge_base.errors import VectorIndexError
from knowledge_base.index.protocol import (
    IndexManifest,
    as_ids,
    as_vectors,
    check_add,
    empty_result,
)
from knowledge_base.index.snapshot import read_snapshot, write_snapshot


class InMemoryIndex:
    """A ``VectorIndex`` over two numpy arrays. Ties are ordered by ascending id."""

    TYPE = "memory"

    def __init__(self, dimensions: int) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be >= 1")
        self._dimensions = dimensions
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dimensions), dtype=np.float32)

    @property
    def dimensions(self) -> int:
        """Vector length."""
        return self._dimensions

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors[i]`` under ``ids[i]``, replacing ids already present."""
        ids, vectors = as_ids(ids), as_vectors(vectors, self._dimensions)
        check_add(ids, vectors)
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, vectors])

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (unknown ones are ignored); return how many were removed."""
        drop = np.isin(self._ids, as_ids(ids))
        removed = int(drop.sum())
        if removed:
            self._ids, self._vectors = self._ids[~drop], self._vectors[~drop]
        return removed

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``min(k, len)`` best ``(scores, ids)`` per query row, by exhaustive search."""
        if k < 1:
            raise ValueError("k must be >= 1")
        queries = as_vectors(vectors, self._dimensions)
        if len(self._ids) == 0:
            return empty_result(len(queries))
        k = min(k, len(self._ids))
        scores = queries @ self._vectors.T
        order = np.stack([np.lexsort((self._ids, -row))[:k] for row in scores])
        return (
            np.take_along_axis(scores, order, axis=1).astype(np.float32),
            self._ids[order],
        )

    def __len__(self) -> int:
        return len(self._ids)

    def save(self, path: Path, version: int, model: str = "") -> None:
        """Write the ids and vectors (npz) and the manifest to ``path`` atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, ids=self._ids, vectors=self._vectors)
        manifest = IndexManifest(self.TYPE, version, model, self._dimensions, len(self))
        write_snapshot(path, manifest, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> tuple[InMemoryIndex, IndexManifest]:
        """Read a file written by `save`; raise VectorIndexError if it is not one."""
        manifest, payload = read_snapshot(path, cls.TYPE)
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as data:
                ids, vectors = data["ids"], data["vectors"]
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as e:
            raise VectorIndexError(
                f"{path}: the vectors cannot be read ({e}); delete the file to rebuild"
            ) from e
        if vectors.shape != (manifest.count, manifest.dimensions) or ids.shape != (manifest.count,):
            raise VectorIndexError(
                f"{path}: holds {vectors.shape} vectors but its manifest says "
                f"({manifest.count}, {manifest.dimensions}); delete the file to rebuild"
            )
        index = cls(manifest.dimensions)
        index._ids = ids.astype(np.int64)
        index._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return index, manifest
