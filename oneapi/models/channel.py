"""The `channels` table (upstream accounts) and `abilities`, the (group, model) → channel index."""

from __future__ import annotations

import enum

from sqlalchemy.orm import Mapped, mapped_column

from oneapi.models.base import Base, BigInt, Bool, Float, IndexedText, PrimaryKey, Text, Varchar


class ChannelStatus(enum.IntEnum):
    UNKNOWN = 0
    ENABLED = 1
    MANUALLY_DISABLED = 2
    AUTO_DISABLED = 3


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(PrimaryKey, primary_key=True, autoincrement=True)
    type: Mapped[int] = mapped_column(BigInt, default=0, server_default="0")
    key: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int] = mapped_column(BigInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(IndexedText, index=True)
    weight: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0")
    created_time: Mapped[int | None] = mapped_column(BigInt)
    test_time: Mapped[int | None] = mapped_column(BigInt)
    response_time: Mapped[int | None] = mapped_column(BigInt)
    base_url: Mapped[str | None] = mapped_column(IndexedText, default="", server_default="")
    other: Mapped[str | None] = mapped_column(Text)
    balance: Mapped[float | None] = mapped_column(Float)
    balance_updated_time: Mapped[int | None] = mapped_column(BigInt)
    models: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str] = mapped_column(Varchar(32), default="default", server_default="default")
    used_quota: Mapped[int] = mapped_column(BigInt, default=0, server_default="0")
    model_mapping: Mapped[str | None] = mapped_column(Varchar(1024), default="", server_default="")
    priority: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0")
    config: Mapped[str | None] = mapped_column(Text)
    system_prompt: Mapped[str | None] = mapped_column(Text)


class Ability(Base):
    __tablename__ = "abilities"

    group: Mapped[str] = mapped_column(Varchar(32), primary_key=True)
    model: Mapped[str] = mapped_column(Varchar(191), primary_key=True)
    channel_id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False, index=True)
    enabled: Mapped[bool | None] = mapped_column(Bool)
    priority: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0", index=True)
