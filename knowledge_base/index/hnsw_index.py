"""``HnswIndex``: approximate inner-product search over a FAISS HNSW graph (``IndexHNSWFlat``).

For corpora too large for exact search to stay fast. FAISS's HNSW cannot delete, so this
backend keeps its own label -> id table: a removed or replaced id leaves a dead label that
searches filter out (``IDSelectorNot``), and the graph is rebuilt from its live vectors once
dead labels exceed a fifth of it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from knowledge_base.errors import VectorIndexError
from knowledge_base.index.faiss_index import _faiss
from knowledge_base.index.protocol import (
    IndexManifest,
    as_ids,
    as_vectors,
    check_add,
    empty_result,
)
from knowledge_base.index.snapshot import read_snapshot, write_snapshot

_COMPACT_FRACTION = 0.2  # dead labels beyond this share of the graph trigger a rebuild
_DEAD = -1


class HnswIndex:
    """A ``VectorIndex`` backed by ``IndexHNSWFlat`` (inner product); results are approximate.

    Args:
        dimensions: vector length.
        m: neighbours per node (more: better recall, more memory, slower build).
        ef_construction: search breadth while building.
        ef_search: search breadth per query (at least ``k`` is used).
    """

    TYPE = "hnsw"

    def __init__(
        self, dimensions: int, m: int = 32, ef_construction: int = 200, ef_search: int = 128
    ) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be >= 1")
        self._params = (m, ef_construction, ef_search)
        self._index = self._new_graph(dimensions)
        self._ids = np.zeros(0, dtype=np.int64)  # label -> id, _DEAD for removed labels
        self._label_of: dict[int, int] = {}  # live id -> label
        self._excluded = None  # cached IDSelector of dead labels

    def _new_graph(self, dimensions: int):
        faiss = _faiss()
        m, ef_construction, ef_search = self._params
        index = faiss.IndexHNSWFlat(dimensions, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
        return index

    @property
    def dimensions(self) -> int:
        """Vector length."""
        return int(self._index.d)

    @property
    def ef_search(self) -> int:
        """Search breadth per query; setting it trades speed for recall (the graph stays)."""
        return self._params[2]

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        """Trade speed for recall at query time (the graph stays as built)."""
        self._params = (*self._params[:2], int(value))
        self._index.hnsw.efSearch = int(value)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors[i]`` under ``ids[i]``; a replaced id's old node becomes a dead label."""
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dimensions)
        check_add(ids, vectors)
        if len(ids) == 0:
            return
        self._kill(ids)
        first = int(self._index.ntotal)
        self._index.add(vectors)
        self._ids = np.concatenate([self._ids, ids])
        self._label_of.update(zip(ids.tolist(), range(first, first + len(ids))))
        self._maybe_compact()

    def remove(self, ids: np.ndarray) -> int:
        """Mark these ids dead (unknown ones are ignored); return how many were removed."""
        removed = self._kill(as_ids(ids))
        self._maybe_compact()
        return removed

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate best ``(scores, ids)`` per query row, skipping dead labels.

        At most ``min(k, len)`` columns: when the graph walk reaches fewer live nodes for some
        query, every row is cut to the smallest count found.
        """
        if k < 1:
            raise ValueError("k must be >= 1")
        queries = as_vectors(vectors, self.dimensions)
        live = len(self)
        if live == 0:
            return empty_result(len(queries))
        k = min(k, live)
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self._params[2], k)
        if len(self._label_of) < len(self._ids):
            params.sel = self._excluded_selector()
        scores, labels = self._index.search(queries, k, params=params)
        found = labels >= 0
        if not found.all():  # the graph reached fewer than k live nodes for some query
            k = int(found.sum(axis=1).min())
            scores, labels = scores[:, :k], labels[:, :k]
        return scores.astype(np.float32, copy=False), self._ids[labels]

    def __len__(self) -> int:
        return len(self._label_of)

    def save(self, path: Path, version: int, model: str = "") -> None:
        """Write the graph, its label -> id table and parameters to ``path`` atomically."""
        graph = _faiss().serialize_index(self._index).tobytes()
        buffer = io.BytesIO()
        np.savez(buffer, ids=self._ids, params=np.asarray(self._params, dtype=np.int64))
        payload = len(graph).to_bytes(8, "big") + graph + buffer.getvalue()
        write_snapshot(
            path, IndexManifest(self.TYPE, version, model, self.dimensions, len(self)), payload
        )

    @classmethod
    def load(cls, path: Path) -> tuple[HnswIndex, IndexManifest]:
        """Read a file written by `save`; raise VectorIndexError if it is not one."""
        manifest, payload = read_snapshot(path, cls.TYPE)
        faiss = _faiss()
        size = int.from_bytes(payload[:8], "big")
        try:
            graph = faiss.deserialize_index(np.frombuffer(payload[8 : 8 + size], dtype=np.uint8))
            with np.load(io.BytesIO(payload[8 + size :]), allow_pickle=False) as data:
                ids, params = data["ids"].astype(np.int64), data["params"].tolist()
        except (RuntimeError, ValueError, KeyError, OSError, zipfile.BadZipFile) as e:
            raise VectorIndexError(
                f"{path}: the HNSW index cannot be read ({e}); delete the file to rebuild"
            ) from e
        live = ids[ids != _DEAD]
        if (
            not isinstance(graph, faiss.IndexHNSWFlat)
            or graph.d != manifest.dimensions
            or graph.ntotal != len(ids)
            or len(live) != manifest.count
            or len(params) != 3
        ):
            raise VectorIndexError(
                f"{path}: the HNSW index does not match its manifest ({manifest}); delete the "
                "file to rebuild"
            )
        index = cls.__new__(cls)
        index._params = tuple(int(p) for p in params)
        index._index = graph
        index._index.hnsw.efSearch = index._params[2]
        index._ids = ids
        index._label_of = {int(i): int(label) for label, i in enumerate(ids.tolist()) if i != _DEAD}
        index._excluded = None
        return index, manifest

    # -- dead labels -----------------------------------------------------------------------

    def _kill(self, ids: np.ndarray) -> int:
        labels = [self._label_of.pop(i) for i in ids.tolist() if i in self._label_of]
        if labels:
            self._ids[labels] = _DEAD
            self._excluded = None
        return len(labels)

    def _excluded_selector(self):
        if self._excluded is None:
            faiss = _faiss()
            dead = np.flatnonzero(self._ids == _DEAD).astype(np.int64)
            batch = faiss.IDSelectorBatch(dead)
            self._excluded = (faiss.IDSelectorNot(batch), batch)  # keep the inner one alive
        return self._excluded[0]

    def _maybe_compact(self) -> None:
        dead = len(self._ids) - len(self._label_of)
        if dead == 0 or dead < _COMPACT_FRACTION * len(self._ids):
            return
        keep = np.flatnonzero(self._ids != _DEAD)
        vectors = self._index.reconstruct_n(0, int(self._index.ntotal))[keep]
        ids = self._ids[keep]
        self._index = self._new_graph(self.dimensions)
        self._ids = np.zeros(0, dtype=np.int64)
        self._label_of = {}
        self._excluded = None
        if len(ids):
            self._index.add(np.ascontiguousarray(vectors))
            self._ids = ids
            self._label_of = {int(i): n for n, i in enumerate(ids.tolist())}
