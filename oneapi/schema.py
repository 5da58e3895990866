"""Bring the database schema up to date at start, as One API's auto-migration does.

A fresh database is created by the Alembic migrations. A database written by One API (its tables, no
Alembic version table) is adopted: tables or columns it lacks are added, nothing else is touched,
and it is stamped with the current revision. Slave nodes leave the schema alone, as in One API.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade

from oneapi.extensions import db

log = logging.getLogger("oneapi")

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


@dataclass(frozen=True)
class Bind:
    name: str
    key: str | None
    version_table: str


BINDS = (Bind("main", None, "alembic_version"), Bind("logs", "logs", "alembic_version_logs"))


def prepare_database() -> None:
    """Adopt a One API database if needed, then apply pending migrations (inside an app context)."""
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config(MIGRATIONS_DIR))
    for bind in BINDS:
        _adopt_if_foreign(bind, script)
    upgrade(directory=MIGRATIONS_DIR)


def _adopt_if_foreign(bind: Bind, script: ScriptDirectory) -> None:
    metadata = db.metadatas[bind.key]
    with db.engines[bind.key].begin() as connection:
        existing = set(sa.inspect(connection).get_table_names())
        ours = set(metadata.tables)
        if bind.version_table in existing or not (ours & existing):
            return
        log.info("adopting a One API database (%s): %s", bind.name, ", ".join(sorted(ours & existing)))
        context = MigrationContext.configure(connection, opts={"version_table": bind.version_table})
        _add_missing(connection, context, metadata, existing)
        context.stamp(script, "heads")


def _add_missing(connection: sa.Connection, context: MigrationContext, metadata: sa.MetaData,
                 existing: set[str]) -> None:
    metadata.create_all(connection, tables=[t for n, t in metadata.tables.items() if n not in existing])
    operations = Operations(context)
    inspector = sa.inspect(connection)
    for name, table in metadata.tables.items():
        if name not in existing:
            continue
        present = {c["name"] for c in inspector.get_columns(name)}
        for column in table.columns:
            if column.name not in present:
                log.info("adding column %s.%s", name, column.name)
                added = column._copy()
                added.nullable = True
                operations.add_column(name, added)


class SchemaMissing(RuntimeError):
    """A slave node found no schema: a master must start first."""


def require_schema() -> None:
    for bind in BINDS:
        present = set(sa.inspect(db.engines[bind.key]).get_table_names())
        missing = set(db.metadatas[bind.key].tables) - present
        if missing:
            raise SchemaMissing(f"NODE_TYPE=slave does not create tables and the {bind.name} database lacks "
                                f"{', '.join(sorted(missing))}: start a master node on it first")
