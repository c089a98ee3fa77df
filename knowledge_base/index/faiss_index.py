"""``FaissIndex``: exact inner-product search with FAISS (``IndexIDMap2(IndexFlatIP)``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _faiss() -> Any:
    # Imported on first use so `import knowledge_base` stays light.
    import faiss

    return faiss


class FaissIndex:
    """A ``VectorIndex`` backed by a flat (exact) FAISS index with explicit ids."""

    TYPE = "faiss"

    def __init__(self, dimensions: int) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be >= 1")
        faiss = _faiss()
        self._flat = faiss.IndexFlatIP(dimensions)  # held so the wrapper's storage outlives it
        self._index = faiss.IndexIDMap2(self._flat)

    @property
    def dimensions(self) -> int:
        """Vector length."""
        return int(self._index.d)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors[i]`` under ``ids[i]``, replacing ids already present."""
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dimensions)
        check_add(ids, vectors)
        if len(ids) == 0:
            return
        self.remove(ids)
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (unknown ones are ignored); return how many were removed."""
        ids = as_ids(ids)
        if len(ids) == 0 or self._index.ntotal == 0:
            return 0
        return int(self._index.remove_ids(_faiss().IDSelectorBatch(ids)))

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``min(k, len)`` best ``(scores, ids)`` per query row, by exhaustive search."""
        if k < 1:
            raise ValueError("k must be >= 1")
        queries = as_vectors(vectors, self.dimensions)
        if self._index.ntotal == 0:
            return empty_result(len(queries))
        scores, ids = self._index.search(queries, min(k, self._index.ntotal))
        return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def save(self, path: Path, version: int, model: str = "") -> None:
        """Write the serialized FAISS index and its manifest to ``path`` atomically."""
        payload = _faiss().serialize_index(self._index).tobytes()
        manifest = IndexManifest(self.TYPE, version, model, self.dimensions, len(self))
        write_snapshot(path, manifest, payload)

    @classmethod
    def load(cls, path: Path) -> tuple[FaissIndex, IndexManifest]:
        """Read a file written by `save`; raise VectorIndexError if it is not one."""
        manifest, payload = read_snapshot(path, cls.TYPE)
        faiss = _faiss()
        try:
            loaded = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        except RuntimeError as e:  # FAISS reports corrupt input as RuntimeError
            raise VectorIndexError(
                f"{path}: FAISS cannot read the index ({e}); delete the file to rebuild"
            ) from e
        if (
            not isinstance(loaded, faiss.IndexIDMap2)
            or loaded.d != manifest.dimensions
            or loaded.ntotal != manifest.count
        ):
            raise VectorIndexError(
                f"{path}: the FAISS index does not match its manifest ({manifest}); delete the "
                "file to rebuild"
            )
        index = cls.__new__(cls)
        index._index = loaded
        index._flat = faiss.downcast_index(loaded.index)
        return index, manifest
