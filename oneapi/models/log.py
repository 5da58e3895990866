"""The `logs` table: consumption, top-up, management, system and test records.

It may live in its own database (`LOG_SQL_DSN`), hence the `logs` bind key.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oneapi.models.base import Base, BigInt, Bool, IndexedText, PrimaryKey, Text


class LogType(enum.IntEnum):
    UNKNOWN = 0
    TOPUP = 1
    CONSUME = 2
    MANAGE = 3
    SYSTEM = 4
    TEST = 5


class Log(Base):
    __tablename__ = "logs"
    __bind_key__ = "logs"

    id: Mapped[int] = mapped_column(PrimaryKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigInt, index=True)
    created_at: Mapped[int | None] = mapped_column(BigInt)
    type: Mapped[int | None] = mapped_column(BigInt)
    content: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(IndexedText, default="", server_default="")
    token_name: Mapped[str | None] = mapped_column(IndexedText, default="", server_default="", index=True)
    model_name: Mapped[str | None] = mapped_column(IndexedText, default="", server_default="", index=True)
    quota: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0")
    prompt_tokens: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0")
    completion_tokens: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0")
    channel_id: Mapped[int | None] = mapped_column(BigInt, index=True)
    request_id: Mapped[str | None] = mapped_column(IndexedText, default="", server_default="")
    elapsed_time: Mapped[int | None] = mapped_column(BigInt, default=0, server_default="0")
    is_stream: Mapped[bool | None] = mapped_column(Bool, default=False, server_default=sa.false())
    system_prompt_reset: Mapped[bool | None] = mapped_column(Bool, default=False, server_default=sa.false())

    __table_args__ = (
        sa.Index("idx_created_at_type", "created_at", "type"),
        sa.Index("index_username_model_name", "model_name", "username"),
    )
