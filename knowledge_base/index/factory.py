"""The one factory for vector indexes, keyed by ``knowledge_base.index.type``.

``auto`` is not a backend of its own: it chooses exact search (``faiss``) or HNSW (``hnsw``)
by the number of vectors, so the type follows the corpus size.
"""

from __future__ import annotations

from pathlib import Path

from knowledge_base.errors import UnsupportedBackend, VectorIndexError
from knowledge_base.index.faiss_index import FaissIndex
from knowledge_base.index.hnsw_index import HnswIndex
from knowledge_base.index.memory import InMemoryIndex
from knowledge_base.index.protocol import IndexManifest, VectorIndex
from knowledge_base.index.snapshot import read_manifest
from knowledge_base.settings import IndexSettings

_BACKENDS: dict[str, type] = {"faiss": FaissIndex, "hnsw": HnswIndex, "memory": InMemoryIndex}
_AUTO = "auto"


def index_class(settings: IndexSettings, size: int = 0) -> type:
    """The backend class for ``settings.type`` holding ``size`` vectors.

    Raises:
        UnsupportedBackend: an unknown type.
    """
    if settings.type == _AUTO:
        return HnswIndex if size > settings.hnsw_above else FaissIndex
    try:
        return _BACKENDS[settings.type]
    except KeyError:
        raise UnsupportedBackend(
            f"unknown knowledge_base.index.type {settings.type!r}; "
            f"use one of {_AUTO}, {', '.join(_BACKENDS)}"
        ) from None


def create_index(settings: IndexSettings, dimensions: int, size: int = 0) -> VectorIndex:
    """An empty index of the backend the settings choose for ``size`` vectors."""
    cls = index_class(settings, size)
    if cls is HnswIndex:
        return HnswIndex(
            dimensions,
            m=settings.hnsw_m,
            ef_construction=settings.hnsw_ef_construction,
            ef_search=settings.hnsw_ef_search,
        )
    return cls(dimensions)


def load_index(settings: IndexSettings, path: Path) -> tuple[VectorIndex, IndexManifest]:
    """Load a saved index the settings allow (see ``VectorIndex.load``).

    With ``auto`` the file may hold either candidate backend; the caller checks the loaded
    class against ``index_class(settings, manifest.count)`` if it cares.

    Raises:
        VectorIndexError: unreadable, corrupt, or written by a backend the settings exclude.
    """
    if settings.type != _AUTO:
        return index_class(settings).load(path)
    written_by = read_manifest(path).type
    if written_by not in ("faiss", "hnsw"):
        raise VectorIndexError(
            f"{path} was written by the {written_by!r} index, which index.type auto never "
            "uses; delete it and restart: tier1 rebuilds the index from the database"
        )
    return _BACKENDS[written_by].load(path)
