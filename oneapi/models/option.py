"""The `options` table: runtime settings as key/value strings, edited by root."""

from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

from oneapi.models.base import Base, Text, Varchar


class Option(Base):
    __tablename__ = "options"

    key: Mapped[str] = mapped_column(Varchar(191), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
