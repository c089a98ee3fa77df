"""The admin console: its API, the learning loop behind it and its static front end.

The API is `tier1.admin.api`; the learning loop `tier1.admin.learning`, with its own table and
migrations; the front end ``web/``.

It lives in `tier1` because it spans both packages: it reads the knowledge base and the
handoff module's conversations and analytics, and needs their routers composed.
"""
