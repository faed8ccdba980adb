"""Alembic environment: the URL comes from the caller (renewals.db.migrate) or DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from renewals.db.engine import make_engine
from renewals.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from renewals import settings

    engine = make_engine(config.get_main_option("sqlalchemy.url") or settings.get().database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `renewals migrate`")
run_migrations_online()
