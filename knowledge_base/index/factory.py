"""The one factory for vector indexes, keyed by ``knowledge_base.index.type``."""

from __future__ import annotations

from pathlib import Path

from knowledge_base.errors import UnsupportedBackend
from knowledge_base.index.faiss_index import FaissIndex
from knowledge_base.index.memory import InMemoryIndex
from knowledge_base.index.protocol import IndexManifest, VectorIndex
from knowledge_base.settings import IndexSettings

_BACKENDS: dict[str, type] = {"faiss": FaissIndex, "memory": InMemoryIndex}


def index_class(settings: IndexSettings) -> type:
    """The backend class for ``settings.type``.

    Raises:
        UnsupportedBackend: an unknown type.
    """
    try:
        return _BACKENDS[settings.type]
    except KeyError:
        raise UnsupportedBackend(
            f"unknown knowledge_base.index.type {settings.type!r}; "
            f"use one of {', '.join(_BACKENDS)}"
        ) from None


def create_index(settings: IndexSettings, dimensions: int) -> VectorIndex:
    """An empty index of the configured backend."""
    return index_class(settings)(dimensions)


def load_index(settings: IndexSettings, path: Path) -> tuple[VectorIndex, IndexManifest]:
    """Load a saved index of the configured backend (see ``VectorIndex.load``)."""
    return index_class(settings).load(path)
