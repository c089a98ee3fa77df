"""The knowledge base's HTTP API, one module-level router per resource.

Search, articles, drafts, files (import and export) and the index. Each resource module has
a `router` for reads and an `admin_router` for writes (or only one of them);
`knowledge_base.api.create_router` binds them to a `KnowledgeBase` and the app's auth checks.
"""

from knowledge_base.routes import articles, drafts, files, index, search

# In this order: reads first, then writes (paths shared by both keep their GET first).
READ_ROUTERS = (search.router, articles.router, index.router)
ADMIN_ROUTERS = (articles.admin_router, drafts.admin_router, files.admin_router, index.admin_router)

__all__ = ["ADMIN_ROUTERS", "READ_ROUTERS"]
