"""`/api/redemption…`: redemption codes, for admins."""

from __future__ import annotations

from flask import g, request

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body, page, path_id, query_str
from oneapi.api.shapes import redemption_json
from oneapi.auth.decorators import admin_required
from oneapi.services import redemptions


@bp.get("/redemption/")
@admin_required
def redemption_index():
    return ok([redemption_json(r) for r in redemptions.list_redemptions(page())])


@bp.get("/redemption/search")
@admin_required
def redemption_search():
    return ok([redemption_json(r) for r in redemptions.search_redemptions(query_str("keyword"))])


@bp.get("/redemption/<redemption_id>")
@admin_required
def redemption_show(redemption_id: str):
    return ok(redemption_json(redemptions.get_redemption(path_id(redemption_id))))


@bp.post("/redemption/")
@admin_required
def redemption_create():
    body = Body.load()
    # The name's 1-20 byte rule (and One API's message for it) is the service's.
    keys = redemptions.create_batch(g.user.id, body.str("name", max_len=1024),
                                    body.int("quota", 100, minimum=0), body.int("count", 1))
    return ok(keys)


@bp.put("/redemption/")
@admin_required
def redemption_update():
    body = Body.load()
    redemption_id = body.int("id", required=True, minimum=1)
    if request.args.get("status_only"):
        redemption = redemptions.update(redemption_id, status=body.int("status", required=True))
    else:
        redemption = redemptions.update(redemption_id, name=body.str("name", None, max_len=1024),
                                        quota=body.int("quota", None, minimum=0))
    return ok(redemption_json(redemption))


@bp.delete("/redemption/<redemption_id>")
@admin_required
def redemption_delete(redemption_id: str):
    redemptions.delete(path_id(redemption_id))
    return ok()
