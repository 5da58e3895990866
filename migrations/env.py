"""Alembic environment: one revision history, applied to the main database and to the logs database.

Each revision has `upgrade_main`/`upgrade_logs` halves; each database keeps its own version table, so
`LOG_SQL_DSN` can point the logs elsewhere. Databases are migrated one after the other (never two
open transactions on one SQLite file).
"""

from alembic import context
from flask import current_app

from oneapi.schema import BINDS

config = context.config


def run_migrations_online() -> None:
    db = current_app.extensions["migrate"].db
    for bind in BINDS:
        engine = db.engines[bind.key]
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=db.metadatas[bind.key],
                version_table=bind.version_table,
                render_as_batch=connection.dialect.name == "sqlite",
                upgrade_token=f"{bind.name}_upgrades",
                downgrade_token=f"{bind.name}_downgrades",
            )
            with context.begin_transaction():
                context.run_migrations(engine_name=bind.name)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run them against a database")
run_migrations_online()
