"""Message language for `/api`: One API's Chinese texts by default, English when the client asks.

Clients (and scripts written against One API) match on the Chinese messages, so Chinese stays the
default; a request whose `Accept-Language` prefers any other language gets the English text.
"""

from __future__ import annotations

from flask import has_request_context, request

from oneapi.messages import EN


def wants_english() -> bool:
    if not has_request_context():
        return False
    header = request.headers.get("Accept-Language", "").strip()
    if not header:
        return False
    best = request.accept_languages.best
    return bool(best) and not best.lower().startswith("zh")


def t(message: str, **values: object) -> str:
    """Translate a Chinese message key (formatted with `values`) into the caller's language."""
    text = EN.get(message, message) if wants_english() else message
    return text.format(**values) if values else text
