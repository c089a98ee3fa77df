"""Vector indexes: the ``VectorIndex`` protocol, its backends and their factory."""

from knowledge_base.index.factory import create_index, index_class, load_index
from knowledge_base.index.faiss_index import FaissIndex
from knowledge_base.index.hnsw_index import HnswIndex
from knowledge_base.index.memory import InMemoryIndex
from knowledge_base.index.protocol import IndexManifest, VectorIndex

__all__ = [
    "FaissIndex",
    "HnswIndex",
    "InMemoryIndex",
    "IndexManifest",
    "VectorIndex",
    "create_index",
    "index_class",
    "load_index",
]
