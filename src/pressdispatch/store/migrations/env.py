"""Alembic environment: the caller hands us a connection (see store/migrate.py)."""

from __future__ import annotations

from alembic import context

from pressdispatch.store.schema import managed, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `pressdispatch db upgrade`")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_name=managed,  # the search index of each database is beside the metadata
)
with context.begin_transaction():
    context.run_migrations()
