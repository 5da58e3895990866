"""The `redemptions` table: single-use top-up codes."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oneapi.models.base import Base, BigInt, Char, IndexedText, PrimaryKey


class RedemptionStatus(enum.IntEnum):
    ENABLED = 1
    DISABLED = 2
    USED = 3


class Redemption(Base):
    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(PrimaryKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigInt)
    key: Mapped[str | None] = mapped_column(Char(32))
    status: Mapped[int] = mapped_column(BigInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(IndexedText, index=True)
    quota: Mapped[int] = mapped_column(BigInt, default=100, server_default="100")
    created_time: Mapped[int | None] = mapped_column(BigInt)
    redeemed_time: Mapped[int | None] = mapped_column(BigInt)

    __table_args__ = (sa.Index("idx_redemptions_key", "key", unique=True),)
