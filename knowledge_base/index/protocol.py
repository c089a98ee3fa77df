"""The vector index protocol: a few primitives over (id, vector) pairs, nothing else.

Policy (what to index, when to rebuild, thresholds) lives in the service above it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class IndexManifest:
    """What a saved index holds: recorded beside the vectors in the same file.

    Attributes:
        type: the backend that wrote the file (``faiss``, ``hnsw`` or ``memory``).
        version: the knowledge-base version the vectors reflect.
        model: the embedder name the vectors come from.
        dimensions: vector length.
        count: number of vectors.
    """

    type: str
    version: int
    model: str
    dimensions: int
    count: int

    def to_dict(self) -> dict[str, Any]:
        """The manifest as a plain dict (JSON-ready)."""
        return asdict(self)


@runtime_checkable
class VectorIndex(Protocol):
    """Inner-product search over vectors keyed by int64 ids.

    Exact or approximate depending on the backend: ``FaissIndex`` and ``InMemoryIndex`` search
    exhaustively, ``HnswIndex`` walks a graph and may miss a true neighbour. Vectors are
    expected to be L2-normalised so scores are cosine similarities. Not thread-safe: callers
    serialise writes against reads (searches may run concurrently).
    """

    @property
    def dimensions(self) -> int:
        """Vector length."""
        ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors[i]`` under ``ids[i]``; an id already present is replaced.

        Raises:
            ValueError: mismatched shapes, wrong dimensions or an id repeated in ``ids``.
        """
        ...

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (unknown ids are ignored); return how many were removed."""
        ...

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Find the ``k`` best ids for each query row.

        Returns:
            ``(scores, ids)``: float32 and int64 arrays of shape ``(n_queries, m)``, each row
            ordered by descending score. ``m`` is ``min(k, len)`` for an exact backend; an
            approximate one (``HnswIndex``) may find fewer. An empty index gives
            ``(n_queries, 0)``.
        """
        ...

    def __len__(self) -> int: ...

    def save(self, path: Path, version: int, model: str = "") -> None:
        """Write the index and its manifest to ``path`` atomically.

        The file is written to a temporary file in the same directory, flushed, fsynced and
        renamed over ``path``: a reader sees the old file or the new one, never a torn one.
        """
        ...

    @classmethod
    def load(cls, path: Path) -> tuple[VectorIndex, IndexManifest]:
        """Read an index written by ``save`` of the same backend (returns an instance of ``cls``).

        Raises:
            VectorIndexError: the file is missing, truncated, from another backend or
                inconsistent with its manifest.
        """
        ...


def as_ids(ids: Any) -> np.ndarray:
    """Normalise ids to a 1-D int64 array."""
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def as_vectors(vectors: Any, dimensions: int) -> np.ndarray:
    """Normalise vectors to a C-contiguous float32 ``(n, dimensions)`` array."""
    arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dimensions:
        raise ValueError(f"expected vectors of shape (n, {dimensions}), got {arr.shape}")
    return arr


def check_add(ids: np.ndarray, vectors: np.ndarray) -> None:
    """Raise ValueError unless there is one vector per id and no id repeats."""
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("ids passed to add() must be unique")


def empty_result(n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(scores, ids)`` of a search that found nothing: ``n_queries`` empty rows."""
    return np.zeros((n_queries, 0), dtype=np.float32), np.zeros((n_queries, 0), dtype=np.int64)
