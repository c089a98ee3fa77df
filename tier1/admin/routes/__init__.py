"""The admin API, one module-level router per resource: the unanswered inbox and analytics.

`tier1.admin.api.create_router` binds `ROUTERS`, in this order, to the services and the
app's admin check under ``/api/admin``.
"""

from tier1.admin.routes import analytics, unanswered

ROUTERS = (unanswered.router, analytics.router)

__all__ = ["ROUTERS"]
