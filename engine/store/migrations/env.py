"""Alembic environment: runs on the connection handed over by engine.store.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import engine.store  # noqa: F401  (registers every table on SQLModel.metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    from engine.store.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///switchboard.db"
    connection = make_engine(url).connect()

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
