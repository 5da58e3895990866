"""users.session_epoch: a counter raised to end every cookie session of a user.

One API does not know the column and ignores it; a user it inserts gets the server default 0.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-14
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()[f"upgrade_{engine_name}"]()


def downgrade(engine_name):
    globals()[f"downgrade_{engine_name}"]()


def upgrade_main():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True))


def downgrade_main():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_epoch')


def upgrade_logs():
    pass


def downgrade_logs():
    pass
