"""`/api/models`, `/api/group/` and the admin top-up `/api/topup`."""

from __future__ import annotations

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body
from oneapi.auth.decorators import admin_required, user_required
from oneapi.services import catalog, options, users


@bp.get("/models")
@user_required
def models_by_type():
    return ok({str(k): v for k, v in catalog.models_by_channel_type().items()})


@bp.get("/group/")
@admin_required
def group_index():
    return ok(sorted(options.get_json("GroupRatio")))


@bp.post("/topup")
@admin_required
def topup():
    body = Body.load()
    users.admin_topup(body.int("user_id", required=True, minimum=1), body.int("quota", required=True, minimum=1),
                      body.str("remark", max_len=255))
    return ok()
