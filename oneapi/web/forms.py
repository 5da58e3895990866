"""Reading the console's form posts: typed accessors that raise `Invalid` naming the field.

Forms post strings; these turn them into the values the services take and report a bad field the
same way the services do (`Invalid` with `field`), so a view can show the error beside its input.
"""

from __future__ import annotations

from typing import Any

from flask import request

from oneapi.errors import Invalid, OneAPIError
from oneapi.services.paging import MAX_PAGE
from oneapi.services.validation import MAX_BIGINT, check_length, check_range


class FormInput:
    def __init__(self, data: Any | None = None) -> None:
        self.data = request.form if data is None else data

    def has(self, name: str) -> bool:
        return name in self.data

    def str(self, name: str, default: str = "", *, required: bool = False, max_len: int | None = None,
            strip: bool = True) -> str:
        value = self.data.get(name)
        if value is None:
            value = default
        if strip:
            value = value.strip()
        if required and not value:
            raise Invalid("字段 {field} 是必填项", field=name)
        return check_length(name, value, 0, max_len)

    def int(self, name: str, default: int | None = 0, *, required: bool = False, minimum: int | None = None,
            maximum: int | None = MAX_BIGINT) -> Any:
        text = (self.data.get(name) or "").strip()
        if not text:
            if required:
                raise Invalid("字段 {field} 是必填项", field=name)
            return default
        try:
            value = int(text)
        except ValueError:
            raise Invalid("字段 {field} 必须是整数", field=name) from None
        return check_range(name, value, minimum, maximum)

    def bool(self, name: str) -> bool:
        """A checkbox: present and not "false"/"0"/"off" means on."""
        return (self.data.get(name) or "").strip().lower() not in ("", "false", "0", "off")

    def list(self, name: str) -> list[str]:
        """A multi-select or repeated field, blanks dropped, order kept, duplicates removed."""
        seen: dict[str, None] = {}
        for value in self.data.getlist(name):
            for part in value.split(","):
                if part.strip():
                    seen.setdefault(part.strip(), None)
        return list(seen)


def query_text(name: str, max_len: int = 191) -> str:
    """A text parameter of the address (search words, filters, links from mails), trimmed and cut to
    `max_len`. A GET page has nowhere to show a field error, so characters no database column can hold
    (NUL: PostgreSQL refuses it) are dropped instead of failing the query."""
    return request.args.get(name, "").replace("\x00", "").strip()[:max_len]


def page_number() -> int:
    """The list page asked for (`?p=`, 0-based as in One API): anything unreadable or negative is the
    first page, and a page past any table's end is an empty last page rather than a database error."""
    try:
        return min(max(int(request.args.get("p", "0")), 0), MAX_PAGE)
    except ValueError:
        return 0


def field_errors(exc: OneAPIError) -> dict[str, str]:
    """`{field: message}` for an error about one field, `{"": message}` otherwise (shown above the form)."""
    field = exc.values.get("field")
    return {str(field) if field else "": exc.text()}
