"""tier1's knowledge base: articles in SQL, question vectors in FAISS, one decision function.

Importing this package is cheap: FAISS, sentence-transformers and torch load on first use.
"""

from knowledge_base import errors
from knowledge_base.decision import Decision, clarify_options, decide, decide_explained
from knowledge_base.embedder import (
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    create_embedder,
)
from knowledge_base.index import FaissIndex, HnswIndex, InMemoryIndex, VectorIndex, create_index
from knowledge_base.records import Article, ArticleStatus, Hit, ImportReport, Revision, SearchResult
from knowledge_base.service import KnowledgeBase
from knowledge_base.settings import KnowledgeBaseSettings


def __getattr__(name: str):
    # The router pulls in FastAPI; only the app needs it, so it loads on first access.
    if name == "create_router":
        from knowledge_base.api import create_router

        return create_router
    raise AttributeError(f"module 'knowledge_base' has no attribute {name!r}")


__all__ = [
    "Article",
    "ArticleStatus",
    "Decision",
    "Embedder",
    "FaissIndex",
    "HashingEmbedder",
    "Hit",
    "HnswIndex",
    "ImportReport",
    "InMemoryIndex",
    "KnowledgeBase",
    "KnowledgeBaseSettings",
    "Revision",
    "SearchResult",
    "SentenceTransformerEmbedder",
    "VectorIndex",
    "clarify_options",
    "create_embedder",
    "create_index",
    "create_router",
    "decide",
    "decide_explained",
    "errors",
]
