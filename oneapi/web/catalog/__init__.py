"""Chinese translations of the console's English strings, one module per area, merged here.

Every string a template or view passes to `_()` must have an entry; `tests/web/test_translations.py`
fails on a missing one.
"""

from oneapi.web.catalog import (
    channels,
    common,
    dashboard,
    logs,
    redemptions,
    settings,
    tokens,
    users,
)

AREAS = (common, channels, tokens, redemptions, users, logs, dashboard, settings)
ZH: dict[str, str] = {}
for _area in AREAS:
    ZH.update(_area.ZH)
