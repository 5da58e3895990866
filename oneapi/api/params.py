"""Reading request input for `/api`: the JSON body and query parameters, typed and checked.

Every failure is an `Invalid` error naming the field, so bad input answers `success: false` with a
clear message and never reaches the database.
"""

from __future__ import annotations

import math
from typing import Any

from flask import request

from oneapi import jsonbody
from oneapi.errors import Invalid
from oneapi.services.paging import MAX_PAGE
from oneapi.services.validation import MAX_BIGINT, check_length, check_range

_MISSING = object()


class Body:
    """The request's JSON object; accessors check type, presence, range and length."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def load(cls) -> Body:
        """The body as a JSON object; bad JSON (nested past the decoder's stack too) and lone
        surrogates, which no database column can store, are refused naming the field."""
        try:
            data = jsonbody.parse(request.get_data(cache=True))
        except jsonbody.LoneSurrogate as exc:
            raise Invalid("字段 {field} 包含无效字符", field=exc.field) from None
        except jsonbody.InvalidJSON:
            data = None
        if not isinstance(data, dict):
            raise Invalid("请求体必须是 JSON 对象")
        return cls(data)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def str(self, name: str, default: str | None = "", *, required: bool = False, max_len: int | None = None,
            min_len: int = 0, in_bytes: bool = False, strip: bool = False) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise Invalid("字段 {field} 是必填项", field=name)
            return default
        if not isinstance(value, str):
            raise Invalid("字段 {field} 必须是字符串", field=name)
        if strip:
            value = value.strip()
        if required and not value:
            raise Invalid("字段 {field} 是必填项", field=name)
        return check_length(name, value, min_len, max_len, in_bytes=in_bytes)

    def int(self, name: str, default: int | None = 0, *, required: bool = False, minimum: int | None = None,
            maximum: int | None = MAX_BIGINT) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise Invalid("字段 {field} 是必填项", field=name)
            return default
        return check_range(name, to_int(name, value), minimum, maximum)

    def float(self, name: str, default: float | None = 0.0) -> Any:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Invalid("字段 {field} 必须是数字", field=name)
        return float(value)

    def bool(self, name: str, default: bool | None = False) -> Any:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise Invalid("字段 {field} 必须是布尔值", field=name)
        return value


def to_int(name: str, value: Any) -> int:
    """Integers as JSON numbers; whole floats (JavaScript clients send 1e6) are accepted too."""
    if isinstance(value, bool):
        raise Invalid("字段 {field} 必须是整数", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise Invalid("字段 {field} 必须是整数", field=name)


def query_int(name: str, default: int = 0, *, minimum: int | None = None) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid("字段 {field} 必须是整数", field=name) from None
    return check_range(name, value, minimum, MAX_BIGINT)


def query_str(name: str, max_len: int = 200) -> str:
    return check_length(name, request.args.get(name, ""), 0, max_len)


def page() -> int:
    """One API's `p`: a 0-based page index; negative or missing means the first page."""
    raw = request.args.get("p", "").strip()
    try:
        value = max(int(raw), 0) if raw else 0
    except ValueError:
        raise Invalid("字段 {field} 必须是整数", field="p") from None
    return check_range("p", value, 0, MAX_PAGE)


def path_id(raw: str, name: str = "id") -> int:
    """An id from the URL; anything but a positive integer is a clear error, not a 404 page."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) <= 0:
        raise Invalid("字段 {field} 必须是整数", field=name)
    return int(raw)
