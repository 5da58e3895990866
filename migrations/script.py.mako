"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade(engine_name):
    globals()[f"upgrade_{engine_name}"]()


def downgrade(engine_name):
    globals()[f"downgrade_{engine_name}"]()


def upgrade_main():
    ${context.get("main_upgrades", "pass")}


def downgrade_main():
    ${context.get("main_downgrades", "pass")}


def upgrade_logs():
    ${context.get("logs_upgrades", "pass")}


def downgrade_logs():
    ${context.get("logs_downgrades", "pass")}
