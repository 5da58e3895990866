"""The `users` table: accounts, roles, quota, the management access token and the session epoch."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oneapi.models.base import Base, BigInt, Char, IndexedText, Int, PrimaryKey, Text, Varchar


class Role(enum.IntEnum):
    GUEST = 0
    COMMON = 1
    ADMIN = 10
    ROOT = 100


class UserStatus(enum.IntEnum):
    ENABLED = 1
    DISABLED = 2
    DELETED = 3


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(PrimaryKey, primary_key=True, autoincrement=True)
    username: Mapped[str | None] = mapped_column(IndexedText, unique=True, index=True)
    password: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str | None] = mapped_column(IndexedText, index=True)
    role: Mapped[int] = mapped_column(Int, default=1, server_default="1")
    status: Mapped[int] = mapped_column(Int, default=1, server_default="1")
    email: Mapped[str | None] = mapped_column(IndexedText, index=True)
    github_id: Mapped[str | None] = mapped_column(IndexedText, index=True)
    wechat_id: Mapped[str | None] = mapped_column(IndexedText, index=True)
    lark_id: Mapped[str | None] = mapped_column(IndexedText, index=True)
    oidc_id: Mapped[str | None] = mapped_column(IndexedText, index=True)
    access_token: Mapped[str | None] = mapped_column(Char(32))
    quota: Mapped[int] = mapped_column(BigInt, default=0, server_default="0")
    used_quota: Mapped[int] = mapped_column(BigInt, default=0, server_default="0")
    request_count: Mapped[int] = mapped_column(BigInt, default=0, server_default="0")
    group: Mapped[str] = mapped_column(Varchar(32), default="default", server_default="default")
    aff_code: Mapped[str | None] = mapped_column(Varchar(32))
    inviter_id: Mapped[int | None] = mapped_column(BigInt, index=True)
    # Not One API's: raised to end every cookie session of the user (logout, password change, ban);
    # a session is honoured only while the epoch it was issued with is still the user's. NULL is 0.
    session_epoch: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0")

    __table_args__ = (
        sa.Index("idx_users_access_token", "access_token", unique=True),
        sa.Index("idx_users_aff_code", "aff_code", unique=True),
    )

    # Flask-Login protocol; the user's status is checked on every request, not cached in the session.
    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ENABLED

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)
