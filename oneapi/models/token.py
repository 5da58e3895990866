"""The `tokens` table: API keys (`sk-` + 48 characters) with their own quota, expiry and scope."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oneapi.models.base import Base, BigInt, Bool, Char, IndexedText, PrimaryKey, Text


class TokenStatus(enum.IntEnum):
    ENABLED = 1
    DISABLED = 2
    EXPIRED = 3
    EXHAUSTED = 4


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(PrimaryKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigInt)
    key: Mapped[str | None] = mapped_column(Char(48))
    status: Mapped[int] = mapped_column(BigInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(IndexedText, index=True)
    created_time: Mapped[int | None] = mapped_column(BigInt)
    accessed_time: Mapped[int | None] = mapped_column(BigInt)
    expired_time: Mapped[int] = mapped_column(BigInt, default=-1, server_default="-1")
    remain_quota: Mapped[int] = mapped_column(BigInt, default=0, server_default="0")
    unlimited_quota: Mapped[bool] = mapped_column(Bool, default=False, server_default=sa.false())
    used_quota: Mapped[int] = mapped_column(BigInt, default=0, server_default="0")
    models: Mapped[str | None] = mapped_column(Text)
    subnet: Mapped[str | None] = mapped_column(IndexedText, default="", server_default="")

    __table_args__ = (sa.Index("idx_tokens_key", "key", unique=True),)
