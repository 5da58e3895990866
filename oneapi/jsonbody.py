"""Parsing a JSON request body, for every JSON entry point (`/v1` and `/api`): bad JSON and lone
surrogates are refused here, so the callers answer them as a 400 in their own format.

A lone surrogate (`"\\ud800"`, or its raw UTF-8 bytes, which Python's json accepts) parses into a str
that cannot be encoded as UTF-8 again: the database, the upstream request and the log would fail on
it later with a server error. The check costs two byte searches on an ordinary body; only a body
holding a `\\ud…` escape or an 0xED byte (Korean text, emoji written as escapes) is walked after
parsing to look at its strings.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJSON(ValueError):
    """The body is not JSON (or nests deeper than the parser's stack)."""


class LoneSurrogate(ValueError):
    """A string of the body holds a lone surrogate; `field` says where (`messages[0].content`)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"field {field} contains a lone surrogate (invalid Unicode)")
        self.field = field


def parse(raw: bytes) -> Any:
    """The parsed body; raises InvalidJSON or LoneSurrogate."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidJSON("the request body is not valid JSON") from None
    if may_hold_surrogate(raw):
        field = find_lone_surrogate(value)
        if field is not None:
            raise LoneSurrogate(field)
    return value


def may_hold_surrogate(raw: bytes) -> bool:
    """False when the raw body cannot hold a surrogate: no `\\ud`/`\\uD` escape and no 0xED byte
    (the UTF-8 lead byte of U+D000–U+DFFF)."""
    return b"\\ud" in raw or b"\\uD" in raw or b"\xed" in raw


def find_lone_surrogate(value: Any) -> str | None:
    """The path of the first string (value or key, in document order) holding a lone surrogate, or
    None. Iterative: a body nested hundreds deep must not exhaust Python's stack."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _bad(item):
                return path or "(body)"
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                label = f"{path}.{_printable(key)}" if path else _printable(key)
                if _bad(key):
                    return label
                children.append((child, label))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{path}[{index}]") for index, child in enumerate(item)]))
    return None


def _bad(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _printable(key: str) -> str:
    # The path goes into the error message, which must itself encode as UTF-8.
    return key.encode("utf-8", "backslashreplace").decode("utf-8") if _bad(key) else key
