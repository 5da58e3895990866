"""Pagination, search and lookup helpers shared by the list services (One API: 10 rows a page, `p` from 0)."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

from oneapi.errors import NotFound
from oneapi.extensions import db

PAGE_SIZE = 10
# Far beyond any table's last page, and small enough that the row offset stays a 64-bit integer.
MAX_PAGE = 10**9
MAX_ID = (1 << 63) - 1
Model = TypeVar("Model")


def page_offset(page: int) -> int:
    return max(page, 0) * PAGE_SIZE


def like_prefix(keyword: str) -> str:
    """A LIKE pattern matching values that start with `keyword` taken literally (escape `\\`)."""
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def is_id(keyword: str) -> bool:
    """ASCII digits within the id range (`"²".isdigit()` is true in Python)."""
    return keyword.isascii() and keyword.isdigit() and int(keyword) <= MAX_ID


def page_of(model: type[Model], page: int, *order: Any, where: Any = None) -> list[Model]:
    query = sa.select(model).order_by(*order, model.id.desc())  # type: ignore[attr-defined]
    if where is not None:
        query = query.where(where)
    return list(db.session.scalars(query.limit(PAGE_SIZE).offset(page_offset(page))))


def id_or_prefix(model: type[Model], keyword: str, *columns: Any) -> list[Model]:
    """Rows whose id equals the keyword or one of `columns` starts with it (One API's admin search)."""
    pattern = like_prefix(keyword)
    condition = sa.or_(*(column.like(pattern, escape="\\") for column in columns))
    if is_id(keyword):
        condition = sa.or_(model.id == int(keyword), condition)  # type: ignore[attr-defined]
    query = sa.select(model).where(condition).order_by(model.id.desc())  # type: ignore[attr-defined]
    return list(db.session.scalars(query))


def get_by_id(model: type[Model], row_id: int, message: str) -> Model:
    row = db.session.get(model, row_id) if 0 < row_id <= MAX_ID else None
    if row is None:
        raise NotFound(message)
    return row
