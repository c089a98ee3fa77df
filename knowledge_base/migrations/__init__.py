"""Alembic migrations of the knowledge base's tables (version table ``kb_alembic_version``).

Run by ``knowledge_base.schema.migrate`` at start-up. To add one, copy the latest file in
``versions/``, give it the next ``revision`` id and set ``down_revision`` to the previous one.
"""
