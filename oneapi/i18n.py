"""Language of messages and pages: Chinese (One API's) by default, English when the client prefers it.

Clients (and scripts written against One API) match on the Chinese messages, so Chinese stays the
default. The console's language switch stores its choice in the `lang` cookie, which wins over
`Accept-Language`; a request whose `Accept-Language` prefers any language but Chinese gets English.
"""

from __future__ import annotations

from flask import has_request_context, request

from oneapi.messages import EN

LANGUAGES = ("zh", "en")
COOKIE = "lang"


def language() -> str:
    """The request's language, "zh" or "en" (outside a request, "zh")."""
    if not has_request_context():
        return "zh"
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    header = request.headers.get("Accept-Language", "").strip()
    if not header:
        return "zh"
    best = request.accept_languages.best
    return "en" if best and not best.lower().startswith("zh") else "zh"


def wants_english() -> bool:
    return language() == "en"


def t(message: str, **values: object) -> str:
    """Translate a Chinese message key (formatted with `values`) into the caller's language."""
    text = EN.get(message, message) if wants_english() else message
    return text.format(**values) if values else text
