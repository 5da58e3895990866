"""Initial schema: One API's seven tables with its names, columns, defaults and indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()[f"upgrade_{engine_name}"]()


def downgrade(engine_name):
    globals()[f"downgrade_{engine_name}"]()


def upgrade_main():
    op.create_table('abilities',
    sa.Column('group', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=191), nullable=False),
    sa.Column('channel_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=True),
    sa.Column('priority', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True),
    sa.PrimaryKeyConstraint('group', 'model', 'channel_id', name=op.f('pk_abilities')),
    mysql_charset='utf8mb4',
    )
    op.create_index(op.f('idx_abilities_channel_id'), 'abilities', ['channel_id'], unique=False)
    op.create_index(op.f('idx_abilities_priority'), 'abilities', ['priority'], unique=False)
    op.create_table('channels',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('type', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False),
    sa.Column('key', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('status', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='1', nullable=False),
    sa.Column('name', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('weight', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True),
    sa.Column('created_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('test_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('response_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('base_url', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), server_default='', nullable=True),
    sa.Column('other', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('balance', sa.Float().with_variant(mysql.DOUBLE(), 'mariadb').with_variant(mysql.DOUBLE(), 'mysql').with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('balance_updated_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('models', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('group', sa.String(length=32), server_default='default', nullable=False),
    sa.Column('used_quota', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False),
    sa.Column('model_mapping', sa.String(length=1024), server_default='', nullable=True),
    sa.Column('priority', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True),
    sa.Column('config', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('system_prompt', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    mysql_charset='utf8mb4',
    )
    op.create_index(op.f('idx_channels_name'), 'channels', ['name'], unique=False)
    op.create_table('options',
    sa.Column('key', sa.String(length=191), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_options')),
    mysql_charset='utf8mb4',
    )
    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('key', sa.CHAR(length=32), nullable=True),
    sa.Column('status', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='1', nullable=False),
    sa.Column('name', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('quota', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='100', nullable=False),
    sa.Column('created_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('redeemed_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    mysql_charset='utf8mb4',
    )
    op.create_index('idx_redemptions_key', 'redemptions', ['key'], unique=True)
    op.create_index(op.f('idx_redemptions_name'), 'redemptions', ['name'], unique=False)
    op.create_table('tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('key', sa.CHAR(length=48), nullable=True),
    sa.Column('status', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='1', nullable=False),
    sa.Column('name', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('created_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('accessed_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('expired_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='-1', nullable=False),
    sa.Column('remain_quota', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False),
    sa.Column('unlimited_quota', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('used_quota', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False),
    sa.Column('models', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('subnet', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), server_default='', nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    mysql_charset='utf8mb4',
    )
    op.create_index('idx_tokens_key', 'tokens', ['key'], unique=True)
    op.create_index(op.f('idx_tokens_name'), 'tokens', ['name'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('password', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('display_name', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('role', sa.Integer(), server_default='1', nullable=False),
    sa.Column('status', sa.Integer(), server_default='1', nullable=False),
    sa.Column('email', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('github_id', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('wechat_id', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('lark_id', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('oidc_id', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), nullable=True),
    sa.Column('access_token', sa.CHAR(length=32), nullable=True),
    sa.Column('quota', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False),
    sa.Column('used_quota', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False),
    sa.Column('request_count', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False),
    sa.Column('group', sa.String(length=32), server_default='default', nullable=False),
    sa.Column('aff_code', sa.String(length=32), nullable=True),
    sa.Column('inviter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    mysql_charset='utf8mb4',
    )
    op.create_index('idx_users_access_token', 'users', ['access_token'], unique=True)
    op.create_index('idx_users_aff_code', 'users', ['aff_code'], unique=True)
    op.create_index(op.f('idx_users_display_name'), 'users', ['display_name'], unique=False)
    op.create_index(op.f('idx_users_email'), 'users', ['email'], unique=False)
    op.create_index(op.f('idx_users_github_id'), 'users', ['github_id'], unique=False)
    op.create_index(op.f('idx_users_inviter_id'), 'users', ['inviter_id'], unique=False)
    op.create_index(op.f('idx_users_lark_id'), 'users', ['lark_id'], unique=False)
    op.create_index(op.f('idx_users_oidc_id'), 'users', ['oidc_id'], unique=False)
    op.create_index(op.f('idx_users_username'), 'users', ['username'], unique=True)
    op.create_index(op.f('idx_users_wechat_id'), 'users', ['wechat_id'], unique=False)


def downgrade_main():
    op.drop_index(op.f('idx_users_wechat_id'), table_name='users')
    op.drop_index(op.f('idx_users_username'), table_name='users')
    op.drop_index(op.f('idx_users_oidc_id'), table_name='users')
    op.drop_index(op.f('idx_users_lark_id'), table_name='users')
    op.drop_index(op.f('idx_users_inviter_id'), table_name='users')
    op.drop_index(op.f('idx_users_github_id'), table_name='users')
    op.drop_index(op.f('idx_users_email'), table_name='users')
    op.drop_index(op.f('idx_users_display_name'), table_name='users')
    op.drop_index('idx_users_aff_code', table_name='users')
    op.drop_index('idx_users_access_token', table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('idx_tokens_name'), table_name='tokens')
    op.drop_index('idx_tokens_key', table_name='tokens')
    op.drop_table('tokens')
    op.drop_index(op.f('idx_redemptions_name'), table_name='redemptions')
    op.drop_index('idx_redemptions_key', table_name='redemptions')
    op.drop_table('redemptions')
    op.drop_table('options')
    op.drop_index(op.f('idx_channels_name'), table_name='channels')
    op.drop_table('channels')
    op.drop_index(op.f('idx_abilities_priority'), table_name='abilities')
    op.drop_index(op.f('idx_abilities_channel_id'), table_name='abilities')
    op.drop_table('abilities')


def upgrade_logs():
    op.create_table('logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('type', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('content', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('username', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), server_default='', nullable=True),
    sa.Column('token_name', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), server_default='', nullable=True),
    sa.Column('model_name', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), server_default='', nullable=True),
    sa.Column('quota', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True),
    sa.Column('prompt_tokens', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True),
    sa.Column('completion_tokens', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True),
    sa.Column('channel_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('request_id', sa.Text().with_variant(sa.String(length=191), 'mariadb').with_variant(sa.String(length=191), 'mysql'), server_default='', nullable=True),
    sa.Column('elapsed_time', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=True),
    sa.Column('is_stream', sa.Boolean(), server_default=sa.false(), nullable=True),
    sa.Column('system_prompt_reset', sa.Boolean(), server_default=sa.false(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_logs')),
    mysql_charset='utf8mb4',
    )
    op.create_index('idx_created_at_type', 'logs', ['created_at', 'type'], unique=False)
    op.create_index(op.f('idx_logs_channel_id'), 'logs', ['channel_id'], unique=False)
    op.create_index(op.f('idx_logs_model_name'), 'logs', ['model_name'], unique=False)
    op.create_index(op.f('idx_logs_token_name'), 'logs', ['token_name'], unique=False)
    op.create_index(op.f('idx_logs_user_id'), 'logs', ['user_id'], unique=False)
    op.create_index('index_username_model_name', 'logs', ['model_name', 'username'], unique=False)


def downgrade_logs():
    op.drop_index('index_username_model_name', table_name='logs')
    op.drop_index(op.f('idx_logs_user_id'), table_name='logs')
    op.drop_index(op.f('idx_logs_token_name'), table_name='logs')
    op.drop_index(op.f('idx_logs_model_name'), table_name='logs')
    op.drop_index(op.f('idx_logs_channel_id'), table_name='logs')
    op.drop_index('idx_created_at_type', table_name='logs')
    op.drop_table('logs')
