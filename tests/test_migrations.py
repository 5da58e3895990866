"""The Alembic history has one head, and `upgrade head` on an empty database gives exactly the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from oneapi.extensions import db
from oneapi.schema import BINDS, MIGRATIONS_DIR


def test_the_migration_history_has_a_single_head(app):
    config = current_app.extensions["migrate"].migrate.get_config(MIGRATIONS_DIR)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgraded_database_matches_the_models(app):
    for bind in BINDS:
        with db.engines[bind.key].connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": bind.version_table})
            differences = compare_metadata(context, db.metadatas[bind.key])
        ignored = {"alembic_version", "alembic_version_logs"}
        relevant = [d for d in differences if not _about_other_bind(d, db.metadatas[bind.key], ignored)]
        assert relevant == [], f"{bind.name}: {relevant}"


def _about_other_bind(diff, metadata, ignored) -> bool:
    """Tables of the other bind (logs live in the main database by default) are not differences."""
    if diff[0] == "remove_table":
        return diff[1].name in ignored or diff[1].name not in metadata.tables
    if diff[0] == "remove_index":
        return diff[1].table.name not in metadata.tables
    return False
