"""Field checks shared by services; each failure names the field in the caller's language."""

from __future__ import annotations

from oneapi.errors import Invalid

MAX_BIGINT = (1 << 63) - 1


def check_length(field: str, value: str, minimum: int = 0, maximum: int | None = None,
                 *, in_bytes: bool = False) -> str:
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text, and no legitimate name or key contains one.
        raise Invalid("字段 {field} 包含无效字符", field=field)
    size = len(value.encode()) if in_bytes else len(value)
    if size < minimum:
        if minimum == 1:
            raise Invalid("字段 {field} 是必填项", field=field)
        raise Invalid("字段 {field} 长度不能少于 {min}", field=field, min=minimum)
    if maximum is not None and size > maximum:
        raise Invalid("字段 {field} 长度不能超过 {max}", field=field, max=maximum)
    return value


def check_range(field: str, value: int, minimum: int | None = None, maximum: int | None = MAX_BIGINT) -> int:
    if minimum is not None and value < minimum:
        raise Invalid("字段 {field} 不能小于 {min}", field=field, min=minimum)
    if maximum is not None and value > maximum:
        raise Invalid("字段 {field} 不能大于 {max}", field=field, max=maximum)
    return value
