"""Alembic environment: the URL comes from ``Settings`` via ``service.store.migrate``, never a .ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

# Importing each table module registers its tables on SQLModel.metadata.
import service.store.addresses
import service.store.bouncelogs
import service.store.bounces
import service.store.models
import service.store.recipients
import service.store.seen
import service.store.sessions
import service.store.suppressions
import service.store.tokens  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table.
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
