"""The Alembic history and the models describe the same schema, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from renewals.db.migrate import alembic_config
from renewals.db.models import Base


def test_migrations_and_models_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"run `alembic revision --autogenerate`; differences: {diff}"


def test_migration_history_is_a_single_line(engine):
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    assert len(script.get_heads()) == 1, script.get_heads()
