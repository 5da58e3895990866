"""The console's strings: English message ids, translated to Chinese from `oneapi.web.catalog`.

Templates call `_("Channels")` or `_("%(n)s channels", n=3)` (Jinja's new-style gettext); Python
code in `oneapi.web` imports `_` from here. Messages raised by services are Chinese keys and go
through `oneapi.i18n.t` instead.
"""

from __future__ import annotations

from oneapi.i18n import language
from oneapi.web.catalog import ZH


def gettext(message: str, **values: object) -> str:
    text = ZH.get(message, message) if language() == "zh" else message
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    values.setdefault("num", n)
    return gettext(singular if n == 1 else plural, **values)


_ = gettext
