"""Pagination and search helpers shared by the list services (One API: 10 rows a page, `p` from 0)."""

from __future__ import annotations

PAGE_SIZE = 10


def page_offset(page: int) -> int:
    return max(page, 0) * PAGE_SIZE


def like_prefix(keyword: str) -> str:
    """A LIKE pattern matching values that start with `keyword` taken literally (escape `\\`)."""
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
