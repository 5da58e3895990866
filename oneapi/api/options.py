"""`/api/option/`: runtime settings, root only; secrets are write-only."""

from __future__ import annotations

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body
from oneapi.auth.decorators import root_required
from oneapi.errors import Invalid
from oneapi.services import options


@bp.get("/option/")
@root_required
def option_index():
    return ok(options.all_public())


@bp.put("/option/")
@root_required
def option_update():
    body = Body.load()
    key = body.str("key", required=True, max_len=options.MAX_KEY_LENGTH)
    value = body.data.get("value")
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = str(value)
    elif not isinstance(value, str):
        raise Invalid("字段 {field} 必须是字符串", field="value")
    options.update(key, value)
    return ok()
