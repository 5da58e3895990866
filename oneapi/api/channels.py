"""`/api/channel…`: upstream channels, for admins. Keys are write-only: never returned."""

from __future__ import annotations

from flask import jsonify

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body, page, path_id, query_str
from oneapi.api.shapes import channel_json
from oneapi.auth.decorators import admin_required
from oneapi.services import balances, catalog, channels, channeltests


def _fields(body: Body) -> dict:
    return {
        "type": body.int("type", None, minimum=0), "status": body.int("status", None), "name": body.str("name", None),
        "weight": body.int("weight", None, minimum=0), "base_url": body.str("base_url", None, strip=True),
        "other": body.str("other", None), "models": body.str("models", None), "group": body.str("group", None),
        "model_mapping": body.str("model_mapping", None), "priority": body.int("priority", None, minimum=-(1 << 62),
                                                                                maximum=1 << 62),
        "config": body.str("config", None), "system_prompt": body.str("system_prompt", None),
    }


@bp.get("/channel/")
@admin_required
def channel_index():
    return ok([channel_json(c) for c in channels.list_channels(page())])


@bp.get("/channel/search")
@admin_required
def channel_search():
    return ok([channel_json(c) for c in channels.search_channels(query_str("keyword"))])


@bp.get("/channel/models")
@admin_required
def channel_models():
    # One API answers this one without the envelope.
    return jsonify(object="list", data=catalog.openai_models())


@bp.get("/channel/<channel_id>")
@admin_required
def channel_show(channel_id: str):
    return ok(channel_json(channels.get_channel(path_id(channel_id))))


@bp.post("/channel/")
@admin_required
def channel_create():
    body = Body.load()
    channels.create_channels(body.str("key", required=True, max_len=1 << 20), _fields(body))
    return ok()


@bp.put("/channel/")
@admin_required
def channel_update():
    body = Body.load()
    channel = channels.update_channel(body.int("id", required=True, minimum=1), _fields(body),
                                      key=body.str("key", "", max_len=1 << 16))
    return ok(channel_json(channel))


@bp.delete("/channel/disabled")
@admin_required
def channel_delete_disabled():
    return ok(channels.delete_disabled())


@bp.delete("/channel/<channel_id>")
@admin_required
def channel_delete(channel_id: str):
    channels.delete_channel(path_id(channel_id))
    return ok()


# One API's channel test and balance routes mutate on GET; they are kept for its clients.
@bp.get("/channel/test")
@admin_required
def channel_test_all():
    channeltests.test_all(query_str("scope") or "all")
    return ok()


@bp.get("/channel/test/<channel_id>")
@admin_required
def channel_test(channel_id: str):
    result = channeltests.test_channel(path_id(channel_id), query_str("model"))
    # One API's extra top-level keys: `time` in seconds and `modelName`.
    return jsonify(success=result.success, message=result.message, time=result.seconds, modelName=result.model)


@bp.get("/channel/update_balance")
@admin_required
def channel_update_balances():
    return ok(balances.update_all())


@bp.get("/channel/update_balance/<channel_id>")
@admin_required
def channel_update_balance(channel_id: str):
    return ok(balance=balances.update_balance(path_id(channel_id)))
